//! The finance digest: flagged card-payment lines mailed periodically.
//!
//! Time is cut into periods of `[compliance.finance_digest] interval_hours`
//! counted from the Unix epoch (so every restart agrees on them). After a
//! period ends, one digest per recipient covers it, queued in the durable
//! mail outbox under the key `<period start>.<recipient index>`: queueing
//! it again (a restart, the next tick) finds the same message instead of
//! sending a second. A period in which no line was seen and none is open
//! sends nothing.

use std::time::{Duration, SystemTime};

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, SinglePart};
use tracing::{info, warn};

use super::FinanceDigest;
use super::report::finance_digest;
use super::store::ComplianceStore;
use crate::mail::outbox::{Outbox, OutgoingMessage};

/// Outbox kind of digest messages.
pub const KIND: &str = "pci-digest";

/// The last complete period before `now_ms`: `(start, end)` in epoch ms.
pub fn last_period(interval_hours: u32, now_ms: i64) -> (i64, i64) {
    let len = i64::from(interval_hours.max(1)) * 3_600_000;
    let end = now_ms.div_euclid(len) * len;
    (end - len, end)
}

/// Why a digest could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// The flags could not be read.
    #[error("reading the PCI flags: {0}")]
    Store(String),
    /// A recipient is not a mail address.
    #[error("[compliance.finance_digest] to: {0:?} is not a mail address")]
    Recipient(String),
    /// The message could not be built or queued.
    #[error("queueing the finance digest: {0}")]
    Mail(String),
}

/// Queue the digest of the last complete period for every recipient.
/// Returns how many messages were newly queued.
pub async fn queue_digest(
    cfg: &FinanceDigest,
    flags: &ComplianceStore,
    outbox: &Outbox,
    now_ms: i64,
) -> Result<usize, DigestError> {
    if cfg.to.is_empty() {
        return Ok(0);
    }
    let (since, until) = last_period(cfg.interval_hours, now_ms);
    let all = flags
        .list()
        .await
        .map_err(|e| DigestError::Store(e.to_string()))?;
    let recent = all.iter().filter(|f| f.last_seen_ms >= since).count();
    let open = all.iter().filter(|f| f.acknowledged().is_none()).count();
    if recent == 0 && open == 0 {
        return Ok(0);
    }
    let body = finance_digest(&all, since, until);
    let subject =
        format!("PCI-DSS: {open} open card payment line finding(s), {recent} seen in this period");
    let mut queued = 0;
    for (n, to) in cfg.to.iter().enumerate() {
        let mailbox: Mailbox = to.parse().map_err(|_| DigestError::Recipient(to.clone()))?;
        let key = format!("{since}.{n}");
        let message_id = outbox.message_id(KIND, &key);
        let message = lettre::Message::builder()
            .from(outbox.sender().clone())
            .to(mailbox.clone())
            .subject(&subject)
            .date(SystemTime::UNIX_EPOCH + Duration::from_millis(until.max(0) as u64))
            .message_id(Some(format!("<{message_id}>")))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".to_string(),
            ))
            .singlepart(SinglePart::plain(body.clone()))
            .map_err(|e| DigestError::Mail(e.to_string()))?
            .formatted();
        let new = outbox
            .enqueue_message(&OutgoingMessage {
                kind: KIND,
                key: &key,
                recipient: mailbox.email.as_ref(),
                bytes: &message,
            })
            .await
            .map_err(|e| DigestError::Mail(e.to_string()))?;
        if new {
            queued += 1;
            info!(to = %mailbox, open, recent, "PCI-DSS finance digest queued");
        }
    }
    Ok(queued)
}

/// The daemon's digest task: every hour, queue the last period's digest
/// (idempotent, so hourly checks send one per period).
pub async fn run(
    cfg: FinanceDigest,
    flags: ComplianceStore,
    outbox: Outbox,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    if cfg.to.is_empty() {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let now = crate::clock::now_ms();
                if let Err(e) = queue_digest(&cfg, &flags, &outbox, now).await {
                    warn!("{e}; trying again in an hour");
                }
            }
            _ = async { let _ = stop.wait_for(|s| *s).await; } => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_aligned_and_complete() {
        let h = 3_600_000;
        assert_eq!(last_period(24, 24 * h + 5), (0, 24 * h));
        assert_eq!(last_period(24, 48 * h - 1), (0, 24 * h));
        assert_eq!(last_period(24, 48 * h), (24 * h, 48 * h));
        assert_eq!(last_period(1, 3 * h + 10), (2 * h, 3 * h));
        assert_eq!(
            last_period(0, 3 * h + 10),
            (2 * h, 3 * h),
            "0 hours is read as 1"
        );
    }
}
