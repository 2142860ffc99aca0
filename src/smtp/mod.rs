//! SMTP listener for email-to-fax: the site's mail relay forwards
//! `number@fax-domain` mail here.
//!
//! The listener speaks SMTP; what is accepted is decided by a
//! [`MailHandler`] (the intake pipeline), asked at each step so that
//! refusals happen at SMTP time with a reason, never by a silent drop:
//! the sender at `MAIL FROM` ([`MailHandler::check_sender`]), each
//! recipient at `RCPT TO` ([`MailHandler::check_recipient`]) and the whole
//! message after `DATA` ([`MailHandler::accept`]). A refusal becomes the
//! SMTP reply and the session goes on, so the relay bounces exactly the
//! refused part with the reason.
//!
//! The protocol itself (RFC 5321 with SIZE, 8BITMIME, PIPELINING,
//! ENHANCEDSTATUSCODES, STARTTLS and AUTH PLAIN/LOGIN) is a sans-IO state
//! machine (the `protocol` submodule); [`SmtpListener`] drives it on
//! tokio, one task per connection, with a connection limit, timeouts and
//! TLS (rustls).
//!
//! Who may send is decided in layers: the listener offers SMTP AUTH for the
//! configured `accounts` (passwords stored only as salted hashes, see
//! [`SmtpAccount`]) and can insist on TLS (`require_tls`); the handler then
//! judges the sender address, the client's IP (trusted relays) and the
//! authenticated user from [`SessionInfo`] — an account may use only its
//! own addresses ([`SmtpAccount::sender_addresses`]).
//!
//! What a stranger can cost is bounded before any of that (the `limits`
//! submodule): connection slots per client address, slots reserved for
//! trusted relays ([`MailHandler::is_trusted`]) and for clients that have
//! logged in or had a sender accepted, a short deadline
//! (`pre_mail_timeout_secs`) for doing either, disconnection after repeated
//! sender refusals, and per-address lockout and per-account slowdown of
//! password guessing, with the checks themselves on a bounded blocking
//! pool. What was refused is counted ([`counters`]) for `/metrics`.

mod addresses;
pub(crate) mod auth;
mod limits;
mod listener;
pub(crate) mod protocol;
mod refusal;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::problem::{Problem, Validate};

pub use addresses::{address_list_problems, is_plausible_domain};
pub use listener::{SmtpCounters, SmtpError, SmtpListener, counters};
pub use refusal::Refusal;

/// Largest `max_message_bytes` accepted: a message is held in memory while
/// it is received and checked.
pub const MAX_MESSAGE_BYTES_LIMIT: u64 = 1 << 30;

/// `[intake.smtp]`: the SMTP listener.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// Address to listen on; unset: no SMTP listener.
    pub listen: Option<SocketAddr>,
    /// Host name in the greeting and the `Received:` header; unset: the
    /// system's host name.
    pub hostname: Option<String>,
    /// Largest message accepted, in octets (announced as `SIZE`, RFC 1870).
    pub max_message_bytes: u64,
    /// Most recipients in one message; more get 452 and are sent by the
    /// relay in a later transaction. RFC 5321 §4.5.3.1.8 asks for at least 100.
    pub max_recipients: usize,
    /// Most SMTP connections at once; more get 421 and are retried by the relay.
    pub max_connections: usize,
    /// Of `max_connections`, how many only trusted relays (`[intake.senders]
    /// trusted_relays`) and clients that have authenticated or had a sender
    /// accepted may hold: strangers share the rest. Unset: a fifth of
    /// `max_connections` ([`SmtpConfig::reserved`]).
    pub reserved_connections: Option<usize>,
    /// Most connections at once from one client address (IPv6: one /64)
    /// that have not yet authenticated or had a sender accepted; more get
    /// 421. Trusted relays are not limited.
    pub max_connections_per_address: usize,
    /// Seconds a client has, from connecting, to authenticate or have a
    /// sender accepted at `MAIL FROM`; then 421 and close. Trusted relays
    /// have `command_timeout_secs` throughout.
    pub pre_mail_timeout_secs: u64,
    /// Senders refused at `MAIL FROM` in one connection after which the
    /// connection is closed with 421 (trusted relays, which send for many
    /// people, are exempt).
    pub max_sender_refusals: u32,
    /// Failed AUTH attempts within `auth_window_secs` after which a client
    /// address is locked out (454 4.7.0 without checking the password) and
    /// an account's further attempts are delayed.
    pub auth_max_failures: u32,
    /// The window in which failed AUTH attempts are counted, in seconds.
    pub auth_window_secs: u64,
    /// The delay, in milliseconds, before checking a password for an account
    /// with `auth_max_failures` recent failures; it doubles with each
    /// further failure, up to 32 times this and at most a minute.
    pub auth_delay_ms: u64,
    /// Password checks run at once (each takes tens of milliseconds of CPU
    /// and, for Argon2, 19 MiB of memory); more wait their turn.
    pub auth_concurrency: usize,
    /// Protocol errors (unknown commands, bad syntax, failed AUTH) after
    /// which a connection is closed with 421.
    pub max_errors: u32,
    /// Seconds to wait for the next command (RFC 5321 §4.5.3.2.7: 5 minutes).
    pub command_timeout_secs: u64,
    /// Seconds to wait for the next piece of message data after `DATA`
    /// (RFC 5321 §4.5.3.2.5: 3 minutes per data block).
    pub data_timeout_secs: u64,
    /// PEM certificate chain for STARTTLS (with `tls_key`).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for STARTTLS (with `tls_cert`).
    pub tls_key: Option<PathBuf>,
    /// Refuse `MAIL` (530) until the client has done STARTTLS.
    pub require_tls: bool,
    /// Offer AUTH on connections without TLS too (passwords in clear; only
    /// for a relay on a trusted network).
    pub allow_plain_auth: bool,
    /// Accounts for SMTP AUTH; AUTH is offered only when there is one.
    pub accounts: Vec<SmtpAccount>,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            listen: None,
            hostname: None,
            max_message_bytes: 25 * 1024 * 1024,
            max_recipients: 100,
            max_connections: 100,
            reserved_connections: None,
            max_connections_per_address: 10,
            pre_mail_timeout_secs: 30,
            max_sender_refusals: 3,
            auth_max_failures: 5,
            auth_window_secs: 900,
            auth_delay_ms: 1000,
            auth_concurrency: 2,
            max_errors: 10,
            command_timeout_secs: 300,
            data_timeout_secs: 180,
            tls_cert: None,
            tls_key: None,
            require_tls: false,
            allow_plain_auth: false,
            accounts: Vec::new(),
        }
    }
}

/// `[[intake.smtp.accounts]]`: one SMTP AUTH account.
///
/// The password is stored only as a salted hash: the `$argon2id$…` line
/// that `faxbridge passwd` prints, or an older
/// `pbkdf2-sha256$ITERATIONS$SALT$HEX` with at least 100,000 iterations
/// (see [`crate::password`]).
///
/// An account speaks only for the addresses it lists: a message whose
/// `MAIL FROM` is not one of them is refused (550 5.7.1), since everything
/// that depends on who sent a fax (`[intake.senders] allowed`, quotas,
/// international faxes, the card-number exemption, the delivery report)
/// reads that address.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpAccount {
    /// The user name given in AUTH (compared exactly).
    pub username: String,
    /// The password hash, as above.
    pub password_hash: String,
    /// The sender addresses this account may use, in the forms of
    /// `[intake.senders] allowed` (`user@example.ac.uk`, `example.ac.uk`,
    /// `*.example.ac.uk`). Empty: the user name, when it is an address.
    #[serde(default)]
    pub addresses: Vec<String>,
}

impl SmtpAccount {
    /// The sender addresses (list forms) this account may use: `addresses`,
    /// else the user name when it is a mail address, else none.
    pub fn sender_addresses(&self) -> Vec<String> {
        if !self.addresses.is_empty() {
            self.addresses.clone()
        } else if self.username.contains('@') {
            vec![self.username.clone()]
        } else {
            Vec::new()
        }
    }
}

impl fmt::Debug for SmtpAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The hash allows offline guessing: keep it out of logs.
        f.debug_struct("SmtpAccount")
            .field("username", &self.username)
            .field("password_hash", &"***")
            .field("addresses", &self.addresses)
            .finish()
    }
}

impl SmtpConfig {
    /// The connection slots kept for trusted relays and proven clients:
    /// `reserved_connections`, or a fifth of `max_connections`.
    pub fn reserved(&self) -> usize {
        self.reserved_connections
            .unwrap_or(self.max_connections / 5)
    }
}

impl Validate for SmtpConfig {
    /// Check the values the types cannot; each problem names its key
    /// (`intake.smtp.…`) and the fix. Certificate and key files are read
    /// when the listener is bound ([`SmtpListener::bind`]).
    fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, problem: String, fix: &str| {
            problems.push(Problem {
                key: format!("intake.smtp.{key}"),
                problem,
                fix: fix.to_string(),
            })
        };
        if let Some(h) = &self.hostname
            && (h.is_empty() || !h.chars().all(|c| c.is_ascii_graphic()))
        {
            bad(
                "hostname",
                format!("{h:?} is not a host name"),
                "write the name the relay knows this host by, e.g. \"fax.example.org\", or leave it out",
            );
        }
        if self.max_message_bytes == 0 {
            bad(
                "max_message_bytes",
                "is 0, so every message would be refused".into(),
                "set a limit such as 26214400 (25 MiB)",
            );
        } else if self.max_message_bytes > MAX_MESSAGE_BYTES_LIMIT {
            bad(
                "max_message_bytes",
                format!(
                    "is {}, more than {MAX_MESSAGE_BYTES_LIMIT} (messages are held in memory)",
                    self.max_message_bytes
                ),
                "set a limit such as 26214400 (25 MiB)",
            );
        }
        for (key, value, example) in [
            ("max_recipients", self.max_recipients as u64, "100"),
            ("max_connections", self.max_connections as u64, "100"),
            ("max_errors", u64::from(self.max_errors), "10"),
            ("command_timeout_secs", self.command_timeout_secs, "300"),
            ("data_timeout_secs", self.data_timeout_secs, "180"),
            (
                "max_connections_per_address",
                self.max_connections_per_address as u64,
                "10",
            ),
            ("pre_mail_timeout_secs", self.pre_mail_timeout_secs, "30"),
            (
                "max_sender_refusals",
                u64::from(self.max_sender_refusals),
                "3",
            ),
            ("auth_max_failures", u64::from(self.auth_max_failures), "5"),
            ("auth_window_secs", self.auth_window_secs, "900"),
            ("auth_delay_ms", self.auth_delay_ms, "1000"),
            ("auth_concurrency", self.auth_concurrency as u64, "2"),
        ] {
            if value == 0 {
                bad(
                    key,
                    "is 0".into(),
                    &format!("set it to a positive number such as {example}"),
                );
            }
        }
        if self.max_connections > 0 && self.reserved() >= self.max_connections {
            bad(
                "reserved_connections",
                format!(
                    "is {}, not fewer than max_connections ({}), so no client from an untrusted address could ever connect",
                    self.reserved(),
                    self.max_connections
                ),
                "set it to a fraction of max_connections, e.g. 20 of 100",
            );
        }
        if self.auth_delay_ms > 60_000 {
            bad(
                "auth_delay_ms",
                format!(
                    "is {}, more than a minute before each password check",
                    self.auth_delay_ms
                ),
                "set at most 60000 (one minute), e.g. 1000",
            );
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => bad(
                "tls_key",
                "is not set, but tls_cert is".into(),
                "set tls_key to the PEM file of the certificate's private key",
            ),
            (None, Some(_)) => bad(
                "tls_cert",
                "is not set, but tls_key is".into(),
                "set tls_cert to the PEM certificate chain for the key",
            ),
            _ => {}
        }
        if self.require_tls && self.tls_cert.is_none() {
            bad(
                "require_tls",
                "is true, but no certificate is configured, so no client could ever send".into(),
                "set tls_cert and tls_key, or set require_tls = false",
            );
        }
        if !self.accounts.is_empty() && self.tls_cert.is_none() && !self.allow_plain_auth {
            bad(
                "accounts",
                "are configured, but AUTH is offered only after STARTTLS and no certificate is configured".into(),
                "set tls_cert and tls_key (or, on a trusted network only, allow_plain_auth = true)",
            );
        }
        if self.allow_plain_auth && self.require_tls {
            bad(
                "allow_plain_auth",
                "is true while require_tls is true, which never lets AUTH run without TLS".into(),
                "remove allow_plain_auth",
            );
        }
        for (i, account) in self.accounts.iter().enumerate() {
            let key = format!("accounts[{i}]");
            let u = &account.username;
            if u.is_empty() || u.chars().any(|c| c.is_control() || c.is_whitespace()) {
                bad(
                    &format!("{key}.username"),
                    format!("{u:?} is empty or has spaces or control characters"),
                    "write a user name such as \"relay\"",
                );
            }
            if self.accounts[..i].iter().any(|a| &a.username == u) {
                bad(
                    &format!("{key}.username"),
                    format!("{u:?} is listed twice"),
                    "remove one of the two accounts",
                );
            }
            if let Some(e) = crate::password::problem(&account.password_hash) {
                bad(&format!("{key}.password_hash"), e, crate::password::FIX);
            }
            for (entry, problem) in
                address_list_problems(&format!("{key}.addresses"), &account.addresses)
            {
                bad(
                    &entry,
                    problem,
                    "list addresses or domains, e.g. addresses = [\"j.smith@example.ac.uk\"] or [\"example.ac.uk\"]",
                );
            }
            if account.sender_addresses().is_empty() {
                bad(
                    &format!("{key}.addresses"),
                    format!(
                        "is empty and the user name {u:?} is not a mail address, so every message from this account would be refused"
                    ),
                    "list the sender addresses or domains the account sends as, e.g. addresses = [\"example.ac.uk\"] for a mail server that sends for the whole domain",
                );
            }
        }
        problems
    }
}

/// What the listener knows about the client when it asks the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The client's address.
    pub peer: SocketAddr,
    /// The name given in EHLO/HELO.
    pub helo: String,
    /// Whether the session runs under TLS (STARTTLS done).
    pub tls: bool,
    /// The user name the client authenticated as (SMTP AUTH), if any.
    pub authenticated: Option<String>,
}

/// One message as received: envelope and raw RFC 5322 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The envelope sender (MAIL FROM), empty for the null sender `<>`.
    pub mail_from: String,
    /// The envelope recipients (RCPT TO) the handler accepted, in order.
    pub recipients: Vec<String>,
    /// The message exactly as received (dot-unstuffed, CRLF line ends),
    /// with the listener's `Received:` header prepended.
    pub data: Vec<u8>,
}

/// What the handler did with an accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Ids of the fax jobs queued (one per recipient).
    pub jobs: Vec<String>,
}

/// The decisions the SMTP listener asks for; implemented by the intake
/// pipeline. Each refusal becomes the SMTP reply (its code, enhanced code
/// and reason).
#[async_trait::async_trait]
pub trait MailHandler: Send + Sync + 'static {
    /// Whether `client` is a trusted relay: it may use the reserved
    /// connection slots, is not limited per address, and keeps the full
    /// command timeout from the start. Default: nobody.
    fn is_trusted(&self, client: std::net::IpAddr) -> bool {
        let _ = client;
        false
    }
    /// MAIL FROM: may this sender send, from this client?
    async fn check_sender(&self, session: &SessionInfo, mail_from: &str) -> Result<(), Refusal>;
    /// RCPT TO: is this a fax address we can dial for this sender?
    async fn check_recipient(
        &self,
        session: &SessionInfo,
        mail_from: &str,
        recipient: &str,
    ) -> Result<(), Refusal>;
    /// End of DATA: render and queue, or refuse the whole message. Only
    /// return `Ok` once every job is committed to the store.
    async fn accept(
        &self,
        session: &SessionInfo,
        message: ReceivedMessage,
    ) -> Result<Accepted, Refusal>;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PBKDF2 with 100,000 iterations: accepted.
    const GOOD_HASH: &str = "pbkdf2-sha256$100000$0a1b2c3d4e5f6071$37AAD17F6B9872311D002DAAE7EFFBB95A25CF9A8A2EB113D1C2B9C10E556F18";

    fn keys(c: &SmtpConfig) -> Vec<String> {
        c.problems().into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn defaults_follow_rfc_5321_and_validate() {
        let c: SmtpConfig = toml::from_str("").unwrap();
        assert_eq!(c, SmtpConfig::default());
        assert!(c.problems().is_empty());
        assert_eq!(c.reserved(), 20, "a fifth of the 100 connections");
        let small = SmtpConfig {
            max_connections: 4,
            ..SmtpConfig::default()
        };
        assert_eq!(small.reserved(), 0);
        assert!(small.problems().is_empty());
        assert_eq!(c.command_timeout_secs, 300);
        assert_eq!(c.data_timeout_secs, 180);
        assert_eq!(c.max_recipients, 100);
    }

    #[test]
    fn a_full_section_parses() {
        let c: SmtpConfig = toml::from_str(
            r#"
            listen = "0.0.0.0:2525"
            hostname = "fax.example.org"
            max_message_bytes = 10485760
            max_recipients = 50
            max_connections = 20
            max_errors = 5
            command_timeout_secs = 120
            data_timeout_secs = 60
            tls_cert = "/etc/faxbridge/smtp.crt"
            tls_key = "/etc/faxbridge/smtp.key"
            require_tls = true
            reserved_connections = 5
            max_connections_per_address = 4
            pre_mail_timeout_secs = 20
            max_sender_refusals = 2
            auth_max_failures = 3
            auth_window_secs = 600
            auth_delay_ms = 500
            auth_concurrency = 1
            [[accounts]]
            username = "relay"
            password_hash = "pbkdf2-sha256$100000$0a1b2c3d$940DD54B117167A8A9DBFD6F73B02345EAE6B1266FA69D623A52F5043D9E1C85"
            addresses = ["example.ac.uk"]
            [[accounts]]
            username = "j.smith@example.ac.uk"
            password_hash = "$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo"
            "#,
        )
        .unwrap();
        assert!(c.problems().is_empty(), "{:?}", c.problems());
        assert_eq!(c.accounts[0].username, "relay");
        assert_eq!(c.accounts[0].sender_addresses(), ["example.ac.uk"]);
        assert_eq!(c.accounts[1].sender_addresses(), ["j.smith@example.ac.uk"]);
        assert_eq!((c.reserved(), c.max_connections_per_address), (5, 4));
        assert_eq!((c.auth_max_failures, c.auth_delay_ms), (3, 500));
        assert!(!format!("{c:?}").contains("940DD54B"));
        let e = toml::from_str::<SmtpConfig>("[[accounts]]\nusername = \"a\"\npassword = \"x\"")
            .unwrap_err();
        assert!(e.to_string().contains("password"), "{e}");
    }

    #[test]
    fn every_unusable_value_is_named() {
        let c = SmtpConfig {
            hostname: Some("bad host".into()),
            max_message_bytes: 0,
            max_recipients: 0,
            max_connections: 0,
            max_errors: 0,
            command_timeout_secs: 0,
            data_timeout_secs: 0,
            tls_cert: Some("/c.pem".into()),
            require_tls: true,
            allow_plain_auth: true,
            accounts: vec![
                SmtpAccount {
                    username: "a b".into(),
                    password_hash: "secret".into(),
                    addresses: vec!["example.org".into()],
                },
                SmtpAccount {
                    username: "a b".into(),
                    password_hash: "sha256$s$00".into(),
                    addresses: vec!["example.org".into()],
                },
            ],
            ..SmtpConfig::default()
        };
        assert_eq!(
            keys(&c),
            [
                "intake.smtp.hostname",
                "intake.smtp.max_message_bytes",
                "intake.smtp.max_recipients",
                "intake.smtp.max_connections",
                "intake.smtp.max_errors",
                "intake.smtp.command_timeout_secs",
                "intake.smtp.data_timeout_secs",
                "intake.smtp.tls_key",
                "intake.smtp.allow_plain_auth",
                "intake.smtp.accounts[0].username",
                "intake.smtp.accounts[0].password_hash",
                "intake.smtp.accounts[1].username",
                "intake.smtp.accounts[1].username",
                "intake.smtp.accounts[1].password_hash",
            ]
        );
        assert!(c.problems().iter().all(|p| !p.fix.is_empty()));

        let c = SmtpConfig {
            tls_key: Some("/k.pem".into()),
            require_tls: true,
            max_message_bytes: MAX_MESSAGE_BYTES_LIMIT + 1,
            accounts: vec![SmtpAccount {
                username: "relay".into(),
                password_hash: GOOD_HASH.into(),
                addresses: vec!["example.org".into()],
            }],
            ..SmtpConfig::default()
        };
        assert_eq!(
            keys(&c),
            [
                "intake.smtp.max_message_bytes",
                "intake.smtp.tls_cert",
                "intake.smtp.require_tls",
                "intake.smtp.accounts",
            ]
        );
    }
    #[test]
    fn weak_hashes_and_accounts_without_addresses_are_refused_with_a_fix() {
        let c = SmtpConfig {
            allow_plain_auth: true,
            accounts: vec![
                SmtpAccount {
                    username: "relay".into(),
                    password_hash: GOOD_HASH.replace("$100000$", "$20000$"),
                    addresses: vec![],
                },
                SmtpAccount {
                    username: "old".into(),
                    password_hash: format!("sha256$s${}", "0".repeat(64)),
                    addresses: vec!["not a domain".into()],
                },
                SmtpAccount {
                    username: "j.smith@example.ac.uk".into(),
                    password_hash: GOOD_HASH.into(),
                    addresses: vec![],
                },
            ],
            ..SmtpConfig::default()
        };
        let problems = c.problems();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "intake.smtp.accounts[0].password_hash",
                "intake.smtp.accounts[0].addresses",
                "intake.smtp.accounts[1].password_hash",
                "intake.smtp.accounts[1].addresses[0]",
            ]
        );
        assert!(problems[0].problem.contains("only 20000 PBKDF2 iterations"));
        assert!(problems[0].fix.contains("faxbridge passwd"));
        assert!(
            problems[1]
                .problem
                .contains("\"relay\" is not a mail address")
        );
        assert!(problems[2].problem.contains("plain salted SHA-256"));
        assert!(problems[2].fix.contains("faxbridge passwd"));
    }

    #[test]
    fn connection_and_auth_limits_must_leave_room() {
        let c = SmtpConfig {
            max_connections: 10,
            reserved_connections: Some(10),
            max_connections_per_address: 0,
            pre_mail_timeout_secs: 0,
            max_sender_refusals: 0,
            auth_max_failures: 0,
            auth_window_secs: 0,
            auth_delay_ms: 60_001,
            auth_concurrency: 0,
            ..SmtpConfig::default()
        };
        assert_eq!(
            keys(&c),
            [
                "intake.smtp.max_connections_per_address",
                "intake.smtp.pre_mail_timeout_secs",
                "intake.smtp.max_sender_refusals",
                "intake.smtp.auth_max_failures",
                "intake.smtp.auth_window_secs",
                "intake.smtp.auth_concurrency",
                "intake.smtp.reserved_connections",
                "intake.smtp.auth_delay_ms",
            ]
        );
        assert!(c.problems().iter().all(|p| !p.fix.is_empty()));
    }
}
