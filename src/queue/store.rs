//! The job store: fax jobs, their attempts, their history and what was
//! learnt per destination, in the shared database (`crate::store`).
//!
//! Discipline (Postfix's queue, applied to calls): every state change is a
//! committed transaction, together with its history row, before the caller
//! acts on it. A job is `Dialling` with an open attempt row before the
//! INVITE goes out; each page the far end confirms (MCF) is recorded as it
//! happens; `Done` is written only when T.30 reported success and every page
//! of the document is confirmed. After a crash, [`JobStore::recover`] finds
//! jobs left `Dialling` or `Sending`: one whose last attempt recorded success
//! becomes `Done` (never resent); any other is `Deferred` with cause
//! `interrupted` and resumes from the first unconfirmed page.
//!
//! The one window no store can close: the far end confirms the last page and
//! the process dies before that confirmation is committed. The next attempt
//! then resends from the last unconfirmed page (at most the pages whose MCF
//! was lost, never the whole document once it was recorded as done).
//!
//! Write transactions start with a write to the job's row, which takes
//! SQLite's write lock (and PostgreSQL's row lock) before anything is read,
//! so reads inside see the latest commit and two claimers serialise.
//! The per-trunk call limit is checked inside that transaction; on SQLite
//! the single writer makes it exact. (On PostgreSQL two claimers of
//! different jobs on the same trunk could both pass; a per-trunk lock row is
//! needed there before clusters share one queue.)

use std::ops::RangeInclusive;
use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::fallback::{self, DestinationProfile, Settings, Transport, modem_name, parse_modem};
use super::job::{Attempt, IllegalTransition, JobState};
use super::retry::{self, Budget, Cause, Decision, SentRange};
use super::{Millis, QueueConfig, Route};
use crate::fax::Modem;
use crate::store::Store;

/// Why a queue operation failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The database refused or failed.
    #[error(
        "fax queue database error while {what}: {source}; check that the database is \
         reachable and its disk not full, then retry"
    )]
    Db {
        /// What the queue was doing.
        what: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// No job has this id.
    #[error("no fax job {0}; `faxbridge jobs list` shows the existing jobs")]
    NotFound(String),
    /// The job's state does not allow what was asked.
    #[error("fax job {job}: {source}")]
    Illegal {
        /// The job.
        job: String,
        /// The refused transition.
        #[source]
        source: IllegalTransition,
    },
    /// The caller reported on an attempt that is no longer the job's
    /// current one (it was recovered or superseded).
    #[error(
        "attempt {attempt} of fax job {job} is not in progress (the job was recovered or \
         moved on); drop this call's result"
    )]
    StaleAttempt {
        /// The job.
        job: String,
        /// The attempt reported on.
        attempt: u32,
    },
    /// A stored value cannot be read back.
    #[error(
        "fax job {job} has an unreadable {what} in the database; fix or cancel the job \
         with `faxbridge jobs`"
    )]
    Corrupt {
        /// The job.
        job: String,
        /// Which value.
        what: String,
    },
    /// The job's row changed under a transaction that held its lock
    /// (another process writing the same database without locking).
    #[error(
        "fax job {0} changed while it was being updated; make sure only one faxbridge \
         daemon sends from this database, then retry"
    )]
    Conflict(String),
    /// The job to enqueue is not valid.
    #[error("cannot queue the fax: {0}")]
    Invalid(String),
}

impl QueueError {
    /// The database's disk is full: the same work may succeed once space
    /// is freed.
    pub fn is_storage_full(&self) -> bool {
        matches!(self, QueueError::Db { source, .. } if crate::spool::is_sqlite_full(source))
    }

    fn db(what: &'static str) -> impl FnOnce(sqlx::Error) -> QueueError {
        move |source| QueueError::Db { what, source }
    }
}

type Result<T> = std::result::Result<T, QueueError>;

/// A fax to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// Identifies the submission, e.g. `<message-id>` + recipient number:
    /// submitting the same key again returns the existing job.
    pub idempotency_key: String,
    /// The number to dial. Spaces, dashes, dots and brackets are removed;
    /// anything but digits, a leading `+`, `*` and `#` is refused.
    pub destination: String,
    /// Trunk or ATA port to call through.
    pub route: Route,
    /// The document (TIFF-F in the spool).
    pub document: String,
    /// Pages in the document.
    pub pages_total: u32,
    /// Who asked (mail sender or local user), for `faxbridge jobs`.
    pub submitter: String,
    /// Where the delivery report goes (the mail sender); `None`: no report.
    pub report_to: Option<String>,
    /// What the fax is about (the mail subject), for reports and lists.
    pub subject: String,
    /// Not before this time (epoch ms); `None` for now.
    pub not_before: Option<Millis>,
}

/// Result of [`JobStore::enqueue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueued {
    /// The job's id.
    pub id: String,
    /// `false` when a job with this idempotency key already existed.
    pub created: bool,
}

/// A job claimed for a call: what to dial and send, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The job.
    pub job_id: String,
    /// This attempt's number (1-based); pass it back with every report.
    pub attempt: u32,
    /// The number to dial.
    pub destination: String,
    /// Trunk or ATA port.
    pub route: Route,
    /// The document.
    pub document: String,
    /// Pages in the document.
    pub pages_total: u32,
    /// The pages to send in this call (1-based, inclusive): from the first
    /// page no earlier attempt got confirmed.
    pub pages: RangeInclusive<u32>,
    /// Settings from the fallback ladder.
    pub settings: Settings,
}

/// How a call ended, as the sending driver saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallResult {
    /// The INVITE got a final failure response.
    NotAnswered {
        /// The SIP status (486, 480, 404…).
        sip_status: u16,
    },
    /// No response, a timeout, or a transport error before or during the
    /// call, without a T.30 result.
    NetworkError {
        /// What happened, for the history.
        detail: String,
    },
    /// A fax session ran.
    Fax {
        /// SpanDSP T.30 completion code; 0 is success.
        t30_code: i32,
        /// The result in words.
        t30_text: String,
        /// Pages confirmed (MCF) in this call.
        pages_confirmed: u32,
    },
}

/// The outcome of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallOutcome {
    /// How the call ended.
    pub result: CallResult,
    /// Transport used (T.38 only if the far end accepted it).
    pub transport: Option<Transport>,
    /// Whether ECM was used.
    pub ecm: Option<bool>,
    /// The modem trained.
    pub modem: Option<Modem>,
    /// The far end's identity (T.30 CSI) when it sent one, as sent.
    pub remote_ident: Option<String>,
    /// Wall time from answer to hang-up, when the call was answered.
    pub call_duration: Option<Duration>,
    /// The last page-data modem rate trained, bit/s.
    pub bit_rate: Option<u32>,
}

/// One job as `faxbridge jobs list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSummary {
    /// Job id.
    pub id: String,
    /// Submission key.
    pub idempotency_key: String,
    /// Number dialled.
    pub destination: String,
    /// Trunk or port.
    pub route: Route,
    /// Document path.
    pub document: String,
    /// Pages in the document.
    pub pages_total: u32,
    /// Pages confirmed over all attempts.
    pub pages_confirmed: u32,
    /// Who submitted it.
    pub submitter: String,
    /// Where the delivery report goes, if anywhere.
    pub report_to: Option<String>,
    /// What the fax is about (mail subject).
    pub subject: String,
    /// Current state.
    pub state: JobState,
    /// Attempts made.
    pub attempts: u32,
    /// When queued.
    pub created: Millis,
    /// Last change.
    pub updated: Millis,
    /// When it reached a final state.
    pub finished: Option<Millis>,
}

/// A part of the submitted message that was not faxed, told to the sender
/// in the delivery report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeftOut {
    /// The part's name as the sender knows it (its file name).
    pub name: String,
    /// Why it was left out.
    pub reason: String,
}

/// One history row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobEvent {
    /// Order within the job, from 1.
    pub seq: u32,
    /// When.
    pub at: Millis,
    /// State before (`None` for the creation).
    pub from: Option<String>,
    /// State after.
    pub to: String,
    /// What happened.
    pub detail: String,
}

/// A job with its attempts and history (`faxbridge jobs show`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobDetail {
    /// The job.
    pub job: JobSummary,
    /// Every attempt, oldest first.
    pub attempts: Vec<Attempt>,
    /// Every transition, oldest first.
    pub events: Vec<JobEvent>,
    /// Parts of the submitted message that were not faxed.
    pub left_out: Vec<LeftOut>,
}

/// Which jobs [`JobStore::list`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// State names (`"queued"`, `"deferred"`…); empty for all.
    pub states: Vec<String>,
    /// At most this many, newest first; 0 for no limit.
    pub limit: u32,
}

/// A delivery report that is due ([`JobStore::due_report`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueReport {
    /// The job in its final state, its attempts and history.
    pub detail: JobDetail,
    /// Where the report goes.
    pub report_to: String,
    /// The history row of the final state the report describes: part of
    /// the report's identity, so a job retried by hand and finished again
    /// gets a second report rather than none.
    pub seq: u32,
}

/// What [`JobStore::recover`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Jobs whose last attempt had recorded success: now `Done`.
    pub completed: u32,
    /// Interrupted jobs deferred for a retry.
    pub deferred: u32,
    /// Interrupted jobs out of retry budget: now `Failed`.
    pub failed: u32,
}

/// The outgoing fax queue on the shared database.
#[derive(Debug, Clone)]
pub struct JobStore {
    store: Store,
    cfg: QueueConfig,
}

impl JobStore {
    /// Start a transaction; `what` names the operation in the error.
    async fn begin(&self, what: &'static str) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        self.store
            .pool()
            .begin()
            .await
            .map_err(QueueError::db(what))
    }

    /// The queue on an open database (its schema is applied by
    /// [`Store`]'s migrations).
    pub fn new(store: Store, cfg: QueueConfig) -> JobStore {
        JobStore { store, cfg }
    }

    /// The configuration in use.
    pub fn config(&self) -> &QueueConfig {
        &self.cfg
    }

    /// The database this queue lives in.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The connection pool, for reports and tests that query the tables.
    pub fn pool(&self) -> &sqlx::AnyPool {
        self.store.pool()
    }

    /// Queue a fax, or find the job already queued under the same
    /// idempotency key.
    pub async fn enqueue(&self, job: &NewJob, now: Millis) -> Result<Enqueued> {
        self.enqueue_noting(job, &[], now).await
    }

    /// [`JobStore::enqueue`], recording in the same transaction the parts
    /// of the submitted message that were not faxed (for the delivery
    /// report). A job that exists already keeps what it recorded.
    pub async fn enqueue_noting(
        &self,
        job: &NewJob,
        left_out: &[LeftOut],
        now: Millis,
    ) -> Result<Enqueued> {
        let left_out = if left_out.is_empty() {
            None
        } else {
            Some(serde_json::to_string(left_out).map_err(|e| {
                QueueError::Invalid(format!("the parts left out cannot be recorded: {e}"))
            })?)
        };
        let destination = normalise_number(&job.destination)?;
        if job.idempotency_key.trim().is_empty() {
            return Err(QueueError::Invalid(
                "the idempotency key is empty; use the message-id and recipient".into(),
            ));
        }
        if job.pages_total == 0 {
            return Err(QueueError::Invalid(
                "the document has no pages; nothing to send".into(),
            ));
        }
        if job.document.is_empty() {
            return Err(QueueError::Invalid("no document path given".into()));
        }
        let id = job_id(&job.idempotency_key);
        let due = job.not_before.unwrap_or(now);
        let mut tx = self.begin("queueing a fax").await?;
        let created = sqlx::query(
            "INSERT INTO fax_job (id, idempotency_key, destination, route, document_path, \
             pages_total, pages_confirmed, submitter, state, next_attempt_ms, attempts, \
             budget_attempts_base, budget_since_ms, created_at_ms, updated_at_ms, \
             report_to, subject, left_out) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7, 'queued', $8, 0, 0, $9, $9, $9, $10, $11, $12) \
             ON CONFLICT DO NOTHING",
        )
        .bind(id.as_str())
        .bind(job.idempotency_key.as_str())
        .bind(destination.as_str())
        .bind(job.route.encode())
        .bind(job.document.as_str())
        .bind(i64::from(job.pages_total))
        .bind(job.submitter.as_str())
        .bind(due)
        .bind(now)
        .bind(job.report_to.as_deref())
        .bind(job.subject.as_str())
        .bind(left_out)
        .execute(&mut *tx)
        .await
        .map_err(QueueError::db("queueing a fax"))?
        .rows_affected()
            == 1;
        if created {
            insert_event(
                &mut tx,
                &id,
                None,
                "queued",
                now,
                &format!(
                    "queued by {} for {destination} via {}: {} pages",
                    job.submitter, job.route, job.pages_total
                ),
            )
            .await?;
        }
        let stored: String = sqlx::query("SELECT id FROM fax_job WHERE idempotency_key = $1")
            .bind(job.idempotency_key.as_str())
            .fetch_one(&mut *tx)
            .await
            .and_then(|r| r.try_get("id"))
            .map_err(QueueError::db("queueing a fax"))?;
        tx.commit()
            .await
            .map_err(QueueError::db("committing a queued fax"))?;
        Ok(Enqueued {
            id: stored,
            created,
        })
    }

    /// Claim up to `max` jobs due at `now`: each becomes `Dialling` with a
    /// new attempt row, committed before this returns, within its route's
    /// concurrent call limit. Oldest due first.
    pub async fn claim_due(&self, now: Millis, max: usize) -> Result<Vec<Claim>> {
        let rows = sqlx::query(
            "SELECT id, route FROM fax_job WHERE state IN ('queued', 'deferred') \
             AND next_attempt_ms <= $1 ORDER BY next_attempt_ms, created_at_ms, id LIMIT $2",
        )
        .bind(now)
        .bind(i64::try_from(max.saturating_mul(4).saturating_add(16)).unwrap_or(i64::MAX))
        .fetch_all(self.store.pool())
        .await
        .map_err(QueueError::db("listing due fax jobs"))?;
        let mut full: Vec<String> = Vec::new();
        let mut claims = Vec::new();
        for row in rows {
            if claims.len() >= max {
                break;
            }
            let id: String = row
                .try_get("id")
                .map_err(QueueError::db("listing due fax jobs"))?;
            let route: String = row
                .try_get("route")
                .map_err(QueueError::db("listing due fax jobs"))?;
            if full.contains(&route) {
                continue;
            }
            match self.claim_one(&id, now).await? {
                ClaimResult::Claimed(c) => claims.push(c),
                ClaimResult::RouteFull => full.push(route),
                ClaimResult::NotDue => {}
            }
        }
        Ok(claims)
    }

    async fn claim_one(&self, id: &str, now: Millis) -> Result<ClaimResult> {
        const WHAT: &str = "claiming a fax job";
        let mut tx = self.begin(WHAT).await?;
        if !lock_job(&mut tx, id, now).await? {
            return Ok(ClaimResult::NotDue);
        }
        let job = load_job(&mut tx, id).await?;
        let due = match &job.state {
            JobState::Queued => true,
            JobState::Deferred { next_attempt, .. } => *next_attempt <= now,
            _ => false,
        };
        if !due {
            return Ok(ClaimResult::NotDue); // dropping `tx` rolls back
        }
        let limit = self.cfg.max_calls(&job.route);
        let active: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM fax_job WHERE route = $1 \
             AND state IN ('dialling', 'sending')",
        )
        .bind(job.route.encode())
        .fetch_one(&mut *tx)
        .await
        .and_then(|r| r.try_get("n"))
        .map_err(QueueError::db(WHAT))?;
        if active >= i64::from(limit) {
            return Ok(ClaimResult::RouteFull);
        }
        let attempts = load_attempts(&mut tx, id).await?;
        let history: Vec<SentRange> = attempts.iter().map(sent_range).collect();
        // Every page confirmed but T.30 never reported success (the call
        // dropped after the last MCF): send the last page again so a session
        // can end properly, rather than the whole document.
        let pages = retry::next_page_range(job.pages_total, &history)
            .unwrap_or(job.pages_total..=job.pages_total);
        let profile = load_profile(&mut tx, &job.destination).await?;
        let settings = fallback::choose(&self.cfg.fallback, &profile, now);
        let number = job.attempts + 1;
        let next = job.state.clone().dial().map_err(|e| illegal(id, e))?;
        sqlx::query("UPDATE fax_job SET attempts = $2 WHERE id = $1")
            .bind(id)
            .bind(i64::from(number))
            .execute(&mut *tx)
            .await
            .map_err(QueueError::db(WHAT))?;
        sqlx::query(
            "INSERT INTO fax_job_attempt (job_id, number, started_at_ms, first_page, \
             pages_confirmed, planned, success) VALUES ($1, $2, $3, $4, 0, $5, 0)",
        )
        .bind(id)
        .bind(i64::from(number))
        .bind(now)
        .bind(i64::from(*pages.start()))
        .bind(settings.encode())
        .execute(&mut *tx)
        .await
        .map_err(QueueError::db(WHAT))?;
        let detail = format!(
            "attempt {number}: dialling {} via {}, pages {}-{} of {}, {settings}",
            job.destination,
            job.route,
            pages.start(),
            pages.end(),
            job.pages_total
        );
        write_state(&mut tx, id, &job.state, &next, now, &detail).await?;
        tx.commit().await.map_err(QueueError::db(WHAT))?;
        Ok(ClaimResult::Claimed(Claim {
            job_id: job.id.clone(),
            attempt: number,
            destination: job.destination.clone(),
            route: job.route.clone(),
            document: job.document.clone(),
            pages_total: job.pages_total,
            pages,
            settings,
        }))
    }

    /// The call of `attempt` was answered and the fax session started:
    /// `Dialling → Sending`, committed.
    pub async fn start_sending(&self, job_id: &str, attempt: u32, now: Millis) -> Result<()> {
        const WHAT: &str = "recording that a fax is being sent";
        let mut tx = self.begin(WHAT).await?;
        let job = self.locked_current(&mut tx, job_id, attempt, now).await?;
        let next = job
            .state
            .clone()
            .start_sending()
            .map_err(|e| illegal(job_id, e))?;
        write_state(
            &mut tx,
            job_id,
            &job.state,
            &next,
            now,
            &format!("attempt {attempt}: answered, sending"),
        )
        .await?;
        tx.commit().await.map_err(QueueError::db(WHAT))
    }

    /// The far end has confirmed `pages_confirmed` pages of this attempt so
    /// far (counted from the attempt's first page). Committed at once, so a
    /// crash later in the call does not resend them. Lower counts than the
    /// recorded one are ignored.
    pub async fn confirm_pages(
        &self,
        job_id: &str,
        attempt: u32,
        pages_confirmed: u32,
    ) -> Result<()> {
        let open = sqlx::query(
            "SELECT pages_confirmed FROM fax_job_attempt WHERE job_id = $1 AND number = $2 \
             AND ended_at_ms IS NULL",
        )
        .bind(job_id)
        .bind(i64::from(attempt))
        .fetch_optional(self.store.pool())
        .await
        .map_err(QueueError::db("recording confirmed pages"))?;
        if open.is_none() {
            return Err(QueueError::StaleAttempt {
                job: job_id.to_string(),
                attempt,
            });
        }
        const WHAT: &str = "recording confirmed pages";
        let mut tx = self.begin(WHAT).await?;
        let raised = sqlx::query(
            "UPDATE fax_job_attempt SET pages_confirmed = $3 WHERE job_id = $1 AND number = $2 \
             AND ended_at_ms IS NULL AND pages_confirmed < $3",
        )
        .bind(job_id)
        .bind(i64::from(attempt))
        .bind(i64::from(pages_confirmed))
        .execute(&mut *tx)
        .await
        .map_err(QueueError::db(WHAT))?
        .rows_affected()
            > 0;
        if raised {
            // The job's own count follows, so `faxbridge jobs` shows the
            // progress of a call in progress.
            let job = load_job(&mut tx, job_id).await?;
            let attempts = load_attempts(&mut tx, job_id).await?;
            let history: Vec<SentRange> = attempts.iter().map(sent_range).collect();
            let confirmed = retry::pages_confirmed(job.pages_total, &history);
            sqlx::query("UPDATE fax_job SET pages_confirmed = $2 WHERE id = $1")
                .bind(job_id)
                .bind(i64::from(confirmed))
                .execute(&mut *tx)
                .await
                .map_err(QueueError::db(WHAT))?;
        }
        tx.commit().await.map_err(QueueError::db(WHAT))
    }

    /// Record how `attempt` ended and move the job on, in one transaction:
    /// `Done` when T.30 succeeded and every page of the document is
    /// confirmed; otherwise `Deferred` or `Failed` as the retry policy
    /// decides. The destination's fallback memory is updated too. Returns
    /// the new state.
    pub async fn finish_attempt(
        &self,
        job_id: &str,
        attempt: u32,
        outcome: &CallOutcome,
        now: Millis,
    ) -> Result<JobState> {
        const WHAT: &str = "recording the end of a fax attempt";
        let mut tx = self.begin(WHAT).await?;
        let job = self.locked_current(&mut tx, job_id, attempt, now).await?;
        let mut attempts = load_attempts(&mut tx, job_id).await?;
        let Some(current) = attempts.iter_mut().find(|a| a.number == attempt) else {
            return Err(QueueError::StaleAttempt {
                job: job_id.to_string(),
                attempt,
            });
        };
        let (sip_status, t30_code, t30_text, t30_ok) = match &outcome.result {
            CallResult::NotAnswered { sip_status } => (Some(*sip_status), None, None, false),
            CallResult::NetworkError { detail } => (None, None, Some(detail.clone()), false),
            CallResult::Fax {
                t30_code,
                t30_text,
                pages_confirmed,
            } => {
                current.pages_confirmed = current.pages_confirmed.max(*pages_confirmed);
                (
                    None,
                    Some(*t30_code),
                    Some(t30_text.clone()),
                    *t30_code == 0,
                )
            }
        };
        let this_attempt_pages = current.pages_confirmed;
        let planned = current.planned;
        let history: Vec<SentRange> = attempts.iter().map(sent_range).collect();
        let confirmed = retry::pages_confirmed(job.pages_total, &history);
        let success = t30_ok && confirmed == job.pages_total;
        let mut profile = load_profile(&mut tx, &job.destination).await?;
        // A fax session ran, so the call was answered even if the driver
        // never reported it: pass through `Sending` on the way.
        let current = match (&job.state, &outcome.result) {
            (JobState::Dialling, CallResult::Fax { .. }) => JobState::Dialling
                .start_sending()
                .map_err(|e| illegal(job_id, e))?,
            (state, _) => state.clone(),
        };
        let (next, cause, detail) = if success {
            let next = current
                .clone()
                .complete(true, confirmed, job.pages_total)
                .map_err(|e| illegal(job_id, e))?;
            profile.record_success(planned, now);
            let detail = format!(
                "attempt {attempt}: sent, {confirmed} of {} pages confirmed",
                job.pages_total
            );
            (next, None, detail)
        } else {
            let cause = match &outcome.result {
                CallResult::NotAnswered { sip_status } => retry::classify_sip(*sip_status),
                CallResult::NetworkError { .. } => Cause::Network,
                CallResult::Fax { t30_code, .. } => {
                    retry::classify_t30(*t30_code, this_attempt_pages)
                }
            };
            profile.record_failure(planned, cause, now);
            let mut closed = attempts.clone();
            if let Some(a) = closed.iter_mut().find(|a| a.number == attempt) {
                a.cause = Some(cause);
            }
            let (next, why) = self.after_failure(&job, &current, &closed, cause, now)?;
            let result = match (&outcome.result, sip_status) {
                (_, Some(s)) => format!("SIP {s}"),
                (CallResult::Fax { t30_text, .. }, _) => format!("T.30: {t30_text}"),
                (CallResult::NetworkError { detail }, _) => detail.clone(),
                _ => String::new(),
            };
            let detail = format!(
                "attempt {attempt}: {cause} ({result}), {confirmed} of {} pages confirmed; {why}",
                job.pages_total
            );
            (next, Some(cause), detail)
        };
        sqlx::query(
            "UPDATE fax_job_attempt SET ended_at_ms = $3, cause = $4, sip_status = $5, \
             t30_code = $6, t30_text = $7, pages_confirmed = $8, transport = $9, ecm = $10, \
             modem = $11, success = $12, remote_ident = $13, duration_ms = $14, \
             bit_rate = $15 WHERE job_id = $1 AND number = $2",
        )
        .bind(job_id)
        .bind(i64::from(attempt))
        .bind(now)
        .bind(cause.map(|c| c.as_str().to_string()))
        .bind(sip_status.map(i64::from))
        .bind(t30_code.map(i64::from))
        .bind(t30_text)
        .bind(i64::from(this_attempt_pages))
        .bind(outcome.transport.map(|t| t.as_str().to_string()))
        .bind(outcome.ecm.map(i64::from))
        .bind(outcome.modem.map(|m| modem_name(m).to_string()))
        .bind(i64::from(success))
        .bind(outcome.remote_ident.as_deref().map(clean_ident))
        .bind(
            outcome
                .call_duration
                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
        .bind(outcome.bit_rate.map(i64::from))
        .execute(&mut *tx)
        .await
        .map_err(QueueError::db(WHAT))?;
        sqlx::query("UPDATE fax_job SET pages_confirmed = $2 WHERE id = $1")
            .bind(job_id)
            .bind(i64::from(confirmed))
            .execute(&mut *tx)
            .await
            .map_err(QueueError::db(WHAT))?;
        save_profile(&mut tx, &job.destination, &profile, now).await?;
        write_state(&mut tx, job_id, &job.state, &next, now, &detail).await?;
        tx.commit().await.map_err(QueueError::db(WHAT))?;
        Ok(next)
    }

    /// End attempt `attempt` of `job_id` without placing a call, because the
    /// job's route cannot be used (e.g. a trunk job with no `[outgoing]
    /// uri`): the job fails at once with `reason`, which no retry can
    /// change, and its delivery report becomes due. Returns the new state.
    pub async fn fail_unroutable(
        &self,
        job_id: &str,
        attempt: u32,
        reason: &str,
        now: Millis,
    ) -> Result<JobState> {
        const WHAT: &str = "failing a fax job that cannot be routed";
        let mut tx = self.begin(WHAT).await?;
        let job = self.locked_current(&mut tx, job_id, attempt, now).await?;
        sqlx::query(
            "UPDATE fax_job_attempt SET ended_at_ms = $3, success = 0 \
             WHERE job_id = $1 AND number = $2",
        )
        .bind(job_id)
        .bind(i64::from(attempt))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(QueueError::db(WHAT))?;
        let next = job
            .state
            .clone()
            .fail(reason)
            .map_err(|e| illegal(job_id, e))?;
        let detail = format!("attempt {attempt}: not dialled: {reason}");
        write_state(&mut tx, job_id, &job.state, &next, now, &detail).await?;
        tx.commit().await.map_err(QueueError::db(WHAT))?;
        Ok(next)
    }

    /// Finish what a stopped process left: jobs in `Dialling` or `Sending`
    /// whose last attempt recorded success become `Done`; the others have
    /// their attempt closed as `interrupted` and are deferred (or failed,
    /// when out of retry budget). Call once at start, before claiming, while
    /// no other process sends from this database.
    pub async fn recover(&self, now: Millis) -> Result<RecoveryReport> {
        const WHAT: &str = "recovering interrupted fax jobs";
        let ids: Vec<String> = sqlx::query(
            "SELECT id FROM fax_job WHERE state IN ('dialling', 'sending') ORDER BY id",
        )
        .fetch_all(self.store.pool())
        .await
        .map_err(QueueError::db(WHAT))?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<std::result::Result<_, _>>()
        .map_err(QueueError::db(WHAT))?;
        let mut report = RecoveryReport::default();
        for id in ids {
            let mut tx = self.begin(WHAT).await?;
            if !lock_job(&mut tx, &id, now).await? {
                continue;
            }
            let job = load_job(&mut tx, &id).await?;
            if !job.state.is_active() {
                continue;
            }
            let mut attempts = load_attempts(&mut tx, &id).await?;
            let history: Vec<SentRange> = attempts.iter().map(sent_range).collect();
            let confirmed = retry::pages_confirmed(job.pages_total, &history);
            let last = attempts.last().map(|a| (a.number, a.success, a.ended));
            let done = match (&last, &job.state) {
                (Some((_, true, _)), JobState::Sending) => job
                    .state
                    .clone()
                    .complete(true, confirmed, job.pages_total)
                    .ok(),
                (Some((_, true, _)), JobState::Dialling) => job
                    .state
                    .clone()
                    .start_sending()
                    .and_then(|s| s.complete(true, confirmed, job.pages_total))
                    .ok(),
                _ => None,
            };
            let (next, detail) = if let Some(done) = done {
                report.completed += 1;
                let detail = format!(
                    "recovered after a restart: the last attempt had recorded success \
                     ({confirmed} of {} pages); not resent",
                    job.pages_total
                );
                (done, detail)
            } else {
                if let Some((number, _, None)) = last {
                    sqlx::query(
                        "UPDATE fax_job_attempt SET ended_at_ms = $3, cause = 'interrupted' \
                         WHERE job_id = $1 AND number = $2",
                    )
                    .bind(id.as_str())
                    .bind(i64::from(number))
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(QueueError::db(WHAT))?;
                    if let Some(a) = attempts.iter_mut().find(|a| a.number == number) {
                        a.cause = Some(Cause::Interrupted);
                        a.ended = Some(now);
                    }
                }
                sqlx::query("UPDATE fax_job SET pages_confirmed = $2 WHERE id = $1")
                    .bind(id.as_str())
                    .bind(i64::from(confirmed))
                    .execute(&mut *tx)
                    .await
                    .map_err(QueueError::db(WHAT))?;
                let (next, why) =
                    self.after_failure(&job, &job.state, &attempts, Cause::Interrupted, now)?;
                match next {
                    JobState::Failed { .. } => report.failed += 1,
                    _ => report.deferred += 1,
                }
                let detail = format!(
                    "recovered after a restart while {}: {confirmed} of {} pages confirmed; {why}",
                    job.state.name(),
                    job.pages_total
                );
                (next, detail)
            };
            write_state(&mut tx, &id, &job.state, &next, now, &detail).await?;
            tx.commit().await.map_err(QueueError::db(WHAT))?;
        }
        Ok(report)
    }

    /// Jobs for `faxbridge jobs list`, newest first.
    pub async fn list(&self, filter: &ListFilter) -> Result<Vec<JobSummary>> {
        for s in &filter.states {
            if !JobState::NAMES.contains(&s.as_str()) {
                return Err(QueueError::Invalid(format!(
                    "unknown job state {s:?}; use one of {}",
                    JobState::NAMES.join(", ")
                )));
            }
        }
        let mut sql = String::from("SELECT * FROM fax_job");
        if !filter.states.is_empty() {
            let marks: Vec<String> = (1..=filter.states.len()).map(|i| format!("${i}")).collect();
            sql.push_str(&format!(" WHERE state IN ({})", marks.join(", ")));
        }
        sql.push_str(" ORDER BY created_at_ms DESC, id");
        if filter.limit > 0 {
            sql.push_str(&format!(" LIMIT {}", filter.limit));
        }
        // Only `$n` placeholders and a number were added to the text.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for s in &filter.states {
            q = q.bind(s.as_str());
        }
        q.fetch_all(self.store.pool())
            .await
            .map_err(QueueError::db("listing fax jobs"))?
            .iter()
            .map(job_from_row)
            .collect()
    }

    /// One job with its attempts and history (`faxbridge jobs show`).
    pub async fn job(&self, id: &str) -> Result<JobDetail> {
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(QueueError::db("reading a fax job"))?;
        let job = load_job(&mut conn, id).await?;
        let attempts = load_attempts(&mut conn, id).await?;
        let events = sqlx::query(
            "SELECT seq, at_ms, from_state, to_state, detail FROM fax_job_event \
             WHERE job_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await
        .map_err(QueueError::db("reading a fax job's history"))?
        .iter()
        .map(|r| {
            Ok(JobEvent {
                seq: to_u32(r.try_get("seq")?),
                at: r.try_get("at_ms")?,
                from: r.try_get("from_state")?,
                to: r.try_get("to_state")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(QueueError::db("reading a fax job's history"))?;
        let left_out: Option<String> = sqlx::query("SELECT left_out FROM fax_job WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await
            .and_then(|r| r.try_get("left_out"))
            .map_err(QueueError::db("reading a fax job"))?;
        // Only words for the report: an unreadable list loses the list, not
        // the job.
        let left_out = left_out
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default();
        Ok(JobDetail {
            job: job.summary,
            attempts,
            events,
            left_out,
        })
    }

    /// Cancel a waiting job (`Queued | Deferred → Cancelled`). A job with a
    /// call in progress is refused.
    pub async fn cancel(&self, id: &str, by: &str, now: Millis) -> Result<JobState> {
        self.operator(id, now, &format!("cancelled by {by}"), |s| s.cancel())
            .await
    }

    /// Make a deferred, failed or cancelled job due now, with a fresh retry
    /// budget (attempts and age count from now).
    pub async fn retry_now(&self, id: &str, by: &str, now: Millis) -> Result<JobState> {
        self.operator(id, now, &format!("retry requested by {by}"), |s| {
            s.retry_now()
        })
        .await
    }

    async fn operator(
        &self,
        id: &str,
        now: Millis,
        detail: &str,
        transition: impl FnOnce(JobState) -> std::result::Result<JobState, IllegalTransition>,
    ) -> Result<JobState> {
        const WHAT: &str = "changing a fax job";
        let mut tx = self.begin(WHAT).await?;
        if !lock_job(&mut tx, id, now).await? {
            return Err(QueueError::NotFound(id.to_string()));
        }
        let job = load_job(&mut tx, id).await?;
        let next = transition(job.state.clone()).map_err(|e| illegal(id, e))?;
        if next == JobState::Queued {
            sqlx::query(
                "UPDATE fax_job SET budget_attempts_base = attempts, budget_since_ms = $2 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(QueueError::db(WHAT))?;
        }
        write_state(&mut tx, id, &job.state, &next, now, detail).await?;
        tx.commit().await.map_err(QueueError::db(WHAT))?;
        Ok(next)
    }

    /// Jobs whose delivery report is due (`report_state = 'pending'`),
    /// oldest first, at most `limit`.
    pub async fn pending_reports(&self, limit: u32) -> Result<Vec<String>> {
        const WHAT: &str = "listing due delivery reports";
        sqlx::query(
            "SELECT id FROM fax_job WHERE report_state = 'pending' \
             ORDER BY finished_at_ms, id LIMIT $1",
        )
        .bind(i64::from(limit.max(1)))
        .fetch_all(self.store.pool())
        .await
        .map_err(QueueError::db(WHAT))?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<std::result::Result<_, _>>()
        .map_err(QueueError::db(WHAT))
    }

    /// The job whose report is due, with everything the report shows;
    /// `None` when its report is no longer pending.
    pub async fn due_report(&self, id: &str) -> Result<Option<DueReport>> {
        let detail = self.job(id).await?;
        let state: Option<String> = self.report_state(id).await?;
        let (Some("pending"), Some(to)) = (state.as_deref(), detail.job.report_to.clone()) else {
            return Ok(None);
        };
        if !detail.job.state.is_final() {
            return Ok(None);
        }
        let Some(seq) = detail.events.last().map(|e| e.seq) else {
            return Ok(None);
        };
        Ok(Some(DueReport {
            detail,
            report_to: to,
            seq,
        }))
    }

    /// `fax_job.report_state` of a job: `None` (no report due), `pending`,
    /// `queued` or `unsendable`.
    pub async fn report_state(&self, id: &str) -> Result<Option<String>> {
        sqlx::query("SELECT report_state FROM fax_job WHERE id = $1")
            .bind(id)
            .fetch_optional(self.store.pool())
            .await
            .map_err(QueueError::db("reading a job's report state"))?
            .ok_or_else(|| QueueError::NotFound(id.to_string()))?
            .try_get("report_state")
            .map_err(QueueError::db("reading a job's report state"))
    }

    /// Inside the caller's transaction (the one that inserts the report
    /// into the mail outbox): mark the report of `id` queued, provided it is
    /// still pending for the final state recorded by history row `seq`.
    /// `false` when it is not (already queued, or the job moved on): the
    /// caller must then roll back. This update takes the job's row lock
    /// (SQLite: the write lock) first, so two reporters serialise.
    pub async fn mark_report_queued(
        &self,
        conn: &mut AnyConnection,
        id: &str,
        seq: u32,
    ) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE fax_job SET report_state = 'queued' WHERE id = $1 \
             AND report_state = 'pending' AND (SELECT MAX(seq) FROM fax_job_event \
             WHERE job_id = $1) = $2",
        )
        .bind(id)
        .bind(i64::from(seq))
        .execute(conn)
        .await
        .map_err(QueueError::db("marking a delivery report queued"))?
        .rows_affected()
            == 1)
    }

    /// Give up the report of `id` (due for history row `seq`) because it
    /// cannot be built, e.g. `report_to` is not a mail address. Recorded in
    /// the job's history so `faxbridge jobs show` explains the missing
    /// report.
    pub async fn mark_report_unsendable(
        &self,
        id: &str,
        seq: u32,
        why: &str,
        now: Millis,
    ) -> Result<bool> {
        const WHAT: &str = "giving up a delivery report";
        let mut tx = self.begin(WHAT).await?;
        let changed = sqlx::query(
            "UPDATE fax_job SET report_state = 'unsendable' WHERE id = $1 \
             AND report_state = 'pending' AND (SELECT MAX(seq) FROM fax_job_event \
             WHERE job_id = $1) = $2",
        )
        .bind(id)
        .bind(i64::from(seq))
        .execute(&mut *tx)
        .await
        .map_err(QueueError::db(WHAT))?
        .rows_affected()
            == 1;
        if changed {
            let state: String = sqlx::query("SELECT state FROM fax_job WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .and_then(|r| r.try_get("state"))
                .map_err(QueueError::db(WHAT))?;
            insert_event(
                &mut tx,
                id,
                Some(&state),
                &state,
                now,
                &format!("no delivery report: {why}"),
            )
            .await?;
        }
        tx.commit().await.map_err(QueueError::db(WHAT))?;
        Ok(changed)
    }

    /// Lock the job and check that `attempt` is its open, current attempt.
    async fn locked_current(
        &self,
        conn: &mut AnyConnection,
        job_id: &str,
        attempt: u32,
        now: Millis,
    ) -> Result<LoadedJob> {
        if !lock_job(conn, job_id, now).await? {
            return Err(QueueError::NotFound(job_id.to_string()));
        }
        let job = load_job(conn, job_id).await?;
        if job.attempts != attempt || !job.state.is_active() {
            return Err(QueueError::StaleAttempt {
                job: job_id.to_string(),
                attempt,
            });
        }
        Ok(job)
    }

    /// The state after a failed attempt with `cause` (the job being in
    /// `state`), and why.
    fn after_failure(
        &self,
        job: &LoadedJob,
        state: &JobState,
        attempts: &[Attempt],
        cause: Cause,
        now: Millis,
    ) -> Result<(JobState, String)> {
        let budget = budget(job, attempts);
        let state = state.clone();
        let (next, why) = match retry::decide(&self.cfg.retry, cause, budget, now) {
            Decision::RetryAt(at) => (
                state.defer(at, cause),
                format!("retry in {} s", (at - now).max(0) / 1000),
            ),
            Decision::GiveUp(reason) => (state.fail(reason.clone()), format!("gave up: {reason}")),
        };
        Ok((next.map_err(|e| illegal(&job.id, e))?, why))
    }
}

enum ClaimResult {
    Claimed(Claim),
    RouteFull,
    NotDue,
}

/// The retry budget used so far, from the attempt history.
fn budget(job: &LoadedJob, attempts: &[Attempt]) -> Budget {
    let counted: Vec<&Attempt> = attempts
        .iter()
        .filter(|a| a.number > job.budget_base)
        .collect();
    let network_streak = counted
        .iter()
        .rev()
        .take_while(|a| a.cause == Some(Cause::Network))
        .count() as u32;
    let not_fax_count = counted
        .iter()
        .filter(|a| a.cause == Some(Cause::NotFax))
        .count() as u32;
    Budget {
        attempts: job.attempts.saturating_sub(job.budget_base),
        since: job.budget_since,
        network_streak,
        not_fax_count,
    }
}

fn illegal(job: &str, source: IllegalTransition) -> QueueError {
    QueueError::Illegal {
        job: job.to_string(),
        source,
    }
}

fn sent_range(a: &Attempt) -> SentRange {
    SentRange {
        first_page: a.first_page,
        confirmed: a.pages_confirmed,
    }
}

/// A job id derived from the idempotency key, so a resubmission maps to
/// the same row: 24 hex digits of SHA-256.
fn job_id(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Keep the dialable characters of a number.
fn normalise_number(raw: &str) -> Result<String> {
    crate::numbering::checked_dial_string(raw).map_err(|e| QueueError::Invalid(e.to_string()))
}

/// The far end's identity as printable text: T.30 sends 20 characters
/// from the telephone keypad set, space-padded; anything else is dropped.
fn clean_ident(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_string()
}

fn to_u32(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

/// Take the job's row lock (SQLite: the database write lock) before
/// reading it; `false` if there is no such job.
async fn lock_job(conn: &mut AnyConnection, id: &str, now: Millis) -> Result<bool> {
    Ok(
        sqlx::query("UPDATE fax_job SET updated_at_ms = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(conn)
            .await
            .map_err(QueueError::db("locking a fax job"))?
            .rows_affected()
            == 1,
    )
}

/// A job row plus the budget columns the summary does not show.
struct LoadedJob {
    summary: JobSummary,
    budget_base: u32,
    budget_since: Millis,
}

impl std::ops::Deref for LoadedJob {
    type Target = JobSummary;
    fn deref(&self) -> &JobSummary {
        &self.summary
    }
}

async fn load_job(conn: &mut AnyConnection, id: &str) -> Result<LoadedJob> {
    let row = sqlx::query("SELECT * FROM fax_job WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(QueueError::db("reading a fax job"))?
        .ok_or_else(|| QueueError::NotFound(id.to_string()))?;
    let summary = job_from_row(&row)?;
    let budget = |row: &AnyRow| -> std::result::Result<(i64, i64), sqlx::Error> {
        Ok((
            row.try_get("budget_attempts_base")?,
            row.try_get("budget_since_ms")?,
        ))
    };
    let (base, since) = budget(&row).map_err(QueueError::db("reading a fax job"))?;
    Ok(LoadedJob {
        summary,
        budget_base: to_u32(base),
        budget_since: since,
    })
}

fn job_from_row(row: &AnyRow) -> Result<JobSummary> {
    let db = QueueError::db("reading a fax job");
    let get = |row: &AnyRow| -> std::result::Result<_, sqlx::Error> {
        Ok((
            row.try_get::<String, _>("id")?,
            row.try_get::<String, _>("state")?,
            row.try_get::<i64, _>("next_attempt_ms")?,
            row.try_get::<Option<String>, _>("last_cause")?,
            row.try_get::<Option<String>, _>("failure_reason")?,
            row.try_get::<String, _>("route")?,
        ))
    };
    let (id, state, next_attempt, last_cause, failure_reason, route) = get(row).map_err(db)?;
    let corrupt = |what: &str| QueueError::Corrupt {
        job: id.clone(),
        what: what.to_string(),
    };
    let state = match state.as_str() {
        "queued" => JobState::Queued,
        "dialling" => JobState::Dialling,
        "sending" => JobState::Sending,
        "done" => JobState::Done,
        "cancelled" => JobState::Cancelled,
        "failed" => JobState::Failed {
            reason: failure_reason.unwrap_or_default(),
        },
        "deferred" => JobState::Deferred {
            next_attempt,
            last_cause: last_cause
                .as_deref()
                .and_then(Cause::parse)
                .ok_or_else(|| corrupt("last cause"))?,
        },
        _ => return Err(corrupt("state")),
    };
    let route = Route::decode(&route).ok_or_else(|| corrupt("route"))?;
    let rest = |row: &AnyRow| -> std::result::Result<JobSummary, sqlx::Error> {
        Ok(JobSummary {
            id: id.clone(),
            idempotency_key: row.try_get("idempotency_key")?,
            destination: row.try_get("destination")?,
            route: route.clone(),
            document: row.try_get("document_path")?,
            pages_total: to_u32(row.try_get("pages_total")?),
            pages_confirmed: to_u32(row.try_get("pages_confirmed")?),
            submitter: row.try_get("submitter")?,
            report_to: row.try_get("report_to")?,
            subject: row.try_get("subject")?,
            state: state.clone(),
            attempts: to_u32(row.try_get("attempts")?),
            created: row.try_get("created_at_ms")?,
            updated: row.try_get("updated_at_ms")?,
            finished: row.try_get("finished_at_ms")?,
        })
    };
    rest(row).map_err(QueueError::db("reading a fax job"))
}

async fn load_attempts(conn: &mut AnyConnection, id: &str) -> Result<Vec<Attempt>> {
    let rows = sqlx::query("SELECT * FROM fax_job_attempt WHERE job_id = $1 ORDER BY number")
        .bind(id)
        .fetch_all(conn)
        .await
        .map_err(QueueError::db("reading a fax job's attempts"))?;
    let corrupt = |what: &str| QueueError::Corrupt {
        job: id.to_string(),
        what: what.to_string(),
    };
    rows.iter()
        .map(|r| {
            let text = |col: &str| -> Result<Option<String>> {
                r.try_get(col)
                    .map_err(QueueError::db("reading a fax job's attempts"))
            };
            let int = |col: &str| -> Result<Option<i64>> {
                r.try_get(col)
                    .map_err(QueueError::db("reading a fax job's attempts"))
            };
            let planned = text("planned")?.unwrap_or_default();
            Ok(Attempt {
                number: to_u32(int("number")?.unwrap_or(0)),
                started: int("started_at_ms")?.unwrap_or(0),
                ended: int("ended_at_ms")?,
                cause: match text("cause")? {
                    Some(c) => Some(Cause::parse(&c).ok_or_else(|| corrupt("attempt cause"))?),
                    None => None,
                },
                sip_status: int("sip_status")?.and_then(|s| u16::try_from(s).ok()),
                t30_code: int("t30_code")?.and_then(|c| i32::try_from(c).ok()),
                t30_text: text("t30_text")?,
                first_page: to_u32(int("first_page")?.unwrap_or(1)),
                pages_confirmed: to_u32(int("pages_confirmed")?.unwrap_or(0)),
                planned: Settings::decode(&planned).ok_or_else(|| corrupt("attempt settings"))?,
                transport: text("transport")?.as_deref().and_then(Transport::parse),
                ecm: int("ecm")?.map(|e| e != 0),
                modem: text("modem")?.as_deref().and_then(parse_modem),
                success: int("success")?.unwrap_or(0) != 0,
                remote_ident: text("remote_ident")?,
                call_duration: int("duration_ms")?
                    .map(|ms| Duration::from_millis(ms.max(0) as u64)),
                bit_rate: int("bit_rate")?.map(to_u32),
            })
        })
        .collect()
}

async fn load_profile(conn: &mut AnyConnection, destination: &str) -> Result<DestinationProfile> {
    let row = sqlx::query(
        "SELECT success, success_at_ms, failures FROM destination_profile WHERE destination = $1",
    )
    .bind(destination)
    .fetch_optional(conn)
    .await
    .map_err(QueueError::db("reading a destination's fax settings"))?;
    let Some(row) = row else {
        return Ok(DestinationProfile::default());
    };
    let get = || -> std::result::Result<_, sqlx::Error> {
        Ok((
            row.try_get::<Option<String>, _>("success")?,
            row.try_get::<Option<i64>, _>("success_at_ms")?,
            row.try_get::<String, _>("failures")?,
        ))
    };
    let (success, at, failures) =
        get().map_err(QueueError::db("reading a destination's fax settings"))?;
    Ok(DestinationProfile {
        success: success.as_deref().and_then(Settings::decode).zip(at),
        failures: DestinationProfile::decode_failures(&failures),
    })
}

async fn save_profile(
    conn: &mut AnyConnection,
    destination: &str,
    profile: &DestinationProfile,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO destination_profile (destination, success, success_at_ms, failures, \
         updated_at_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (destination) DO UPDATE SET \
         success = excluded.success, success_at_ms = excluded.success_at_ms, \
         failures = excluded.failures, updated_at_ms = excluded.updated_at_ms",
    )
    .bind(destination)
    .bind(profile.success.map(|(s, _)| s.encode()))
    .bind(profile.success.map(|(_, at)| at))
    .bind(profile.encode_failures())
    .bind(now)
    .execute(conn)
    .await
    .map_err(QueueError::db("saving a destination's fax settings"))?;
    Ok(())
}

/// Persist `from → to` (only if the row is still in `from`) and its
/// history row.
async fn write_state(
    conn: &mut AnyConnection,
    id: &str,
    from: &JobState,
    to: &JobState,
    now: Millis,
    detail: &str,
) -> Result<()> {
    const WHAT: &str = "saving a fax job's state";
    let (next_attempt, cause, reason) = match to {
        JobState::Queued => (Some(now), None, None),
        JobState::Deferred {
            next_attempt,
            last_cause,
        } => (Some(*next_attempt), Some(last_cause.as_str()), None),
        JobState::Failed { reason } => (None, None, Some(reason.as_str())),
        _ => (None, None, None),
    };
    // The delivery report becomes due in the same statement as the final
    // state, so no crash can separate them. A job taken out of a final state
    // (operator retry) before its report was queued no longer owes that
    // report: the next final state makes a new one due.
    let changed = sqlx::query(
        "UPDATE fax_job SET state = $2, next_attempt_ms = COALESCE($3, next_attempt_ms), \
         last_cause = COALESCE($4, last_cause), failure_reason = $5, finished_at_ms = $6, \
         updated_at_ms = $7, report_state = CASE \
         WHEN $9 = 1 AND report_to IS NOT NULL AND report_to <> '' THEN 'pending' \
         WHEN $9 = 0 AND report_state = 'pending' THEN NULL \
         ELSE report_state END \
         WHERE id = $1 AND state = $8",
    )
    .bind(id)
    .bind(to.name())
    .bind(next_attempt)
    .bind(cause)
    .bind(reason)
    .bind(to.is_final().then_some(now))
    .bind(now)
    .bind(from.name())
    .bind(i64::from(to.is_final()))
    .execute(&mut *conn)
    .await
    .map_err(QueueError::db(WHAT))?
    .rows_affected();
    if changed != 1 {
        return Err(QueueError::Conflict(id.to_string()));
    }
    insert_event(conn, id, Some(from.name()), to.name(), now, detail).await
}

async fn insert_event(
    conn: &mut AnyConnection,
    id: &str,
    from: Option<&str>,
    to: &str,
    now: Millis,
    detail: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO fax_job_event (job_id, seq, at_ms, from_state, to_state, detail) \
         SELECT $1, COALESCE(MAX(seq), 0) + 1, CAST($2 AS BIGINT), $3, $4, $5 \
         FROM fax_job_event WHERE job_id = $1",
    )
    .bind(id)
    .bind(now)
    .bind(from)
    .bind(to)
    .bind(detail)
    .execute(conn)
    .await
    .map_err(QueueError::db("writing a fax job's history"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_normalised_or_refused() {
        assert_eq!(
            normalise_number(" +44 (20) 7946-0000 ").unwrap(),
            "+442079460000"
        );
        let e = normalise_number("9,0123").unwrap_err().to_string();
        assert!(e.contains("','"), "{e}");
        assert!(normalise_number("1+2").is_err());
        assert!(normalise_number("--").is_err());
        assert!(normalise_number("mailto:x").is_err());
    }

    /// A port dialled directly is not held back by a full trunk, and takes
    /// one call at a time itself.
    #[tokio::test]
    async fn ata_routes_have_their_own_limit_of_one_call() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_spool(dir.path()).await.unwrap();
        let jobs = JobStore::new(
            store,
            QueueConfig {
                max_calls_per_trunk: 1,
                ..QueueConfig::default()
            },
        );
        let port = Route::Ata("lab-ata:2".into());
        let routes = [
            Route::Trunk("main".into()),
            Route::Trunk("main".into()),
            port.clone(),
            port.clone(),
        ];
        for (i, route) in routes.into_iter().enumerate() {
            let job = NewJob {
                idempotency_key: format!("k{i}"),
                destination: "+441632960202".into(),
                route,
                document: "/spool/outgoing/x.tif".into(),
                pages_total: 1,
                submitter: "test".into(),
                report_to: None,
                subject: String::new(),
                not_before: None,
            };
            jobs.enqueue(&job, 1_000 + i as i64).await.unwrap();
        }
        let claims = jobs.claim_due(10_000, 8).await.unwrap();
        let claimed: Vec<&Route> = claims.iter().map(|c| &c.route).collect();
        assert_eq!(claimed, [&Route::Trunk("main".into()), &port]);
        // Both routes full now.
        assert!(jobs.claim_due(10_000, 8).await.unwrap().is_empty());
    }

    #[test]
    fn job_ids_follow_the_key() {
        assert_eq!(job_id("<a@b>/+4420"), job_id("<a@b>/+4420"));
        assert_ne!(job_id("<a@b>/+4420"), job_id("<a@b>/+4421"));
        assert_eq!(job_id("x").len(), 24);
    }
}
