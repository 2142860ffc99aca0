//! The durable queue of outgoing faxes.
//!
//! A job is one document to one destination number, sent through a SIP
//! trunk or straight to an ATA port. Its life is the state machine in
//! [`job`]; [`retry`] decides from the cause of a failure whether and when
//! to call again and which pages to resend; [`fallback`] picks the call
//! settings (T.38 or G.711, ECM, modem) per destination; [`store`] keeps
//! all of it in the database so that a crash, a kill or a power cut at any
//! moment loses no job and never sends a completed fax twice.
//!
//! The sending driver uses [`JobStore`] like this:
//!
//! 1. [`JobStore::recover`] once at start;
//! 2. [`JobStore::claim_due`]: due jobs become `Dialling` (committed) with
//!    an attempt row, the pages to send and the settings to use;
//! 3. [`JobStore::start_sending`] when the call is answered;
//! 4. [`JobStore::confirm_pages`] after each page the far end confirms;
//! 5. [`JobStore::finish_attempt`] with the SIP or T.30 outcome: the job
//!    becomes `Done`, `Deferred` or `Failed` in one transaction.
//!
//! `faxbridge jobs` uses [`JobStore::list`], [`JobStore::job`],
//! [`JobStore::cancel`] and [`JobStore::retry_now`].
//!
//! A job with a `report_to` address owes its sender a delivery report once
//! it is done, failed or cancelled: the report becomes due in the same
//! transaction as that state, and [`reporter`] mails it through the outbox.

pub mod fallback;
pub mod job;
pub mod report;
pub mod reporter;
pub mod retry;
pub mod routes;
pub mod store;
pub mod worker;

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::problem::{Problem, Validate};

pub use fallback::{DestinationProfile, FallbackConfig, Settings, Transport};
pub use job::{Attempt, IllegalTransition, JobState};
pub use retry::{Cause, Decision, RetryConfig};
pub use routes::{NoTrunk, Routes};
pub use store::{
    CallOutcome, CallResult, Claim, DueReport, Enqueued, JobDetail, JobEvent, JobStore, JobSummary,
    LeftOut, ListFilter, NewJob, QueueError, RecoveryReport,
};

/// A point in time as Unix epoch milliseconds, the unit stored in the
/// database. Every function of the queue takes the current time as an
/// argument instead of reading a clock.
pub use crate::clock::Millis;

/// Where a job's calls go out.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Route {
    /// Through the named SIP trunk (a `[sip]` peer).
    Trunk(String),
    /// Straight to the named ATA port (one call at a time: an FXS port
    /// carries one line).
    Ata(String),
}

impl Route {
    /// Stored form: `trunk:NAME` or `ata:NAME`.
    pub fn encode(&self) -> String {
        match self {
            Route::Trunk(n) => format!("trunk:{n}"),
            Route::Ata(n) => format!("ata:{n}"),
        }
    }

    /// Parse [`Route::encode`]'s form.
    pub fn decode(s: &str) -> Option<Route> {
        match s.split_once(':')? {
            ("trunk", n) if !n.is_empty() => Some(Route::Trunk(n.to_string())),
            ("ata", n) if !n.is_empty() => Some(Route::Ata(n.to_string())),
            _ => None,
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

/// `[queue.trunks.NAME]`: limits of one trunk.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkLimits {
    /// Fax calls placed through this trunk at the same time.
    pub max_calls: u32,
}

/// `[queue]`: the outgoing fax queue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Concurrent calls on a trunk not listed under `[queue.trunks]`.
    pub max_calls_per_trunk: u32,
    /// Per-trunk limits, by trunk name.
    pub trunks: BTreeMap<String, TrunkLimits>,
    /// Retry policy.
    pub retry: RetryConfig,
    /// Interop fallback ladder.
    pub fallback: FallbackConfig,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            max_calls_per_trunk: 4,
            trunks: BTreeMap::new(),
            retry: RetryConfig::default(),
            fallback: FallbackConfig::default(),
        }
    }
}

/// A `[queue]` setting that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct QueueConfigError {
    /// The TOML key, e.g. `queue.trunks.main.max_calls`.
    pub key: String,
    /// What is wrong and how to fix it.
    pub reason: String,
}

impl QueueConfig {
    /// Check the values serde cannot: limits of at least one call, at
    /// least one attempt, a non-zero maximum age.
    pub fn validate(&self) -> Result<(), QueueConfigError> {
        let err = |key: String, reason: &str| {
            Err(QueueConfigError {
                key,
                reason: reason.to_string(),
            })
        };
        if self.max_calls_per_trunk == 0 {
            return err(
                "queue.max_calls_per_trunk".into(),
                "must be at least 1, or no fax would ever be sent",
            );
        }
        for (name, limits) in &self.trunks {
            if limits.max_calls == 0 {
                return err(
                    format!("queue.trunks.{name}.max_calls"),
                    "must be at least 1; remove the trunk from the routes to stop using it",
                );
            }
        }
        if self.retry.max_attempts == 0 {
            return err(
                "queue.retry.max_attempts".into(),
                "must be at least 1 (the first attempt counts)",
            );
        }
        if self.retry.max_age_secs == 0 {
            return err(
                "queue.retry.max_age_secs".into(),
                "must be more than 0, e.g. 86400 for one day",
            );
        }
        if self.fallback.memory_days == 0 {
            return err(
                "queue.fallback.memory_days".into(),
                "must be at least 1; a destination's settings would be forgotten at once",
            );
        }
        Ok(())
    }

    /// Concurrent calls allowed on a route: the trunk's limit, or one for
    /// an ATA port.
    pub fn max_calls(&self, route: &Route) -> u32 {
        match route {
            Route::Trunk(name) => self
                .trunks
                .get(name)
                .map_or(self.max_calls_per_trunk, |t| t.max_calls),
            Route::Ata(_) => 1,
        }
    }
}

impl Validate for QueueConfig {
    fn problems(&self) -> Vec<Problem> {
        match self.validate() {
            Ok(()) => Vec::new(),
            Err(e) => vec![Problem::new(
                e.key,
                e.reason,
                "see the [queue] section of config/faxbridge.example.toml",
            )],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_parses_with_defaults_and_refuses_unknown_keys() {
        let cfg: QueueConfig = toml::from_str(
            r#"
            max_calls_per_trunk = 2
            [trunks.main]
            max_calls = 8
            [retry]
            max_attempts = 4
            busy_delay_secs = 60
            [fallback]
            t38 = false
            top_modem = "v29"
            "#,
        )
        .unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.max_calls(&Route::Trunk("main".into())), 8);
        assert_eq!(cfg.max_calls(&Route::Trunk("other".into())), 2);
        assert_eq!(cfg.max_calls(&Route::Ata("port1".into())), 1);
        assert_eq!(cfg.retry.max_attempts, 4);
        assert_eq!(cfg.retry.no_answer_delay_secs, 300);
        assert!(!cfg.fallback.t38);
        assert_eq!(cfg.fallback.top_modem, crate::fax::Modem::V29);
        assert_eq!(
            toml::from_str::<QueueConfig>("").unwrap(),
            QueueConfig::default()
        );
        let e = toml::from_str::<QueueConfig>("max_call = 3").unwrap_err();
        assert!(e.to_string().contains("max_call"), "{e}");
        let e = toml::from_str::<QueueConfig>("[retry]\nmax_tries = 3").unwrap_err();
        assert!(e.to_string().contains("max_tries"), "{e}");
    }

    #[test]
    fn validation_names_the_key() {
        let mut cfg = QueueConfig::default();
        cfg.trunks
            .insert("main".into(), TrunkLimits { max_calls: 0 });
        assert_eq!(
            cfg.validate().unwrap_err().key,
            "queue.trunks.main.max_calls"
        );
        let cfg = QueueConfig {
            retry: RetryConfig {
                max_attempts: 0,
                ..RetryConfig::default()
            },
            ..QueueConfig::default()
        };
        assert_eq!(cfg.validate().unwrap_err().key, "queue.retry.max_attempts");
        QueueConfig::default().validate().unwrap();
    }

    #[test]
    fn routes_round_trip() {
        for r in [Route::Trunk("main".into()), Route::Ata("dgw1:3".into())] {
            assert_eq!(Route::decode(&r.encode()), Some(r));
        }
        assert_eq!(Route::decode("trunk:"), None);
        assert_eq!(Route::decode("sip:x"), None);
    }
}
