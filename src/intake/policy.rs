//! Intake policy: who may send, which numbers may be dialled, how much, and
//! whether the content may leave the site.
//!
//! Every decision is a pure function returning `Ok` or a [`Refusal`] whose
//! text explains, in plain language, what happened and what to do; the SMTP
//! listener sends its first line, the report or bounce carries all of it.
//!
//! Sender addresses are matched against lists whose entries are written as
//! `user@example.ac.uk` (that address), `example.ac.uk` (any address at that
//! domain) or `*.example.ac.uk` (any address at any subdomain). Matching is
//! case-insensitive, including the local part: mail systems at the site treat
//! `J.Smith@` and `j.smith@` as the same person.
//!
//! # Whose word the sender address is
//!
//! An envelope sender is only text the client wrote, so how far it is
//! believed depends on who vouches for it ([`standing`]):
//!
//! * an SMTP AUTH account vouches for the addresses it lists
//!   (`[[intake.smtp.accounts]] addresses`, or its user name when that is
//!   an address); any other `MAIL FROM` is refused ([`authorise_sender`]);
//! * a trusted relay vouches for its senders only when it is configured as
//!   checking them (`[intake.senders] relay_checks_senders`, for a relay
//!   that lets each of its users send only as themselves);
//! * the local command line vouches for what it is given (whoever runs it
//!   administers the host, or is the mail server's pipe transport).
//!
//! A vouched-for address has [`Standing::Address`]: every list entry
//! applies to it. Mail from a relay that does not check senders has
//! [`Standing::Domain`], because any of the relay's users could have
//! written any address: it counts as from its domain only. Concretely,
//! entries naming one address (`j.smith@example.ac.uk`) never match it, in
//! `allowed` or in `[[intake.quota.overrides]]`; domain entries do; and the
//! exemptions from protective rules, `international_senders` and `[intake.pci]
//! allowed_senders`, do not apply at all, whatever their entries name,
//! since they would be granted to anyone who writes a matching address.
//! [`Standing::destinations`], [`Standing::pci`] and [`Standing::quota`]
//! give the policy as it applies at each standing.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::Deserialize;

use super::{ConfigError, Refusal};
use crate::compliance::pan::PanFinding;
use crate::net::Cidr;
use crate::numbering::policy::{Breach, DEFAULT_BLOCKED_PREFIXES, check_number, describe_prefix};
use crate::numbering::{DialPlan, NEVER_FAXED, Normalised, NumberKind};

/// Where a message came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The local command line (`faxbridge send`, `faxbridge submit`): whoever
    /// can run it already administers the host.
    Local,
    /// An SMTP client.
    Smtp {
        /// The client's address.
        ip: IpAddr,
        /// The SMTP AUTH user name (RFC 4954) when the client authenticated.
        auth_user: Option<String>,
        /// The sender addresses (list forms) the authenticated account may
        /// use; empty without AUTH.
        account_addresses: Vec<String>,
    },
}

/// How far a sender address is believed (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Someone vouches for the address itself: every list entry applies.
    Address,
    /// Only the address's domain counts: entries naming single addresses
    /// do not apply, nor do the international and card-number exemptions.
    Domain,
}

impl Standing {
    /// The destination policy as it applies at this standing.
    pub fn destinations(self, p: &DestinationPolicy) -> Cow<'_, DestinationPolicy> {
        match self {
            Standing::Address => Cow::Borrowed(p),
            Standing::Domain => Cow::Owned(DestinationPolicy {
                international_senders: Vec::new(),
                ..p.clone()
            }),
        }
    }

    /// The card-number guard as it applies at this standing.
    pub fn pci(self, p: &PciConfig) -> Cow<'_, PciConfig> {
        match self {
            Standing::Address => Cow::Borrowed(p),
            Standing::Domain => Cow::Owned(PciConfig {
                allowed_senders: Vec::new(),
                ..p.clone()
            }),
        }
    }

    /// The allowances as they apply at this standing: overrides keep only
    /// their domain entries (one left with none is dropped).
    pub fn quota(self, q: &QuotaConfig) -> Cow<'_, QuotaConfig> {
        match self {
            Standing::Address => Cow::Borrowed(q),
            Standing::Domain => Cow::Owned(QuotaConfig {
                overrides: q
                    .overrides
                    .iter()
                    .filter_map(|o| {
                        let senders = domain_entries(&o.senders);
                        (!senders.is_empty()).then(|| QuotaOverride {
                            senders,
                            ..o.clone()
                        })
                    })
                    .collect(),
                ..q.clone()
            }),
        }
    }
}

/// How far the sender address of a message from `origin` is believed.
/// (Whether it may send at all is [`authorise_sender`]'s question.)
pub fn standing(policy: &SenderPolicy, origin: &Origin) -> Standing {
    match origin {
        Origin::Local => Standing::Address,
        // The account's addresses are enforced by authorise_sender.
        Origin::Smtp {
            auth_user: Some(_), ..
        } => Standing::Address,
        Origin::Smtp {
            auth_user: None, ..
        } if policy.relay_checks_senders => Standing::Address,
        Origin::Smtp { .. } => Standing::Domain,
    }
}

/// The sender of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// The envelope sender (`MAIL FROM`) or, for local submission, the `From:` address.
    pub address: String,
    /// How it reached faxbridge.
    pub origin: Origin,
}

/// `[intake.senders]`: who may send faxes.
///
/// A message is accepted when its *source* is trusted (local command line,
/// a client in `trusted_relays`, or a user in `auth_users` who authenticated)
/// **and** its sender address is in `allowed` (or `allowed` is empty). An
/// address alone is never enough, because anyone can write any address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SenderPolicy {
    /// Sender addresses and domains allowed to send (see the module docs for
    /// the forms). Empty: any address from a trusted source.
    pub allowed: Vec<String>,
    /// Mail relays trusted to have authenticated their users: IP addresses or
    /// CIDR blocks (`192.0.2.0/24`, `2001:db8::/32`).
    pub trusted_relays: Vec<String>,
    /// SMTP AUTH user names allowed to send; `"*"` allows every authenticated user.
    pub auth_users: Vec<String>,
    /// Whether the trusted relays let each of their users send only as
    /// themselves (e.g. Postfix `reject_sender_login_mismatch`), so that
    /// their `MAIL FROM` names the person. Off: mail from a relay counts as
    /// from its sender's domain only (see the module docs).
    pub relay_checks_senders: bool,
}

impl SenderPolicy {
    /// Check the lists; each problem names its key under `[intake.senders]`.
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut problems = address_list_problems("senders.allowed", &self.allowed);
        for (i, r) in self.trusted_relays.iter().enumerate() {
            if r.trim().parse::<Cidr>().is_err() {
                problems.push(ConfigError::new(
                    format!("senders.trusted_relays[{i}]"),
                    format!(
                        "{r:?} is not an IP address or CIDR block; write e.g. \"192.0.2.10\", \"192.0.2.0/24\" or \"2001:db8::/32\""
                    ),
                ));
            }
        }
        problems
    }
}

/// `[intake.destinations]`: which numbers may be dialled.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DestinationPolicy {
    /// Prefixes never dialled, in the form dialled from a home phone without
    /// the outside line (`09`, `118`, `00881` …). Emergency numbers are
    /// refused whatever this says.
    pub blocked_prefixes: Vec<String>,
    /// Senders (address list forms) who may fax abroad; nobody else can.
    pub international_senders: Vec<String>,
}

impl Default for DestinationPolicy {
    fn default() -> Self {
        DestinationPolicy {
            blocked_prefixes: DEFAULT_BLOCKED_PREFIXES.map(String::from).to_vec(),
            international_senders: Vec::new(),
        }
    }
}

impl DestinationPolicy {
    /// Check the lists; each problem names its key under `[intake.destinations]`.
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut problems = Vec::new();
        for (i, p) in self.blocked_prefixes.iter().enumerate() {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                problems.push(ConfigError::new(
                    format!("destinations.blocked_prefixes[{i}]"),
                    format!("{p:?} is not a prefix; write digits as dialled at home, e.g. \"09\" or \"00881\""),
                ));
            }
        }
        problems.extend(address_list_problems(
            "destinations.international_senders",
            &self.international_senders,
        ));
        problems
    }
}

/// One sender's recent use, counted by the caller from its store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Messages accepted from this sender in the last 60 minutes (not counting this one).
    pub messages_last_hour: u32,
    /// Fax pages queued for this sender since local midnight (all recipients).
    pub pages_today: u32,
}

/// One sender's allowance; 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Messages per rolling hour.
    pub messages_per_hour: u32,
    /// Fax pages per day (pages × recipients).
    pub pages_per_day: u32,
}

/// `[[intake.quota.overrides]]`: a different allowance for some senders.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaOverride {
    /// Who this applies to (address list forms).
    pub senders: Vec<String>,
    /// Messages per rolling hour; 0: no limit.
    pub messages_per_hour: u32,
    /// Fax pages per day; 0: no limit.
    pub pages_per_day: u32,
}

/// `[intake.quota]`: per-sender allowances.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotaConfig {
    /// Messages per rolling hour for each sender; 0: no limit.
    pub messages_per_hour: u32,
    /// Fax pages per day for each sender; 0: no limit.
    pub pages_per_day: u32,
    /// Different allowances for listed senders; the first match wins.
    pub overrides: Vec<QuotaOverride>,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        QuotaConfig {
            messages_per_hour: 20,
            pages_per_day: 200,
            overrides: Vec::new(),
        }
    }
}

impl QuotaConfig {
    /// The allowance that applies to `sender`.
    pub fn limits_for(&self, sender: &str) -> Limits {
        self.overrides
            .iter()
            .find(|o| matches_any(&o.senders, sender))
            .map(|o| Limits {
                messages_per_hour: o.messages_per_hour,
                pages_per_day: o.pages_per_day,
            })
            .unwrap_or(Limits {
                messages_per_hour: self.messages_per_hour,
                pages_per_day: self.pages_per_day,
            })
    }

    /// Check the override lists; problems name their keys under `[intake.quota]`.
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut problems = Vec::new();
        for (i, o) in self.overrides.iter().enumerate() {
            let key = format!("quota.overrides[{i}].senders");
            if o.senders.is_empty() {
                problems.push(ConfigError::new(
                    &key,
                    "is empty; list the senders this allowance is for",
                ));
            }
            problems.extend(address_list_problems(&key, &o.senders));
        }
        problems
    }
}

/// `[intake.pci]`: the payment card number guard.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PciConfig {
    /// Refuse messages holding card numbers.
    pub enabled: bool,
    /// Senders (address list forms) allowed to fax card numbers, e.g. a team
    /// whose process has been assessed for it.
    pub allowed_senders: Vec<String>,
}

impl Default for PciConfig {
    fn default() -> Self {
        PciConfig {
            enabled: true,
            allowed_senders: Vec::new(),
        }
    }
}

impl PciConfig {
    /// Check the list; problems name their keys under `[intake.pci]`.
    pub fn validate(&self) -> Vec<ConfigError> {
        address_list_problems("pci.allowed_senders", &self.allowed_senders)
    }
}

/// Decide whether `sender` may send faxes at all (at `MAIL FROM`, or before
/// a local submission is queued).
pub fn authorise_sender(policy: &SenderPolicy, sender: &Sender) -> Result<(), Refusal> {
    let address = sender
        .address
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    if address.is_empty() {
        return Err(Refusal::new(
            550,
            "5.7.1",
            "Messages with an empty sender (delivery reports and other automatic mail) cannot be sent as faxes.",
            "Send the fax from your own mailbox.",
        ));
    }
    if !address.contains('@') {
        return Err(Refusal::new(
            553,
            "5.1.7",
            format!("The sender address {address:?} is not a complete mail address."),
            "Send the fax from your own mailbox, e.g. j.smith@example.ac.uk.",
        ));
    }
    match &sender.origin {
        Origin::Local => {}
        Origin::Smtp {
            auth_user: Some(user),
            ip,
            account_addresses,
        } => {
            let allowed = policy
                .auth_users
                .iter()
                .any(|u| u == "*" || u.eq_ignore_ascii_case(user));
            if !allowed && !in_relays(&policy.trusted_relays, *ip) {
                return Err(Refusal::new(
                    550,
                    "5.7.1",
                    format!("The account {user:?} is not allowed to send faxes."),
                    "Ask the fax administrator to allow your account, or send from your usual mail program.",
                ));
            }
            if !matches_any(account_addresses, address) {
                return Err(Refusal::new(
                    550,
                    "5.7.1",
                    format!(
                        "The account {user:?} may not send as {address}: it may send only as {}.",
                        describe_list(account_addresses)
                    ),
                    "Send from your own address, or ask the fax administrator to add this address to your account.",
                ));
            }
        }
        Origin::Smtp {
            ip,
            auth_user: None,
            ..
        } => {
            if !in_relays(&policy.trusted_relays, *ip) {
                if !policy.auth_users.is_empty() {
                    return Err(Refusal::new(
                        530,
                        "5.7.0",
                        "Authentication is required to send faxes.",
                        "Set up your mail program to log in to the fax server, or send through the site's mail server.",
                    ));
                }
                return Err(Refusal::new(
                    550,
                    "5.7.1",
                    format!("Faxes are not accepted from {ip}."),
                    "Send the fax through the site's mail server.",
                ));
            }
        }
    }
    if !policy.allowed.is_empty() {
        let domain_only = standing(policy, &sender.origin) == Standing::Domain;
        let allowed = if domain_only {
            matches_any(&domain_entries(&policy.allowed), address)
        } else {
            matches_any(&policy.allowed, address)
        };
        if !allowed && domain_only && matches_any(&policy.allowed, address) {
            return Err(Refusal::new(
                550,
                "5.7.1",
                format!(
                    "{address} is allowed to send faxes by name, but the mail server this message came through does not check that its users send only as themselves, so its mail counts by domain only, and {} is not allowed.",
                    domain_of(address)
                ),
                "Send the fax through your own account on the fax server (SMTP AUTH), or ask the fax administrator to allow your department's domain.",
            ));
        }
        if !allowed {
            return Err(Refusal::new(
                550,
                "5.7.1",
                format!("{address} is not allowed to send faxes."),
                "Ask the fax administrator to add your address or department, or send from your work address.",
            ));
        }
    }
    Ok(())
}

/// [`check_destination`] at `standing`: at [`Standing::Domain`] the
/// international exemption does not apply, and a number refused only for
/// that reason is refused saying so.
pub fn check_destination_at(
    policy: &DestinationPolicy,
    plan: &DialPlan,
    sender: &str,
    standing: Standing,
    written: &str,
) -> Result<Normalised, Refusal> {
    let applied = standing.destinations(policy);
    match check_destination(&applied, plan, sender, written) {
        Err(r)
            if standing == Standing::Domain
                && check_destination(policy, plan, sender, written).is_ok() =>
        {
            Err(Refusal::new(
                r.code,
                r.enhanced,
                format!(
                    "{written} is abroad. {sender} may send faxes abroad, but only when the fax server can tell the message really comes from that address, and the mail server this message came through does not check that its users send only as themselves."
                ),
                "Send the fax through your own account on the fax server (SMTP AUTH), or ask the fax administrator whether the mail server checks senders ([intake.senders] relay_checks_senders).",
            ))
        }
        other => other,
    }
}

/// [`check_pan`] at `standing`: at [`Standing::Domain`] nobody is exempt,
/// and a sender who would be is told why not.
pub fn check_pan_at(
    config: &PciConfig,
    sender: &str,
    standing: Standing,
    findings: &[(String, PanFinding)],
) -> Result<(), Refusal> {
    let applied = standing.pci(config);
    match check_pan(&applied, sender, findings) {
        Err(mut r)
            if standing == Standing::Domain && check_pan(config, sender, findings).is_ok() =>
        {
            r.reason.push_str(&format!(
                " {sender} may send card numbers, but only when the fax server can tell the message really comes from that address, and the mail server this message came through does not check that its users send only as themselves."
            ));
            r.advice = "Send the fax through your own account on the fax server (SMTP AUTH), or ask the fax administrator whether the mail server checks senders ([intake.senders] relay_checks_senders).".into();
            Err(r)
        }
        other => other,
    }
}

/// The entries of an address list that name a domain (`example.ac.uk`,
/// `@example.ac.uk`, `*.example.ac.uk`), not one address.
pub(crate) fn domain_entries(list: &[String]) -> Vec<String> {
    list.iter()
        .filter(|e| {
            let e = e.trim();
            !e.contains('@') || e.starts_with('@')
        })
        .cloned()
        .collect()
}

/// An address list for a refusal: `a@x, b@y or z`.
fn describe_list(list: &[String]) -> String {
    match list {
        [] => "no address (none is configured for it)".to_string(),
        [one] => describe_entry(one),
        [rest @ .., last] => format!(
            "{} or {}",
            rest.iter()
                .map(|e| describe_entry(e))
                .collect::<Vec<_>>()
                .join(", "),
            describe_entry(last)
        ),
    }
}

fn describe_entry(entry: &str) -> String {
    let e = entry.trim();
    if let Some(parent) = e.strip_prefix("*.") {
        format!("addresses at any subdomain of {parent}")
    } else if e.contains('@') && !e.starts_with('@') {
        e.to_string()
    } else {
        format!("addresses at {}", e.trim_start_matches('@'))
    }
}

fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or(address, |(_, d)| d)
}

/// Decide whether the number written as `written` may be dialled for `sender`,
/// and normalise it: returns the dial plan's result when it may.
///
/// Emergency numbers are checked on every digit string the number could reach
/// the network as, before the dial plan runs, so no plan setting can let one
/// through.
pub fn check_destination(
    policy: &DestinationPolicy,
    plan: &DialPlan,
    sender: &str,
    written: &str,
) -> Result<Normalised, Refusal> {
    // 999 and 112 in the UK, 911 because staff from abroad dial it: a fax
    // call to an emergency operator ties up a line someone may need.
    if plan
        .emergency_candidates(written)
        .iter()
        .any(|c| NEVER_FAXED.contains(&c.as_str()))
    {
        return Err(Refusal::new(
            550,
            "5.7.1",
            format!(
                "{written} is an emergency number; faxes are never sent to emergency services."
            ),
            "In an emergency, phone 999 (or 112) and speak to the operator.",
        ));
    }
    let n = plan.normalise(written).map_err(|e| Refusal::dial(&e))?;
    let international = matches_any(&policy.international_senders, sender);
    match check_number(&policy.blocked_prefixes, international, &n) {
        Ok(()) => {}
        Err(Breach::BlockedPrefix { prefix }) => {
            return Err(Refusal::new(
                550,
                "5.7.1",
                format!(
                    "{written} is {}; numbers starting {prefix} are not dialled from here.",
                    describe_prefix(&prefix)
                ),
                "Check the fax number with the recipient; if this number really is needed, ask the fax administrator.",
            ));
        }
        Err(_) => {
            return Err(Refusal::new(
                550,
                "5.7.1",
                format!("{written} is abroad, and {sender} is not allowed to send faxes abroad."),
                "Ask the fax administrator to allow international faxes for you.",
            ));
        }
    }
    if n.kind == NumberKind::ShortCode {
        return Err(Refusal::new(
            550,
            "5.7.1",
            format!("{written} is a short service number, not a fax machine."),
            "Check the fax number with the recipient and write it in full, e.g. 01223 123456.",
        ));
    }
    Ok(n)
}

/// Decide whether `sender` may send `pages` more fax pages now.
///
/// `pages` counts every page to every recipient (pages × recipients), and 0
/// checks only the message rate (at `MAIL FROM`, before the pages are known).
/// An hourly or daily limit that will have passed later gives a temporary
/// (4xx) refusal, so a sending mail server retries; a fax larger than the
/// whole daily allowance is refused for good.
pub fn check_quota(usage: &Usage, limits: &Limits, pages: u32) -> Result<(), Refusal> {
    if limits.messages_per_hour > 0 && usage.messages_last_hour >= limits.messages_per_hour {
        return Err(Refusal::new(
            451,
            "4.7.1",
            format!(
                "You have sent {} fax messages in the last hour; the limit is {} an hour.",
                usage.messages_last_hour, limits.messages_per_hour
            ),
            "Wait a while and send again (your mail server retries by itself), or ask the fax administrator for a higher limit.",
        ));
    }
    if limits.pages_per_day > 0 && pages > 0 {
        if pages > limits.pages_per_day {
            return Err(Refusal::new(
                552,
                "5.3.4",
                format!(
                    "This fax is {pages} pages in all (pages × recipients), more than the daily allowance of {}.",
                    limits.pages_per_day
                ),
                "Send fewer pages or to fewer recipients at a time, or ask the fax administrator for a higher allowance.",
            ));
        }
        if usage.pages_today.saturating_add(pages) > limits.pages_per_day {
            return Err(Refusal::new(
                451,
                "4.7.1",
                format!(
                    "This fax needs {pages} pages, but {} of today's {} have been used.",
                    usage.pages_today, limits.pages_per_day
                ),
                "Send it again tomorrow, or ask the fax administrator for a higher allowance.",
            ));
        }
    }
    Ok(())
}

/// Decide whether a message may be sent given the card numbers found in it.
///
/// `findings` pairs each finding with where it was (`"the message text"`,
/// an attachment's file name). The refusal lists up to five of them by line,
/// issuer, length and last four digits, never the number.
pub fn check_pan(
    config: &PciConfig,
    sender: &str,
    findings: &[(String, PanFinding)],
) -> Result<(), Refusal> {
    if !config.enabled || findings.is_empty() || matches_any(&config.allowed_senders, sender) {
        return Ok(());
    }
    const SHOWN: usize = 5;
    let mut list: Vec<String> = findings
        .iter()
        .take(SHOWN)
        .map(|(place, f)| format!("{place}, {f}"))
        .collect();
    if findings.len() > SHOWN {
        list.push(format!("and {} more", findings.len() - SHOWN));
    }
    Err(Refusal::new(
        550,
        "5.7.1",
        format!(
            "This message contains what looks like a payment card number ({}). Card numbers must not be sent by fax: the fax travels over the public telephone network unencrypted and is kept on the fax server (PCI DSS requirements 4.2.1 and 3.5.1).",
            list.join("; ")
        ),
        "Remove the card number or mask it, keeping at most the last four digits, and send again. If this is not a card number, or your team is approved to handle card data this way, contact the fax administrator.",
    ))
}

/// True when `address` matches one of the list entries (see the module docs).
pub(crate) fn matches_any(list: &[String], address: &str) -> bool {
    let address = address.trim().trim_start_matches('<').trim_end_matches('>');
    let Some(at) = address.rfind('@') else {
        return false;
    };
    let domain = address[at + 1..].trim_end_matches('.');
    list.iter().any(|entry| {
        let entry = entry.trim();
        if entry.contains('@') && !entry.starts_with('@') {
            entry.eq_ignore_ascii_case(address)
        } else if let Some(parent) = entry.strip_prefix("*.") {
            domain.len() > parent.len()
                && domain[domain.len() - parent.len()..].eq_ignore_ascii_case(parent)
                && domain.as_bytes()[domain.len() - parent.len() - 1] == b'.'
        } else {
            entry.trim_start_matches('@').eq_ignore_ascii_case(domain)
        }
    })
}

/// Problems in a list of sender addresses or domains (`key` names the list).
pub(crate) fn address_list_problems(key: &str, list: &[String]) -> Vec<ConfigError> {
    crate::smtp::address_list_problems(key, list)
        .into_iter()
        .map(|(key, problem)| ConfigError::new(key, problem))
        .collect()
}

/// Whether `ip` is one of `[intake.senders] trusted_relays`.
pub fn is_trusted_relay(policy: &SenderPolicy, ip: IpAddr) -> bool {
    in_relays(&policy.trusted_relays, ip)
}

/// True when `ip` is inside one of the relay blocks. An IPv4-mapped IPv6
/// client (`::ffff:192.0.2.1`, as a dual-stack socket reports it) is compared as IPv4.
fn in_relays(relays: &[String], ip: IpAddr) -> bool {
    relays
        .iter()
        .filter_map(|r| r.trim().parse::<Cidr>().ok())
        .any(|net| net.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::pan;

    /// An SMTP origin; an authenticated account may send as any address at
    /// example.ac.uk or example.com.
    fn smtp(ip: &str, user: Option<&str>) -> Origin {
        Origin::Smtp {
            ip: ip.parse().unwrap(),
            auth_user: user.map(String::from),
            account_addresses: match user {
                Some(_) => vec!["example.ac.uk".into(), "example.com".into()],
                None => Vec::new(),
            },
        }
    }

    fn sender(address: &str, origin: Origin) -> Sender {
        Sender {
            address: address.into(),
            origin,
        }
    }

    fn senders() -> SenderPolicy {
        SenderPolicy {
            allowed: vec![
                "example.ac.uk".into(),
                "*.example.ac.uk".into(),
                "partner@example.org".into(),
            ],
            trusted_relays: vec!["192.0.2.0/24".into(), "2001:db8::/32".into()],
            auth_users: vec!["faxuser".into()],
            relay_checks_senders: true,
        }
    }

    #[test]
    fn allowed_addresses_from_trusted_relays_are_accepted() {
        let p = senders();
        for addr in [
            "j.smith@example.ac.uk",
            "J.Smith@EXAMPLE.AC.UK",
            "a@eng.example.ac.uk",
            "a@x.y.example.ac.uk",
            "<partner@example.org>",
            "Partner@Example.org",
        ] {
            assert_eq!(
                authorise_sender(&p, &sender(addr, smtp("192.0.2.25", None))),
                Ok(()),
                "{addr}"
            );
        }
        assert_eq!(
            authorise_sender(&p, &sender("a@example.ac.uk", smtp("2001:db8::1", None))),
            Ok(())
        );
        assert_eq!(
            authorise_sender(
                &p,
                &sender("a@example.ac.uk", smtp("::ffff:192.0.2.9", None))
            ),
            Ok(())
        );
    }

    #[test]
    fn addresses_outside_the_lists_are_refused_even_from_trusted_relays() {
        let p = senders();
        for addr in [
            "someone@example.com",
            "other@example.org",
            "a@badexample.ac.uk",
            "a@example.ac.uk.evil.example",
        ] {
            let r = authorise_sender(&p, &sender(addr, smtp("192.0.2.25", None))).unwrap_err();
            assert_eq!((r.code, r.enhanced), (550, "5.7.1"), "{addr}");
            assert!(
                r.reason.contains("not allowed to send faxes"),
                "{}",
                r.reason
            );
            assert!(r.advice.contains("administrator"));
        }
    }

    #[test]
    fn an_allowed_address_from_an_untrusted_network_is_not_enough() {
        let mut p = senders();
        let r = authorise_sender(&p, &sender("a@example.ac.uk", smtp("198.51.100.7", None)))
            .unwrap_err();
        assert_eq!(
            (r.code, r.enhanced),
            (530, "5.7.0"),
            "AUTH is offered, so ask for it"
        );
        p.auth_users.clear();
        let r = authorise_sender(&p, &sender("a@example.ac.uk", smtp("198.51.100.7", None)))
            .unwrap_err();
        assert_eq!((r.code, r.enhanced), (550, "5.7.1"));
        assert!(r.reason.contains("198.51.100.7"));
    }

    #[test]
    fn smtp_auth_users_are_trusted_from_anywhere() {
        let p = senders();
        assert_eq!(
            authorise_sender(
                &p,
                &sender("a@example.ac.uk", smtp("198.51.100.7", Some("FaxUser")))
            ),
            Ok(())
        );
        let r = authorise_sender(
            &p,
            &sender("a@example.ac.uk", smtp("198.51.100.7", Some("mallory"))),
        )
        .unwrap_err();
        assert!(r.reason.contains("mallory"));
        let any = SenderPolicy {
            auth_users: vec!["*".into()],
            ..senders()
        };
        assert_eq!(
            authorise_sender(
                &any,
                &sender("a@example.ac.uk", smtp("198.51.100.7", Some("anyone")))
            ),
            Ok(())
        );
        // Authenticated users still send only from allowed addresses.
        assert!(
            authorise_sender(
                &any,
                &sender("x@example.com", smtp("198.51.100.7", Some("anyone")))
            )
            .is_err()
        );
    }

    #[test]
    fn local_submission_is_trusted_but_the_address_still_counts() {
        let p = senders();
        assert_eq!(
            authorise_sender(&p, &sender("a@example.ac.uk", Origin::Local)),
            Ok(())
        );
        assert!(authorise_sender(&p, &sender("a@example.com", Origin::Local)).is_err());
        assert_eq!(
            authorise_sender(
                &SenderPolicy::default(),
                &sender("a@example.com", Origin::Local)
            ),
            Ok(())
        );
    }

    fn account(user: &str, addresses: &[&str]) -> Origin {
        Origin::Smtp {
            ip: "198.51.100.7".parse().unwrap(),
            auth_user: Some(user.into()),
            account_addresses: addresses.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn an_account_sends_only_as_its_own_addresses() {
        let p = SenderPolicy {
            auth_users: vec!["*".into()],
            ..senders()
        };
        // (MAIL FROM, account's addresses, accepted?)
        let table: &[(&str, &[&str], bool)] = &[
            ("jane@example.ac.uk", &["jane@example.ac.uk"], true),
            ("JANE@Example.AC.UK", &["jane@example.ac.uk"], true),
            ("boss@example.ac.uk", &["jane@example.ac.uk"], false),
            ("a@eng.example.ac.uk", &["*.example.ac.uk"], true),
            ("a@example.ac.uk", &["*.example.ac.uk"], false),
            ("anyone@example.ac.uk", &["example.ac.uk"], true),
            ("partner@example.org", &["jane@example.ac.uk"], false),
            (
                "partner@example.org",
                &["jane@example.ac.uk", "partner@example.org"],
                true,
            ),
            ("jane@example.ac.uk", &[], false),
        ];
        for (from, addresses, ok) in table {
            let r = authorise_sender(&p, &sender(from, account("jane", addresses)));
            assert_eq!(r.is_ok(), *ok, "{from} as {addresses:?}: {r:?}");
            if let Err(r) = r {
                assert_eq!((r.code, r.enhanced), (550, "5.7.1"), "{from}");
                assert!(r.reason.contains("may not send as"), "{}", r.reason);
                assert!(r.reason.contains(&format!("as {from}")), "{}", r.reason);
                assert!(r.advice.contains("add this address"), "{}", r.advice);
            }
        }
        let r = authorise_sender(
            &p,
            &sender(
                "boss@example.ac.uk",
                account(
                    "jane",
                    &["jane@example.ac.uk", "*.lab.example.ac.uk", "example.org"],
                ),
            ),
        )
        .unwrap_err();
        assert_eq!(
            r.reason,
            "The account \"jane\" may not send as boss@example.ac.uk: it may send only as jane@example.ac.uk, addresses at any subdomain of lab.example.ac.uk or addresses at example.org."
        );
        // The binding holds from a trusted relay's address too.
        let from_relay = Origin::Smtp {
            ip: "192.0.2.25".parse().unwrap(),
            auth_user: Some("jane".into()),
            account_addresses: vec!["jane@example.ac.uk".into()],
        };
        assert!(authorise_sender(&p, &sender("boss@example.ac.uk", from_relay)).is_err());
    }

    #[test]
    fn who_vouches_for_the_address() {
        let checking = senders();
        let plain = SenderPolicy {
            relay_checks_senders: false,
            ..senders()
        };
        let relay = smtp("192.0.2.25", None);
        // (policy, origin, standing)
        let table = [
            (&plain, Origin::Local, Standing::Address),
            (
                &plain,
                smtp("198.51.100.7", Some("faxuser")),
                Standing::Address,
            ),
            (&plain, relay.clone(), Standing::Domain),
            (&checking, relay.clone(), Standing::Address),
            (&plain, smtp("198.51.100.7", None), Standing::Domain),
        ];
        for (policy, origin, want) in table {
            assert_eq!(standing(policy, &origin), want, "{origin:?}");
        }
    }

    #[test]
    fn a_relay_that_does_not_check_senders_counts_by_domain_only() {
        let p = SenderPolicy {
            relay_checks_senders: false,
            ..senders()
        };
        let relay = || smtp("192.0.2.25", None);
        // Domain entries still admit mail from the relay ...
        for addr in ["j.smith@example.ac.uk", "a@eng.example.ac.uk"] {
            assert_eq!(
                authorise_sender(&p, &sender(addr, relay())),
                Ok(()),
                "{addr}"
            );
        }
        // ... an entry naming one address does not: anyone could write it.
        let r = authorise_sender(&p, &sender("partner@example.org", relay())).unwrap_err();
        assert_eq!((r.code, r.enhanced), (550, "5.7.1"));
        assert!(r.reason.contains("counts by domain only"), "{}", r.reason);
        assert!(
            r.reason.contains("example.org is not allowed"),
            "{}",
            r.reason
        );
        assert!(r.advice.contains("SMTP AUTH"), "{}", r.advice);
        // The same address through an account that lists it is accepted.
        assert_eq!(
            authorise_sender(
                &p,
                &sender(
                    "partner@example.org",
                    account("faxuser", &["partner@example.org"])
                )
            ),
            Ok(())
        );
        // With relay_checks_senders the relay's word is taken.
        assert_eq!(
            authorise_sender(&senders(), &sender("partner@example.org", relay())),
            Ok(())
        );
    }

    #[test]
    fn exemptions_need_an_address_someone_vouches_for() {
        let policy = DestinationPolicy {
            international_senders: vec![
                "intl@example.ac.uk".into(),
                "research.example.ac.uk".into(),
            ],
            ..DestinationPolicy::default()
        };
        let abroad = "+33 1 23 45 67 89";
        for who in ["intl@example.ac.uk", "a@research.example.ac.uk"] {
            assert!(
                check_destination_at(&policy, &uk(), who, Standing::Address, abroad).is_ok(),
                "{who}"
            );
            let r =
                check_destination_at(&policy, &uk(), who, Standing::Domain, abroad).unwrap_err();
            assert_eq!((r.code, r.enhanced), (550, "5.7.1"));
            assert!(
                r.reason.contains("does not check that its users"),
                "{}",
                r.reason
            );
            assert!(r.advice.contains("relay_checks_senders"), "{}", r.advice);
        }
        // Someone never allowed abroad hears the usual reason.
        let r = check_destination_at(&policy, &uk(), "b@example.ac.uk", Standing::Domain, abroad)
            .unwrap_err();
        assert!(
            r.reason.contains("not allowed to send faxes abroad"),
            "{}",
            r.reason
        );
        // Home numbers are unaffected.
        assert!(
            check_destination_at(
                &policy,
                &uk(),
                "b@example.ac.uk",
                Standing::Domain,
                "01223 123456"
            )
            .is_ok()
        );

        let findings: Vec<(String, PanFinding)> = pan::scan("5555555555554444")
            .into_iter()
            .map(|f| ("form.pdf".to_string(), f))
            .collect();
        let cfg = PciConfig {
            enabled: true,
            allowed_senders: vec![
                "card-ops@example.ac.uk".into(),
                "finance.example.ac.uk".into(),
            ],
        };
        for who in ["card-ops@example.ac.uk", "x@finance.example.ac.uk"] {
            assert_eq!(
                check_pan_at(&cfg, who, Standing::Address, &findings),
                Ok(())
            );
            let r = check_pan_at(&cfg, who, Standing::Domain, &findings).unwrap_err();
            assert!(r.reason.contains("payment card number"), "{}", r.reason);
            assert!(
                r.reason.contains("may send card numbers, but only"),
                "{}",
                r.reason
            );
            assert!(!r.to_string().contains("5555555555554444"));
        }
        let r = check_pan_at(&cfg, "other@example.ac.uk", Standing::Domain, &findings).unwrap_err();
        assert!(!r.reason.contains("may send card numbers"), "{}", r.reason);
    }

    #[test]
    fn allowances_by_domain_still_apply_to_a_relay_that_does_not_check() {
        let q = QuotaConfig {
            messages_per_hour: 20,
            pages_per_day: 200,
            overrides: vec![
                QuotaOverride {
                    senders: vec!["boss@finance.example.ac.uk".into()],
                    messages_per_hour: 0,
                    pages_per_day: 0,
                },
                QuotaOverride {
                    senders: vec!["vip@example.ac.uk".into(), "finance.example.ac.uk".into()],
                    messages_per_hour: 50,
                    pages_per_day: 1000,
                },
            ],
        };
        let at = |s: Standing, who: &str| s.quota(&q).limits_for(who);
        assert_eq!(
            at(Standing::Address, "boss@finance.example.ac.uk").pages_per_day,
            0
        );
        assert_eq!(
            at(Standing::Domain, "boss@finance.example.ac.uk").pages_per_day,
            1000
        );
        assert_eq!(
            at(Standing::Address, "vip@example.ac.uk").pages_per_day,
            1000
        );
        assert_eq!(at(Standing::Domain, "vip@example.ac.uk").pages_per_day, 200);
        assert_eq!(
            at(Standing::Domain, "a@example.ac.uk").messages_per_hour,
            20
        );
        assert!(matches!(Standing::Address.quota(&q), Cow::Borrowed(_)));
    }

    #[test]
    fn null_and_bare_senders_are_refused() {
        let p = SenderPolicy::default();
        let r = authorise_sender(&p, &sender("<>", Origin::Local)).unwrap_err();
        assert!(r.reason.contains("empty sender"));
        let r = authorise_sender(&p, &sender("root", Origin::Local)).unwrap_err();
        assert_eq!((r.code, r.enhanced), (553, "5.1.7"));
    }

    #[test]
    fn cidr_matching() {
        let relays = vec![
            "10.1.0.0/16".to_string(),
            "192.0.2.7".to_string(),
            "::1".to_string(),
        ];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(in_relays(&relays, ip("10.1.255.255")));
        assert!(!in_relays(&relays, ip("10.2.0.1")));
        assert!(in_relays(&relays, ip("192.0.2.7")));
        assert!(!in_relays(&relays, ip("192.0.2.8")));
        assert!(in_relays(&relays, ip("::1")));
        assert!(!in_relays(&relays, ip("127.0.0.1")));
        assert!(in_relays(&["0.0.0.0/0".to_string()], ip("203.0.113.1")));
        assert!(!in_relays(&["10.0.0.0/33".to_string()], ip("10.0.0.1")));
        assert!(!in_relays(
            &["2001:db8::/129".to_string()],
            ip("2001:db8::1")
        ));
        assert!(!in_relays(&["example.ac.uk".to_string()], ip("10.0.0.1")));
    }

    fn uk() -> DialPlan {
        DialPlan::default()
    }

    fn dest(written: &str) -> Result<Normalised, Refusal> {
        check_destination(
            &DestinationPolicy::default(),
            &uk(),
            "a@example.ac.uk",
            written,
        )
    }

    #[test]
    fn ordinary_uk_numbers_may_be_dialled() {
        for n in [
            "01223 123456",
            "020 7946 0000",
            "+44 1223 123456",
            "07700 900123",
            "0800 123 4567",
        ] {
            assert!(dest(n).is_ok(), "{n}");
        }
        assert_eq!(dest("01223 123456").unwrap().dial, "+441223123456");
    }

    #[test]
    fn emergency_numbers_are_never_faxed_in_any_form() {
        let pbx = DialPlan {
            outside_line_prefix: "9".into(),
            extension_lengths: vec![4],
            ..uk()
        };
        let policy = DestinationPolicy {
            blocked_prefixes: vec![],
            international_senders: vec!["example.ac.uk".into()],
        };
        for n in [
            "999", "112", "911", "9999", "9 112", "+44 999", "0044 112", "9-1-1", "(999)",
        ] {
            let r = check_destination(&policy, &pbx, "a@example.ac.uk", n).unwrap_err();
            assert!(r.reason.contains("emergency number"), "{n}: {r:?}");
            assert!(r.advice.contains("phone 999"));
        }
    }

    #[test]
    fn blocked_prefixes_are_refused_with_what_they_are() {
        for (n, what) in [
            ("09011 234567", "premium-rate"),
            ("0871 234 5678", "revenue-sharing"),
            ("0873 234 5678", "revenue-sharing"),
            ("118 118", "directory enquiries"),
            ("118500", "directory enquiries"),
            ("070 1234 5678", "personal number"),
            ("+44 9011 234567", "premium-rate"),
            ("9 09011 234567", "premium-rate"),
        ] {
            let plan = DialPlan {
                outside_line_prefix: "9".into(),
                ..uk()
            };
            let r = check_destination(&DestinationPolicy::default(), &plan, "a@example.ac.uk", n)
                .unwrap_err();
            assert!(r.reason.contains(what), "{n}: {}", r.reason);
            assert_eq!((r.code, r.enhanced), (550, "5.7.1"));
        }
        // 0870 and 0874+ are not in the default list.
        assert!(dest("0870 123 4567").is_ok());
        // 07 mobiles are not 070 personal numbers.
        assert!(dest("07123 456789").is_ok());
    }

    #[test]
    fn administrators_can_block_international_prefixes() {
        let policy = DestinationPolicy {
            blocked_prefixes: vec!["00881".into()],
            international_senders: vec!["example.ac.uk".into()],
        };
        let r =
            check_destination(&policy, &uk(), "a@example.ac.uk", "+881 6 1234 5678").unwrap_err();
        assert!(r.reason.contains("a blocked number"), "{}", r.reason);
        assert!(check_destination(&policy, &uk(), "a@example.ac.uk", "+33 1 23 45 67 89").is_ok());
    }

    #[test]
    fn international_numbers_need_a_listed_sender() {
        let policy = DestinationPolicy {
            international_senders: vec![
                "intl@example.ac.uk".into(),
                "*.research.example.ac.uk".into(),
            ],
            ..DestinationPolicy::default()
        };
        let r =
            check_destination(&policy, &uk(), "a@example.ac.uk", "+33 1 23 45 67 89").unwrap_err();
        assert!(
            r.reason.contains("not allowed to send faxes abroad"),
            "{}",
            r.reason
        );
        for who in ["intl@example.ac.uk", "b@lab.research.example.ac.uk"] {
            let n = check_destination(&policy, &uk(), who, "+33 1 23 45 67 89").unwrap();
            assert_eq!(n.kind, NumberKind::International);
        }
        // +44 is home, not abroad.
        assert!(check_destination(&policy, &uk(), "a@example.ac.uk", "+44 1223 123456").is_ok());
    }

    #[test]
    fn short_codes_and_bad_numbers_are_refused() {
        let r = dest("100").unwrap_err();
        assert!(r.reason.contains("short service number"));
        let r = dest("1223 123456").unwrap_err();
        assert_eq!((r.code, r.enhanced), (553, "5.1.3"));
    }

    #[test]
    fn extensions_are_not_subject_to_prefix_rules() {
        let plan = DialPlan {
            extension_lengths: vec![5],
            ..uk()
        };
        let policy = DestinationPolicy {
            blocked_prefixes: vec!["09".into()],
            ..DestinationPolicy::default()
        };
        assert_eq!(
            check_destination(&policy, &plan, "a@example.ac.uk", "09123")
                .unwrap()
                .kind,
            NumberKind::Extension
        );
    }

    #[test]
    fn quotas_refuse_with_the_numbers_and_what_to_do() {
        let limits = Limits {
            messages_per_hour: 10,
            pages_per_day: 100,
        };
        let fresh = Usage::default();
        assert_eq!(check_quota(&fresh, &limits, 0), Ok(()));
        assert_eq!(check_quota(&fresh, &limits, 100), Ok(()));

        let busy = Usage {
            messages_last_hour: 10,
            pages_today: 0,
        };
        let r = check_quota(&busy, &limits, 0).unwrap_err();
        assert_eq!((r.code, r.enhanced), (451, "4.7.1"));
        assert!(r.is_temporary());
        assert!(r.reason.contains("10 fax messages in the last hour"));
        assert_eq!(
            check_quota(
                &Usage {
                    messages_last_hour: 9,
                    ..busy
                },
                &limits,
                0
            ),
            Ok(())
        );

        let used = Usage {
            messages_last_hour: 0,
            pages_today: 95,
        };
        assert_eq!(check_quota(&used, &limits, 5), Ok(()));
        let r = check_quota(&used, &limits, 6).unwrap_err();
        assert!(r.is_temporary());
        assert!(r.reason.contains("95 of today's 100"), "{}", r.reason);
        assert!(r.advice.contains("tomorrow"));

        let r = check_quota(&fresh, &limits, 101).unwrap_err();
        assert_eq!((r.code, r.enhanced), (552, "5.3.4"));
        assert!(!r.is_temporary());
    }

    #[test]
    fn zero_means_no_limit_and_counters_cannot_overflow() {
        let none = Limits {
            messages_per_hour: 0,
            pages_per_day: 0,
        };
        let huge = Usage {
            messages_last_hour: u32::MAX,
            pages_today: u32::MAX,
        };
        assert_eq!(check_quota(&huge, &none, u32::MAX), Ok(()));
        let some = Limits {
            messages_per_hour: 0,
            pages_per_day: 10,
        };
        let r = check_quota(
            &Usage {
                pages_today: u32::MAX,
                ..Usage::default()
            },
            &some,
            1,
        )
        .unwrap_err();
        assert!(r.is_temporary());
    }

    #[test]
    fn overrides_pick_the_first_matching_allowance() {
        let q = QuotaConfig {
            messages_per_hour: 20,
            pages_per_day: 200,
            overrides: vec![
                QuotaOverride {
                    senders: vec!["boss@finance.example.ac.uk".into()],
                    messages_per_hour: 0,
                    pages_per_day: 0,
                },
                QuotaOverride {
                    senders: vec!["finance.example.ac.uk".into()],
                    messages_per_hour: 50,
                    pages_per_day: 1000,
                },
            ],
        };
        assert_eq!(q.limits_for("boss@finance.example.ac.uk").pages_per_day, 0);
        assert_eq!(
            q.limits_for("clerk@finance.example.ac.uk").pages_per_day,
            1000
        );
        assert_eq!(q.limits_for("a@example.ac.uk").messages_per_hour, 20);
    }

    #[test]
    fn card_numbers_are_refused_without_repeating_them() {
        let findings: Vec<(String, PanFinding)> = pan::scan("pay with 4111 1111 1111 1111 please")
            .into_iter()
            .map(|f| ("the message text".to_string(), f))
            .collect();
        let cfg = PciConfig::default();
        let r = check_pan(&cfg, "a@example.ac.uk", &findings).unwrap_err();
        assert_eq!((r.code, r.enhanced), (550, "5.7.1"));
        assert!(
            r.reason.contains(
                "the message text, line 1: Visa card number (16 digits, ending **** 1111)"
            ),
            "{}",
            r.reason
        );
        assert!(r.reason.contains("4.2.1"));
        assert!(!r.to_string().contains("4111"));
        assert!(r.advice.contains("last four digits"));
    }

    #[test]
    fn card_numbers_pass_for_listed_senders_or_when_disabled() {
        let findings: Vec<(String, PanFinding)> = pan::scan("5555555555554444")
            .into_iter()
            .map(|f| ("form.pdf".to_string(), f))
            .collect();
        let cfg = PciConfig {
            enabled: true,
            allowed_senders: vec!["card-ops@example.ac.uk".into()],
        };
        assert_eq!(check_pan(&cfg, "card-ops@example.ac.uk", &findings), Ok(()));
        assert!(check_pan(&cfg, "other@example.ac.uk", &findings).is_err());
        let off = PciConfig {
            enabled: false,
            ..cfg
        };
        assert_eq!(check_pan(&off, "other@example.ac.uk", &findings), Ok(()));
        assert_eq!(
            check_pan(&PciConfig::default(), "x@example.ac.uk", &[]),
            Ok(())
        );
    }

    #[test]
    fn many_findings_are_summarised() {
        let text = "4111111111111111\n".repeat(8);
        let findings: Vec<(String, PanFinding)> = pan::scan(&text)
            .into_iter()
            .map(|f| ("list.txt".to_string(), f))
            .collect();
        assert_eq!(findings.len(), 8);
        let r = check_pan(&PciConfig::default(), "a@example.ac.uk", &findings).unwrap_err();
        assert!(r.reason.contains("line 5"));
        assert!(!r.reason.contains("line 6"));
        assert!(r.reason.contains("and 3 more"));
    }

    #[test]
    fn address_lists_validate() {
        assert!(
            address_list_problems(
                "k",
                &[
                    "a@example.ac.uk".into(),
                    "example.ac.uk".into(),
                    "*.example.ac.uk".into(),
                    "@example.ac.uk".into()
                ]
            )
            .is_empty()
        );
        let bad = address_list_problems(
            "k",
            &["ok.example".into(), "not a domain".into(), "a@".into()],
        );
        let keys: Vec<String> = bad.into_iter().map(|e| e.key).collect();
        assert_eq!(keys, ["k[1]", "k[2]"]);
    }
}
