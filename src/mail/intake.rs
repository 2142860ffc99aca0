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
//! authenticated user from [`SessionInfo`].

pub(crate) mod auth;
mod listener;
pub(crate) mod protocol;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::config::Problem;
use crate::intake::Refusal;

pub use listener::{SmtpError, SmtpListener};

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
/// The password is stored only as a salted hash, in one of two forms:
///
/// * `pbkdf2-sha256$ITERATIONS$SALT$HEX` (recommended): PBKDF2-HMAC-SHA256
///   with a 32-byte key. With a random salt:
///   ```sh
///   SALT=$(openssl rand -hex 8)
///   KEY=$(openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt pass:'PASSWORD' \
///         -kdfopt salt:$SALT -kdfopt iter:100000 PBKDF2 | tr -d :)
///   echo "pbkdf2-sha256\$100000\$$SALT\$$KEY"
///   ```
/// * `sha256$SALT$HEX`: SHA-256 of the salt followed by the password,
///   `printf '%s%s' "$SALT" 'PASSWORD' | sha256sum`. Cheap to guess: use
///   only with long random passwords.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpAccount {
    /// The user name given in AUTH (compared exactly).
    pub username: String,
    /// The password hash, as above.
    pub password_hash: String,
}

impl fmt::Debug for SmtpAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The hash allows offline guessing: keep it out of logs.
        f.debug_struct("SmtpAccount")
            .field("username", &self.username)
            .field("password_hash", &"***")
            .finish()
    }
}

impl SmtpConfig {
    /// Check the values the types cannot; each problem names its key
    /// (`intake.smtp.…`) and the fix. Certificate and key files are read
    /// when the listener is bound ([`SmtpListener::bind`]).
    pub fn problems(&self) -> Vec<Problem> {
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
        ] {
            if value == 0 {
                bad(
                    key,
                    "is 0".into(),
                    &format!("set it to a positive number such as {example}"),
                );
            }
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
            if let Err(e) = auth::PasswordHash::parse(&account.password_hash) {
                bad(
                    &format!("{key}.password_hash"),
                    e,
                    "write \"pbkdf2-sha256$ITERATIONS$SALT$HEX\" as made by openssl kdf (see config/faxbridge.example.toml)",
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

    fn keys(c: &SmtpConfig) -> Vec<String> {
        c.problems().into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn defaults_follow_rfc_5321_and_validate() {
        let c: SmtpConfig = toml::from_str("").unwrap();
        assert_eq!(c, SmtpConfig::default());
        assert!(c.problems().is_empty());
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
            [[accounts]]
            username = "relay"
            password_hash = "pbkdf2-sha256$100000$0a1b2c3d$940DD54B117167A8A9DBFD6F73B02345EAE6B1266FA69D623A52F5043D9E1C85"
            "#,
        )
        .unwrap();
        assert!(c.problems().is_empty(), "{:?}", c.problems());
        assert_eq!(c.accounts[0].username, "relay");
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
                },
                SmtpAccount {
                    username: "a b".into(),
                    password_hash: "sha256$s$00".into(),
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
                password_hash: format!("sha256$s${}", "0".repeat(64)),
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
}
