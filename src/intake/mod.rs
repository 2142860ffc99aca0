//! Email-to-fax intake: the decisions taken before anything is queued or dialled.
//!
//! Staff send mail to `number@fax-domain`; each recipient becomes one fax job.
//! Between the mail arriving (SMTP listener, `faxbridge send`,
//! `faxbridge submit`) and a job entering the queue, intake answers, in order:
//!
//! 1. **Who is sending?** ([`policy::authorise_sender`]) — an allowed address
//!    or domain, arriving from a trusted relay, through SMTP AUTH (as one of
//!    the account's own addresses), or from the local command line.
//!    Everything else is refused at SMTP time. How far the address is
//!    believed ([`policy::standing`]) decides which of the per-sender
//!    settings below apply to it.
//! 2. **Where to?** ([`address::parse_recipient`]) — `number^option@fax-domain`
//!    is split into the number as written and the per-recipient options.
//! 3. **What is dialled?** ([`dialplan::DialPlan::normalise`]) — the number in
//!    E.164 and the dial string the SIP trunk expects.
//! 4. **May it be dialled?** ([`policy::check_destination`],
//!    [`policy::check_quota`]) — emergency numbers never, premium-rate and
//!    similar prefixes never, international only for listed senders, and
//!    within the sender's hourly message and daily page allowance.
//! 5. **Is it safe to send?** ([`pan::scan`], [`policy::check_pan`]) — no
//!    payment card numbers in the text (PCI DSS), unless the sender is listed.
//! 6. **What is sent?** ([`message::plan`]) — which parts become fax pages and
//!    what the cover page says.
//!
//! Every module here is sans-IO: values in, values out. The SMTP listener and
//! the command-line edge drive them; storage of usage counters, rendering and
//! dialling live elsewhere. A refusal is a [`Refusal`]: an SMTP reply code, an
//! RFC 3463 enhanced status code and plain-language text for the bounce or
//! report, saying what happened and what the sender can do about it.

pub mod address;
pub mod cover;
pub mod message;
pub mod pipeline;
pub mod policy;

pub use crate::smtp::Refusal;

use serde::Deserialize;

use crate::docs::Resolution;

pub use crate::compliance::pan::{self, Issuer, PanFinding, scan};
pub use crate::numbering::{DialError, DialPlan, Normalised, NumberKind};
pub use address::{AddressError, FaxAddress, FaxOptions, parse_recipient};
pub use message::{CoverSpec, Document, InboundMessage, MessagePlan, Part, plan};
pub use pipeline::{Intake, IntakeSettings, QueuedFax, Submitted};
pub use policy::{
    Origin, Sender, Standing, Usage, authorise_sender, check_destination, check_destination_at,
    check_pan, check_pan_at, check_quota, standing,
};

/// `[intake]`: the email-to-fax intake settings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IntakeConfig {
    /// Mail domains whose recipients are fax numbers, e.g. `fax.example.ac.uk`.
    /// Matched case-insensitively and exactly: a subdomain must be listed itself.
    pub fax_domains: Vec<String>,
    /// Resolution when the address has neither `^fine` nor `^standard`.
    pub default_resolution: Resolution,
    /// Whether a cover page is sent when the address has neither `^cover` nor `^nocover`.
    pub cover_page: bool,
    /// How numbers are written and dialled.
    pub dialplan: DialPlan,
    /// Who may send.
    pub senders: policy::SenderPolicy,
    /// Which numbers may be dialled.
    pub destinations: policy::DestinationPolicy,
    /// Per-sender allowances.
    pub quota: policy::QuotaConfig,
    /// The payment card number guard.
    pub pci: policy::PciConfig,
    /// How a message is turned into documents and a cover page.
    pub message: message::MessageConfig,
    /// The SMTP listener the site's mail relay forwards fax mail to.
    pub smtp: crate::smtp::SmtpConfig,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        IntakeConfig {
            fax_domains: Vec::new(),
            default_resolution: Resolution::Fine,
            cover_page: true,
            dialplan: DialPlan::default(),
            senders: policy::SenderPolicy::default(),
            destinations: policy::DestinationPolicy::default(),
            quota: policy::QuotaConfig::default(),
            pci: policy::PciConfig::default(),
            message: message::MessageConfig::default(),
            smtp: crate::smtp::SmtpConfig::default(),
        }
    }
}

/// A configuration value that cannot work, naming the key and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("intake.{key}: {problem}")]
pub struct ConfigError {
    /// The key at fault, relative to `[intake]`, e.g. `dialplan.country_code`.
    pub key: String,
    /// What is wrong and how to fix it.
    pub problem: String,
}

impl ConfigError {
    pub(crate) fn new(key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
        ConfigError {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

impl IntakeConfig {
    /// Check every value; returns all problems found, each naming its key.
    pub fn validate(&self) -> Result<(), Vec<ConfigError>> {
        let mut problems = Vec::new();
        for (i, d) in self.fax_domains.iter().enumerate() {
            if !crate::smtp::is_plausible_domain(d) {
                problems.push(ConfigError::new(
                    format!("fax_domains[{i}]"),
                    format!("{d:?} is not a mail domain; write it like \"fax.example.ac.uk\""),
                ));
            }
        }
        if !matches!(
            self.default_resolution,
            Resolution::Standard | Resolution::Fine
        ) {
            problems.push(ConfigError::new(
                "default_resolution",
                "only \"standard\" and \"fine\" are sent to every fax machine; choose one of them",
            ));
        }
        problems.extend(
            self.dialplan
                .validate()
                .into_iter()
                .map(|p| ConfigError::new(p.key, p.problem)),
        );
        problems.extend(self.senders.validate());
        problems.extend(self.destinations.validate());
        problems.extend(self.quota.validate());
        problems.extend(self.pci.validate());
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Settings that work but will not do what they seem to: per-sender
    /// entries that mail from the trusted relays cannot use, because
    /// `relay_checks_senders` is off (see [`policy::standing`]).
    pub fn warnings(&self) -> Vec<crate::problem::Problem> {
        let s = &self.senders;
        if s.trusted_relays.is_empty() || s.relay_checks_senders {
            return Vec::new();
        }
        const WHY: &str = "mail from the trusted relays counts by domain only, because relay_checks_senders is false";
        const FIX: &str = "set [intake.senders] relay_checks_senders = true if the relays let each user send only as themselves; otherwise those senders must log in (SMTP AUTH) with an account listing their address";
        let by_address = |list: &[String]| list.len() != policy::domain_entries(list).len();
        let mut out = Vec::new();
        let mut warn = |key: String, what: &str| {
            out.push(crate::problem::Problem::new(
                format!("intake.{key}"),
                format!("{what}; {WHY}"),
                FIX,
            ));
        };
        if by_address(&s.allowed) {
            warn(
                "senders.allowed".into(),
                "has entries naming single addresses, which do not admit mail from the trusted relays",
            );
        }
        if !self.destinations.international_senders.is_empty() {
            warn(
                "destinations.international_senders".into(),
                "does not apply to mail from the trusted relays",
            );
        }
        if !self.pci.allowed_senders.is_empty() {
            warn(
                "pci.allowed_senders".into(),
                "does not apply to mail from the trusted relays",
            );
        }
        for (i, o) in self.quota.overrides.iter().enumerate() {
            if by_address(&o.senders) {
                warn(
                    format!("quota.overrides[{i}].senders"),
                    "has entries naming single addresses, which do not apply to mail from the trusted relays",
                );
            }
        }
        out
    }
}

impl crate::problem::Validate for IntakeConfig {
    fn problems(&self) -> Vec<crate::problem::Problem> {
        self.validate()
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| {
                crate::problem::Problem::new(
                    format!("intake.{}", e.key),
                    e.problem,
                    "see the [intake] section of config/faxbridge.example.toml",
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_sender_entries_a_relay_cannot_use_are_warned_about() {
        let text = r#"
            [senders]
            allowed = ["example.ac.uk", "partner@example.org"]
            trusted_relays = ["192.0.2.0/24"]
            [destinations]
            international_senders = ["research.example.ac.uk"]
            [pci]
            allowed_senders = ["card-ops@example.ac.uk"]
            [[quota.overrides]]
            senders = ["finance.example.ac.uk"]
            messages_per_hour = 0
            pages_per_day = 0
            [[quota.overrides]]
            senders = ["boss@example.ac.uk"]
            messages_per_hour = 0
            pages_per_day = 0
        "#;
        let cfg: IntakeConfig = toml::from_str(text).unwrap();
        let keys: Vec<String> = cfg.warnings().into_iter().map(|w| w.key).collect();
        assert_eq!(
            keys,
            [
                "intake.senders.allowed",
                "intake.destinations.international_senders",
                "intake.pci.allowed_senders",
                "intake.quota.overrides[1].senders",
            ]
        );
        assert!(
            cfg.warnings()[0]
                .fix
                .contains("relay_checks_senders = true")
        );
        let checked: IntakeConfig =
            toml::from_str(&text.replace("[senders]", "[senders]\nrelay_checks_senders = true"))
                .unwrap();
        assert!(checked.warnings().is_empty());
        let no_relays: IntakeConfig =
            toml::from_str(&text.replace("trusted_relays = [\"192.0.2.0/24\"]", "")).unwrap();
        assert!(no_relays.warnings().is_empty());
    }

    #[test]
    fn unreadable_numbers_are_bad_destination_syntax() {
        let err = DialPlan::default().normalise("1223 123456").unwrap_err();
        let r = Refusal::dial(&err);
        assert_eq!((r.code, r.enhanced), (553, "5.1.3"));
        assert!(r.reason.contains("+44 1223 123456"), "{}", r.reason);
    }

    #[test]
    fn empty_toml_gives_the_defaults_and_they_validate() {
        let cfg: IntakeConfig = toml::from_str("").unwrap();
        assert_eq!(cfg, IntakeConfig::default());
        assert_eq!(cfg.validate(), Ok(()));
        assert_eq!(cfg.default_resolution, Resolution::Fine);
        assert!(cfg.cover_page);
    }

    #[test]
    fn a_full_uk_configuration_parses() {
        let cfg: IntakeConfig = toml::from_str(
            r#"
            fax_domains = ["fax.example.ac.uk"]
            default_resolution = "standard"
            cover_page = false

            [dialplan]
            country_code = "44"
            national_prefix = "0"
            international_prefix = "00"
            outside_line_prefix = "9"
            strip_outside_line = true
            add_outside_line = true
            trunk_format = "national"
            extension_lengths = [4, 5]
            national_min_digits = 9
            national_max_digits = 10

            [senders]
            allowed = ["example.ac.uk", "*.example.ac.uk", "ext.partner@example.org"]
            trusted_relays = ["192.0.2.0/24", "2001:db8::/32", "198.51.100.7"]
            auth_users = ["*"]

            [destinations]
            blocked_prefixes = ["09", "118"]
            international_senders = ["intl-office@example.ac.uk"]

            [quota]
            messages_per_hour = 10
            pages_per_day = 100
            [[quota.overrides]]
            senders = ["finance.example.ac.uk"]
            messages_per_hour = 0
            pages_per_day = 1000

            [pci]
            enabled = true
            allowed_senders = ["card-ops@example.ac.uk"]

            [message]
            inline_image_max_bytes = 8000
            cover_note_max_chars = 500
            "#,
        )
        .unwrap();
        assert_eq!(cfg.validate(), Ok(()));
        assert_eq!(cfg.dialplan.outside_line_prefix, "9");
        assert_eq!(cfg.quota.overrides.len(), 1);
        assert!(!cfg.cover_page);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<IntakeConfig>("fax_domain = [\"x\"]").unwrap_err();
        assert!(err.to_string().contains("fax_domain"), "{err}");
        let err = toml::from_str::<IntakeConfig>("[dialplan]\ncountry = \"44\"").unwrap_err();
        assert!(err.to_string().contains("country"), "{err}");
    }

    #[test]
    fn validation_names_every_bad_key() {
        let cfg: IntakeConfig = toml::from_str(
            r#"
            fax_domains = ["not a domain"]
            default_resolution = "superfine"
            [dialplan]
            country_code = "0x"
            [senders]
            trusted_relays = ["10.0.0.0/33"]
            "#,
        )
        .unwrap();
        let keys: Vec<String> = cfg
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.key)
            .collect();
        assert_eq!(
            keys,
            [
                "fax_domains[0]",
                "default_resolution",
                "dialplan.country_code",
                "senders.trusted_relays[0]"
            ]
        );
    }

    #[test]
    fn smtp_line_is_one_printable_ascii_line() {
        let r = Refusal::new(550, "5.7.1", "Numéro refusé\r\nInjected: header", "Ask.");
        let line = r.smtp_line();
        assert_eq!(line, "550 5.7.1 Num?ro refus???Injected: header");
        let long = Refusal::new(550, "5.7.1", "x".repeat(2000), "");
        assert!(long.smtp_line().len() <= 500);
        assert!(!r.is_temporary());
        assert!(Refusal::new(451, "4.7.1", "", "").is_temporary());
        assert_eq!(r.to_string(), "Numéro refusé\r\nInjected: header Ask.");
    }

    /// The whole intake path for one message, as the SMTP listener drives it.
    #[test]
    fn one_message_through_every_decision() {
        let cfg: IntakeConfig = toml::from_str(
            r#"
            fax_domains = ["fax.example.ac.uk"]
            [dialplan]
            outside_line_prefix = "9"
            [senders]
            allowed = ["example.ac.uk"]
            trusted_relays = ["192.0.2.0/24"]
            "#,
        )
        .unwrap();
        cfg.validate().unwrap();
        let sender = Sender {
            address: "j.smith@example.ac.uk".into(),
            origin: Origin::Smtp {
                ip: "192.0.2.10".parse().unwrap(),
                auth_user: None,
                account_addresses: Vec::new(),
            },
        };
        // MAIL FROM
        authorise_sender(&cfg.senders, &sender).unwrap();
        check_quota(&Usage::default(), &cfg.quota.limits_for(&sender.address), 0).unwrap();
        // RCPT TO, three recipients
        let mut accepted = Vec::new();
        let mut refused = Vec::new();
        for rcpt in [
            "<\"+44 (0)1223 123456^standard\"@fax.example.ac.uk>",
            "<9-01223-654321@FAX.example.ac.uk>",
            "<9999@fax.example.ac.uk>",
            "<+33-1-23-45-67-89@fax.example.ac.uk>",
            "<01223123456@example.ac.uk>",
        ] {
            let decision = parse_recipient(rcpt, &cfg.fax_domains)
                .map_err(|e| e.refusal())
                .and_then(|a| {
                    let n = check_destination(
                        &cfg.destinations,
                        &cfg.dialplan,
                        &sender.address,
                        &a.number,
                    )?;
                    Ok((a, n))
                });
            match decision {
                Ok(ok) => accepted.push(ok),
                Err(r) => refused.push(r.smtp_line()),
            }
        }
        let dials: Vec<&str> = accepted.iter().map(|(_, n)| n.dial.as_str()).collect();
        assert_eq!(dials, ["+441223123456", "+441223654321"]);
        assert_eq!(accepted[0].0.options.resolution, Some(Resolution::Standard));
        assert_eq!(refused.len(), 3);
        assert!(
            refused[0].starts_with("550 5.7.1 9999 is an emergency number"),
            "{}",
            refused[0]
        );
        assert!(
            refused[1].contains("not allowed to send faxes abroad"),
            "{}",
            refused[1]
        );
        assert!(
            refused[2].starts_with("550 5.1.1 example.ac.uk is not a fax domain"),
            "{}",
            refused[2]
        );

        // DATA: the card number guard and the documents.
        let body = "Card for the deposit: 4111 1111 1111 1111.\n";
        let findings: Vec<(String, PanFinding)> = scan(body)
            .into_iter()
            .map(|f| ("the message text".to_string(), f))
            .collect();
        let r = check_pan(&cfg.pci, &sender.address, &findings).unwrap_err();
        assert!(r.reason.contains("ending **** 1111"));

        let clean = "Please fax the attached.\n";
        assert!(scan(clean).is_empty());
        let msg = InboundMessage {
            from: "Jane Smith <j.smith@example.ac.uk>",
            subject: Some("Order"),
            body_text: Some(clean),
            parts: vec![Part {
                filename: Some("order.pdf"),
                content_type: "application/pdf",
                inline: false,
                data: b"%PDF-1.4\n%%EOF\n",
            }],
            date: std::time::SystemTime::UNIX_EPOCH,
        };
        let plan = plan(&msg, &cfg.message).unwrap();
        let pages_per_recipient = 3;
        let total = pages_per_recipient * accepted.len() as u32;
        check_quota(
            &Usage::default(),
            &cfg.quota.limits_for(&sender.address),
            total,
        )
        .unwrap();
        let (addr, n) = &accepted[0];
        let cover = addr
            .options
            .cover
            .unwrap_or(cfg.cover_page)
            .then(|| plan.cover(&addr.number, n.e164.as_deref()));
        assert_eq!(cover.unwrap().to, "+44 (0)1223 123456 (+441223123456)");
    }
}
