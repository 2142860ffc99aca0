//! Alerts: what an operator must hear of at once.
//!
//! A service that meets something an operator must act on now (an
//! emergency call no trunk took, a port over its hourly call limit) raises
//! an alert through an [`Alerts`] it was given. The daemon gives it one
//! that logs at ERROR and mails `[alerts] to`
//! (`MailAlerts` in the mail module); tests give it one that records.
//! This module sits at the bottom: services of every layer raise alerts,
//! and it imports nothing of theirs.

use std::sync::atomic::{AtomicU64, Ordering};

/// Where alerts go.
pub trait Alerts: Send + Sync {
    /// Raise one alert: `subject` is one line, `body` says what happened
    /// and what to do.
    fn alert(&self, subject: &str, body: &str);
}

/// Alerts raised in this process, for `/metrics`.
static RAISED: AtomicU64 = AtomicU64::new(0);

/// Count one alert; every [`Alerts`] implementation calls it.
pub fn count() {
    RAISED.fetch_add(1, Ordering::Relaxed);
}

/// Alerts raised in this process since it started.
pub fn raised_total() -> u64 {
    RAISED.load(Ordering::Relaxed)
}

/// `[alerts]`: who is told at once when something needs an operator.
///
/// ```toml
/// [alerts]
/// to = ["Telephony <telephony@example.org>"]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Mailboxes that get one mail per alert; empty: the log only.
    pub to: Vec<String>,
}
