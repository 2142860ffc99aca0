//! The delivery reporter: the task that mails each finished job's report
//! to its sender.
//!
//! A report becomes due in the job store, in the same transaction that
//! moves the job to `done`, `failed` or `cancelled` (`report_state =
//! 'pending'`). This task finds due reports, builds each message
//! ([`super::report`]) and hands it to the mail outbox, which owns
//! delivery, retries and dead letters. The hand-over is one transaction:
//!
//! 1. the message file is written to the spool and fsynced
//!    ([`Outbox::prepare_message`]);
//! 2. in one transaction: `report_state` `pending → queued` (only if still
//!    pending for the same final state) and the outbox row, keyed
//!    `job-report:<job id>.<history seq>`;
//! 3. the outbox worker is woken.
//!
//! A crash before 2 commits leaves the report pending and at most a spool
//! file, which the next round overwrites; a crash after leaves it queued in
//! the outbox. Either way the report is neither lost nor sent twice (beyond
//! the outbox's own at-least-once delivery over SMTP). The key carries the
//! history row of the final state, so a job retried by hand and finished
//! again gets a new report instead of colliding with the first.
//!
//! Reports due when the process stopped are found by the first round after
//! start: no separate recovery step is needed.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use lettre::message::Mailbox;
use tokio::sync::{Notify, watch};
use tracing::{error, info, warn};

use super::report::{self, JobReport};
use super::{JobStore, Millis, QueueError};
use crate::mail::{MailError, Outbox, OutgoingMessage};

/// The outbox kind of delivery reports.
pub const REPORT_KIND: &str = "job-report";

/// How often the reporter looks for due reports when nothing wakes it
/// (jobs cancelled by `faxbridge jobs` in another process).
pub const DEFAULT_POLL: Duration = Duration::from_secs(5);

/// Reports handled per round before the stop signal is checked again.
const BATCH: u32 = 32;

/// Why one round of the reporter failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The job store failed.
    #[error("delivery report: {0}")]
    Queue(#[from] QueueError),
    /// The outbox failed (spool file, database).
    #[error("delivery report: {0}")]
    Mail(#[from] MailError),
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// Reports put into the outbox.
    pub queued: u32,
    /// Reports that cannot be sent (bad `report_to`), given up.
    pub unsendable: u32,
}

/// The delivery reporter task. The job store and the outbox must use the
/// same database (the daemon's one [`Store`](crate::store::Store)), so the
/// hand-over is one transaction.
pub struct Reporter {
    jobs: JobStore,
    outbox: Outbox,
    poll: Duration,
    wake: Arc<Notify>,
}

impl Reporter {
    /// A reporter taking due reports from `jobs` into `outbox` (whose
    /// `[mail] from` is the reports' sender).
    pub fn new(jobs: JobStore, outbox: Outbox) -> Reporter {
        Reporter {
            jobs,
            outbox,
            poll: DEFAULT_POLL,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Look for due reports this often when not woken (default 5 s).
    pub fn with_poll_interval(mut self, poll: Duration) -> Reporter {
        self.poll = poll.max(Duration::from_millis(100));
        self
    }

    /// Notify this to make the reporter look at once (the sending worker
    /// does after a job reached a final state).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Mail due reports until `stop` turns `true` (or its sender is
    /// dropped). A report being handed over when the stop comes is finished
    /// first; the rest stay pending for the next start.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        info!("delivery reporter started");
        loop {
            if *stop.borrow() {
                break;
            }
            let more = match self.round(crate::clock::now_ms()).await {
                Ok(r) => r.queued + r.unsendable >= BATCH,
                Err(e) => {
                    error!("{e}; trying again shortly");
                    false
                }
            };
            if more {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.poll) => {}
                _ = self.wake.notified() => {}
                changed = stop.changed() => if changed.is_err() { break },
            }
        }
        info!("delivery reporter stopped");
    }

    /// One round: hand every due report (at most a batch) to the outbox.
    pub async fn round(&self, now: Millis) -> Result<RoundReport, ReportError> {
        let mut out = RoundReport::default();
        for id in self.jobs.pending_reports(BATCH).await? {
            match self.report_one(&id, now).await {
                Ok(Handed::Queued) => out.queued += 1,
                Ok(Handed::Unsendable) => out.unsendable += 1,
                Ok(Handed::NotDue) => {}
                // One bad job must not hold up the others.
                Err(e) => error!(job = %id, "{e}"),
            }
        }
        Ok(out)
    }

    async fn report_one(&self, id: &str, now: Millis) -> Result<Handed, ReportError> {
        let Some(due) = self.jobs.due_report(id).await? else {
            return Ok(Handed::NotDue);
        };
        let to: Mailbox = match due.report_to.parse() {
            Ok(m) => m,
            Err(e) => {
                let why = format!("{:?} is not a mail address ({e})", due.report_to);
                warn!(job = %id, "no delivery report: {why}");
                self.jobs
                    .mark_report_unsendable(id, due.seq, &why, now)
                    .await?;
                return Ok(Handed::Unsendable);
            }
        };
        let document_path = due.detail.job.document.clone();
        let document = tokio::fs::read(&document_path).await;
        let document_error = document.as_ref().err().map(|e| e.to_string());
        if let Some(e) = &document_error {
            warn!(job = %id, document = %document_path, "job document unreadable for the report: {e}");
        }
        let key = format!("{id}.{}", due.seq);
        let message_id = self.outbox.message_id(REPORT_KIND, &key);
        let bytes = report::build(&JobReport {
            detail: &due.detail,
            from: self.outbox.sender(),
            to: &to,
            message_id: &message_id,
            date: SystemTime::now(),
            document: document.as_deref().ok(),
            document_error: document_error.as_deref(),
        })?;
        let recipient = to.to_string();
        let prepared = self
            .outbox
            .prepare_message(&OutgoingMessage {
                kind: REPORT_KIND,
                key: &key,
                recipient: &recipient,
                bytes: &bytes,
            })
            .await?;
        let mut tx = self
            .jobs
            .pool()
            .begin()
            .await
            .map_err(|source| QueueError::Db {
                what: "queueing a delivery report",
                source,
            })?;
        // The job's row first: it takes the write lock before the outbox is
        // touched, and refuses if another reporter or a retry got there.
        if !self.jobs.mark_report_queued(&mut tx, id, due.seq).await? {
            return Ok(Handed::NotDue);
        }
        self.outbox.queue_prepared(&mut tx, &prepared).await?;
        tx.commit().await.map_err(|source| QueueError::Db {
            what: "committing a queued delivery report",
            source,
        })?;
        self.outbox.wake();
        info!(job = %id, to = %recipient, message = %prepared.id(), "delivery report queued");
        Ok(Handed::Queued)
    }
}

enum Handed {
    Queued,
    Unsendable,
    NotDue,
}
