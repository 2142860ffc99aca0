//! Fax-to-email: durable delivery of received faxes to mailboxes.
//!
//! After the fax engine has written a received fax to the spool (a G4 TIFF
//! plus a [`ReceivedFax`] record), [`Outbox::deliver_received_fax`] takes it
//! through a pipeline that follows the Postfix queue discipline, *durable
//! before visible*:
//!
//! 1. the fax is recorded in the [`Store`](crate::store::Store) before
//!    anything else happens;
//! 2. the TIFF is converted to a PDF and a first-page thumbnail, written into
//!    the spool (temporary file, fsync, rename);
//! 3. one RFC 5322 message per recipient is built ([`message`]) and written
//!    to the spool (fsynced), then one outbox row per recipient is inserted in
//!    the same transaction that marks the fax queued;
//! 4. the delivery worker ([`Outbox::run_worker`]) sends due rows to the
//!    configured SMTP relay, or into a local Maildir when no relay is set,
//!    retrying temporary failures with exponential backoff and moving rows
//!    that cannot be delivered to a visible dead-letter state.
//!
//! Every state change is committed before it is acted upon, so a process
//! killed at any point (SIGKILL, power loss) leaves a state that
//! [`Outbox::recover`] finishes at the next start.
//!
//! **Delivery is at least once.** A message whose send was in progress when
//! the process died is sent again after recovery, because the outcome of an
//! interrupted SMTP transaction cannot be known (RFC 5321 §6.1 accepts the
//! resulting duplicate). Each message carries a stable `Message-ID`, so mail
//! clients and archives can recognise the duplicate.

pub mod alert;
pub mod message;
pub mod outbox;

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::problem::{Problem, Validate};

pub use outbox::{
    DeliveryState, Failure, OutageAlert, Outbox, OutboxCounters, OutboxEntry, OutgoingMessage,
    PreparedMessage, RecoveryReport, RetryDecision, RetryPolicy, outage_alert, outage_check_in,
};

/// Install rustls' *ring* crypto provider as the process default.
///
/// Call once at daemon start, before any TLS is used. Several crates in the
/// tree use rustls; if two different providers were enabled, rustls would
/// refuse to choose one and panic at first use, so the daemon names ring
/// explicitly. Returns `false` if a provider was already installed (which is
/// harmless).
pub fn install_crypto_provider() -> bool {
    rustls::crypto::ring::default_provider()
        .install_default()
        .is_ok()
}

/// `[mail]`: where received faxes are mailed from and how.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// Sender of fax emails (`From:` and SMTP envelope sender), e.g.
    /// `"Fax Service <fax@example.org>"`.
    pub from: String,
    /// SMTP relay to send through. Without one, mail is delivered into the
    /// Maildir `spool/maildir` (for tests and single-host setups).
    pub relay: Option<RelayConfig>,
    /// Delay before the first retry after a temporary failure, in seconds.
    pub retry_initial_secs: u64,
    /// Longest delay between retries, in seconds; the delay doubles up to it.
    pub retry_max_secs: u64,
    /// Attempts per message before it is given up (dead letter).
    pub max_attempts: u32,
    /// Age after which a message still not delivered is given up, in seconds.
    pub max_age_secs: u64,
    /// Once the oldest message not yet delivered has waited this long (in
    /// seconds), one alert is raised for the outage (logged at ERROR and
    /// sent through `[alerts]`), and a line is logged when it clears; 0: no
    /// alert.
    pub alert_after_secs: u64,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            from: "Fax <faxbridge@localhost>".to_string(),
            relay: None,
            retry_initial_secs: 60,
            retry_max_secs: 3600,
            max_attempts: 50,
            // Postfix's maximal_queue_lifetime: 5 days.
            max_age_secs: 5 * 24 * 3600,
            alert_after_secs: 3600,
        }
    }
}

/// How the connection to the relay is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RelayTls {
    /// Plain connection, then STARTTLS (RFC 3207), which must succeed;
    /// usually port 587.
    #[default]
    Starttls,
    /// STARTTLS when the relay offers it, plain text otherwise. Only for
    /// relays on a trusted network.
    Opportunistic,
    /// TLS from the first byte ("implicit TLS", RFC 8314); usually port 465.
    Tls,
    /// No encryption at all. Only for a relay on the same host.
    None,
}

impl RelayTls {
    /// The configuration word.
    pub fn as_str(self) -> &'static str {
        match self {
            RelayTls::Starttls => "starttls",
            RelayTls::Opportunistic => "opportunistic",
            RelayTls::Tls => "tls",
            RelayTls::None => "none",
        }
    }

    /// Whether every byte after the greeting is encrypted, so the relay
    /// password may be sent: `opportunistic` falls back to plain text when
    /// the relay (or someone in between) leaves STARTTLS out.
    pub fn protects_password(self) -> bool {
        matches!(self, RelayTls::Starttls | RelayTls::Tls)
    }

    /// The usual port for this kind of connection.
    pub fn default_port(self) -> u16 {
        match self {
            RelayTls::Starttls | RelayTls::Opportunistic => 587,
            RelayTls::Tls => 465,
            RelayTls::None => 25,
        }
    }
}

/// `[mail.relay]`: the SMTP server that takes fax emails.
#[derive(Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    /// Host name (checked against the certificate) or IP address.
    pub host: String,
    /// TCP port; defaults from `tls`: 587, 465 or 25.
    #[serde(default)]
    pub port: Option<u16>,
    /// Connection security: `"starttls"`, `"opportunistic"`, `"tls"`, `"none"`.
    #[serde(default)]
    pub tls: RelayTls,
    /// User name for SMTP AUTH (with `password`).
    #[serde(default)]
    pub username: Option<String>,
    /// Password for SMTP AUTH (with `username`).
    #[serde(default)]
    pub password: Option<String>,
    /// PEM file of extra CA certificates to trust (a private relay's CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Seconds to wait for the relay to connect; a whole attempt is given
    /// up after five times this (the SMTP client times out only the
    /// connect, so a relay that goes silent is caught by that bound).
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_timeout_secs() -> u64 {
    60
}

impl RelayConfig {
    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or_else(|| self.tls.default_port())
    }
}

impl fmt::Debug for RelayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the password (configs end up in logs and bug reports).
        f.debug_struct("RelayConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("ca_file", &self.ca_file)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

impl MailConfig {
    /// The retry policy these settings describe.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_secs(self.retry_initial_secs.max(1)),
            max: Duration::from_secs(self.retry_max_secs.max(self.retry_initial_secs.max(1))),
            max_attempts: self.max_attempts.max(1),
            max_age: Duration::from_secs(self.max_age_secs),
        }
    }
}

impl Validate for MailConfig {
    /// Check the values the types cannot; each problem names its key and fix.
    fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, problem: String, fix: &str| {
            problems.push(Problem {
                key: key.to_string(),
                problem,
                fix: fix.to_string(),
            })
        };
        if let Err(e) = self.from.parse::<lettre::message::Mailbox>() {
            bad(
                "mail.from",
                format!("{:?} is not a valid mail address ({e})", self.from),
                "write an address such as \"Fax Service <fax@example.org>\"",
            );
        }
        if self.retry_initial_secs == 0 {
            bad(
                "mail.retry_initial_secs",
                "is 0, which would retry a failing relay in a tight loop".into(),
                "set a delay such as 60",
            );
        }
        if self.retry_max_secs < self.retry_initial_secs {
            bad(
                "mail.retry_max_secs",
                format!(
                    "is {}, less than mail.retry_initial_secs ({})",
                    self.retry_max_secs, self.retry_initial_secs
                ),
                "set it at least as large as retry_initial_secs, e.g. 3600",
            );
        }
        if self.max_attempts == 0 {
            bad(
                "mail.max_attempts",
                "is 0, so no fax email would ever be sent".into(),
                "set a number of attempts such as 50",
            );
        }
        if self.max_age_secs < self.retry_initial_secs {
            bad(
                "mail.max_age_secs",
                format!(
                    "is {} seconds, shorter than the first retry delay",
                    self.max_age_secs
                ),
                "set it to days, e.g. 432000 (5 days)",
            );
        }
        if self.alert_after_secs != 0 && self.alert_after_secs >= self.max_age_secs {
            bad(
                "mail.alert_after_secs",
                format!(
                    "is {}, not less than mail.max_age_secs ({}), so mail would be given up before anyone is alerted",
                    self.alert_after_secs, self.max_age_secs
                ),
                "set it well below max_age_secs, e.g. 3600 (one hour), or 0 for no alert",
            );
        }
        if let Some(relay) = &self.relay {
            if relay.host.trim().is_empty() || relay.host.contains(char::is_whitespace) {
                bad(
                    "mail.relay.host",
                    format!("{:?} is not a host name", relay.host),
                    "write the relay's host name, e.g. \"smtp.example.org\", or remove \
                     [mail.relay] to deliver into the local Maildir",
                );
            }
            if relay.port == Some(0) {
                bad(
                    "mail.relay.port",
                    "is 0".into(),
                    "use 587 (starttls), 465 (tls) or 25, or leave it out",
                );
            }
            if relay.username.is_some() != relay.password.is_some() {
                bad(
                    "mail.relay.username",
                    "is set without mail.relay.password, or the other way round".into(),
                    "set both (SMTP AUTH) or neither",
                );
            }
            if (relay.username.is_some() || relay.password.is_some())
                && !relay.tls.protects_password()
            {
                bad(
                    "mail.relay.tls",
                    format!(
                        "is \"{}\" while mail.relay.password is set: the password could be sent \
                         in clear",
                        relay.tls.as_str()
                    ),
                    "set tls = \"starttls\" (port 587) or \"tls\" (port 465), or remove username \
                     and password from [mail.relay]",
                );
            }
            if relay.timeout_secs == 0 {
                bad(
                    "mail.relay.timeout_secs",
                    "is 0".into(),
                    "set a timeout such as 60",
                );
            }
        }
        problems
    }
}

/// A fax the fax engine has received and written to the spool.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedFax {
    /// Unique identifier, used in spool file names and the `Message-ID`:
    /// 1–100 characters of ASCII letters, digits, `.`, `_` and `-`, not
    /// starting with `.`.
    pub id: String,
    /// The received pages: a TIFF written by the fax engine (G4, one strip
    /// per page).
    pub tiff: PathBuf,
    /// Calling number (SIP From user / CLI), empty if withheld.
    pub caller: String,
    /// Called number (DID) the fax was sent to.
    pub called: String,
    /// Remote station identifier (T.30 CSI/TSI), empty if none was sent.
    pub remote_csi: String,
    /// Pages received and kept in the TIFF.
    pub pages_received: u32,
    /// Pages the sender meant to send, when known (T.30 does not announce a
    /// total; the engine knows it only when the call ended normally).
    pub pages_expected: Option<u32>,
    /// When the call was answered.
    pub started_at: SystemTime,
    /// Call duration.
    pub duration: Duration,
    /// Last negotiated signalling rate, bits per second.
    pub bit_rate: u32,
    /// Whether error-correction mode (T.30 Annex A) was used.
    pub ecm: bool,
    /// Outcome in plain words, e.g. "Received all pages" or "The line
    /// dropped after page 2".
    pub result: String,
    /// Whether the fax was received completely.
    pub success: bool,
}

/// Where a received fax is mailed: `[routes.NAME]` of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// One or more mailboxes, e.g. `"Accounts <accounts@example.org>"`.
    pub mailboxes: Vec<String>,
    /// Attach the original TIFF beside the PDF.
    #[serde(default)]
    pub attach_tiff: bool,
}

/// Why fax mail could not be accepted, built or stored.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The database failed.
    #[error("database error while {action}: {source}; check the disk and the database file")]
    Db {
        /// What was being done.
        action: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A spool file could not be read or written.
    #[error("cannot {action} {path}: {source}; check the spool's permissions and free space")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The fax identifier cannot be used in spool file names.
    #[error(
        "fax id {0:?} is not valid: use 1-100 ASCII letters, digits, '.', '_' or '-', not \
         starting with '.'"
    )]
    BadFaxId(String),
    /// A recipient or sender address does not parse.
    #[error("{address:?} is not a valid mail address ({reason}); correct the route or [mail] from")]
    BadAddress {
        /// The address as written.
        address: String,
        /// The parser's reason.
        reason: String,
    },
    /// The route names no mailbox.
    #[error("the route for fax {0} names no mailbox; add at least one address")]
    NoRecipients(String),
    /// The same fax id was recorded before with different data.
    #[error(
        "fax {0} is already recorded with a different TIFF; the fax engine must give each fax a \
         unique id"
    )]
    DuplicateFax(String),
    /// The message could not be assembled.
    #[error("cannot build the email for fax {fax}: {reason}")]
    Build {
        /// The fax.
        fax: String,
        /// What failed.
        reason: String,
    },
    /// The relay settings cannot be used (e.g. an unreadable CA file).
    #[error("mail relay settings cannot be used: {0}; fix [mail.relay]")]
    Relay(String),
    /// A message to queue by key has a kind or key that cannot name a
    /// spool file.
    #[error("cannot queue the message: {0}")]
    BadMessageKey(String),
}

impl MailError {
    /// The disk (spool or database) is full: the same work may succeed
    /// once space is freed.
    pub fn is_storage_full(&self) -> bool {
        match self {
            MailError::Db { source, .. } => crate::spool::is_sqlite_full(source),
            MailError::Io { source, .. } => crate::spool::is_storage_full(source),
            MailError::Build { reason, .. } => reason.contains("No space left on device"),
            _ => false,
        }
    }

    pub(crate) fn db(action: &'static str) -> impl FnOnce(sqlx::Error) -> MailError {
        move |source| MailError::Db { action, source }
    }

    pub(crate) fn io(
        action: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> MailError {
        let path = path.to_path_buf();
        move |source| MailError::Io {
            action,
            path,
            source,
        }
    }
}

/// Whether `id` may be used as a fax identifier (and so in file names).
pub(crate) fn valid_fax_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        assert!(MailConfig::default().problems().is_empty());
    }

    #[test]
    fn bad_values_name_key_and_fix() {
        let c = MailConfig {
            from: "not an address".into(),
            retry_initial_secs: 0,
            max_attempts: 0,
            relay: Some(RelayConfig {
                host: "".into(),
                port: Some(0),
                tls: RelayTls::None,
                username: Some("u".into()),
                password: None,
                ca_file: None,
                timeout_secs: 0,
            }),
            ..MailConfig::default()
        };
        let keys: Vec<String> = c.problems().into_iter().map(|p| p.key).collect();
        for k in [
            "mail.from",
            "mail.retry_initial_secs",
            "mail.max_attempts",
            "mail.relay.host",
            "mail.relay.port",
            "mail.relay.username",
            "mail.relay.tls",
            "mail.relay.timeout_secs",
        ] {
            assert!(keys.iter().any(|x| x == k), "{k} missing from {keys:?}");
        }
    }

    #[test]
    fn the_outage_alert_must_come_before_mail_is_given_up() {
        assert_eq!(MailConfig::default().alert_after_secs, 3600);
        let keys = |alert_after_secs, max_age_secs| -> Vec<String> {
            MailConfig {
                alert_after_secs,
                max_age_secs,
                ..MailConfig::default()
            }
            .problems()
            .into_iter()
            .map(|p| p.key)
            .collect()
        };
        assert!(keys(0, 3600).is_empty(), "0 turns the alert off");
        assert!(keys(3599, 3600).is_empty());
        assert_eq!(keys(3600, 3600), ["mail.alert_after_secs"]);
        assert_eq!(keys(86_400, 3600), ["mail.alert_after_secs"]);
        let c: MailConfig = toml::from_str("alert_after_secs = 600").unwrap();
        assert_eq!(c.alert_after_secs, 600);
    }

    #[test]
    fn mail_section_parses_and_validates_in_the_whole_config() {
        let c = crate::config::Config::parse(
            "[mail]\nfrom = \"Fax <fax@example.org>\"\nretry_initial_secs = 30\n\
             [mail.relay]\nhost = \"smtp.example.org\"\nusername = \"fax\"\n\
             password = \"pw\"\n",
        )
        .unwrap();
        let relay = c.mail.relay.as_ref().unwrap();
        assert_eq!(
            (relay.tls, relay.port(), relay.timeout_secs),
            (RelayTls::Starttls, 587, 60)
        );
        c.validate().unwrap();

        let err = crate::config::Config::parse("[mail.relay]\nhost = \"x\"\nstarttls = true\n")
            .unwrap_err();
        assert!(err.contains("starttls"), "{err}");
        let bad = crate::config::Config::parse("[mail]\nfrom = \"fax at example\"\n").unwrap();
        let problems = bad.validate().unwrap_err();
        assert_eq!(problems[0].key, "mail.from", "{problems:?}");
    }

    #[test]
    fn relay_password_only_over_tls() {
        for (tls, refused) in [
            ("starttls", false),
            ("tls", false),
            ("opportunistic", true),
            ("none", true),
        ] {
            let c = crate::config::Config::parse(&format!(
                "[mail.relay]\nhost = \"smtp.example.org\"\ntls = \"{tls}\"\n\
                 username = \"fax\"\npassword = \"pw\"\n"
            ))
            .unwrap();
            let problems = c.mail.problems();
            let found = problems.iter().find(|p| p.key == "mail.relay.tls");
            assert_eq!(found.is_some(), refused, "{tls}: {problems:?}");
            if let Some(p) = found {
                assert!(
                    p.problem.contains(tls) && p.fix.contains("starttls"),
                    "{p:?}"
                );
            }
            // Without a password any mode is fine.
            let c = crate::config::Config::parse(&format!(
                "[mail.relay]\nhost = \"smtp.example.org\"\ntls = \"{tls}\"\n"
            ))
            .unwrap();
            assert!(c.mail.problems().is_empty(), "{tls}");
        }
    }

    #[test]
    fn relay_password_is_not_printed() {
        let r = RelayConfig {
            host: "smtp.example.org".into(),
            port: None,
            tls: RelayTls::Tls,
            username: Some("fax".into()),
            password: Some("hunter2".into()),
            ca_file: None,
            timeout_secs: 60,
        };
        assert!(!format!("{r:?}").contains("hunter2"));
        assert_eq!(r.port(), 465);
    }

    #[test]
    fn fax_ids() {
        assert!(valid_fax_id("20261125-101516-abc_1.x"));
        for bad in ["", ".hidden", "a/b", "a b", "../x", &"x".repeat(101)] {
            assert!(!valid_fax_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn retry_policy_from_config() {
        let p = MailConfig::default().retry_policy();
        assert_eq!(p.initial, Duration::from_secs(60));
        assert_eq!(p.max, Duration::from_secs(3600));
    }
}
