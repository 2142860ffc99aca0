//! Durable outgoing mail: received faxes, delivery reports and any other
//! message the daemon sends, queued so that they survive crashes.
//!
//! The retry policy and the delivery state machine at the top of this file
//! are plain values (no I/O) and are unit-tested exhaustively; [`Outbox`]
//! below is the thin driver around them: the spool files, the database rows
//! and the delivery worker.
//!
//! Two ways in, one way out. Received faxes go through the pipeline of
//! [`Outbox::deliver_received_fax`] (record, convert, build, queue); any
//! other finished message (a delivery report, an alert) goes through
//! [`Outbox::enqueue_message`], idempotent by its key. Both end up as
//! `mail_outbox` rows delivered by the same worker with the same retries
//! and dead letters.
//!
//! Spool layout (under the configured spool directory):
//!
//! ```text
//! faxbridge.db                      the store (received_fax, mail_outbox)
//! mail/faxes/<fax>.pdf, <fax>.png   conversion output
//! mail/outbox/<fax>.<n>.eml         one message per recipient, until sent
//! mail/outbox/<kind>:<key>.eml      a message queued by key, until sent
//! maildir/{tmp,new,cur}             local delivery when no relay is set
//! ```
//!
//! Every file is written to a temporary name, fsynced, renamed into place and
//! its directory fsynced before the database row that points at it is
//! committed; every row is committed before the action it records starts.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lettre::address::Envelope;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use tokio::sync::Notify;
use tracing::{error, info, warn};

use super::message::{self, FaxMessage};
use super::{MailConfig, MailError, ReceivedFax, RelayConfig, RelayTls, Route, valid_fax_id};
use crate::alert::Alerts;
use crate::store::Store;

// ---------------------------------------------------------------------------
// Sans-IO core: delivery states and the retry policy.
// ---------------------------------------------------------------------------

/// Where one outgoing message (one fax, one recipient) stands.
///
/// ```text
/// pending ──► sending ──► sent
///    ▲           │
///    │           ├──► deferred ──(due)──► sending …
///    │           └──► dead   (5xx refusal, too many attempts, too old)
///    └── recovery (a process that died while `sending`)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Waiting for its first attempt.
    Pending,
    /// An attempt is in progress (claimed by a worker).
    Sending,
    /// Accepted by the relay (or written into the Maildir).
    Sent,
    /// A temporary failure; retried at the row's next attempt time.
    Deferred,
    /// Given up; needs an operator. Listed by [`Outbox::undelivered`].
    Dead,
}

impl DeliveryState {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sending => "sending",
            DeliveryState::Sent => "sent",
            DeliveryState::Deferred => "deferred",
            DeliveryState::Dead => "dead",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<DeliveryState> {
        Some(match s {
            "pending" => DeliveryState::Pending,
            "sending" => DeliveryState::Sending,
            "sent" => DeliveryState::Sent,
            "deferred" => DeliveryState::Deferred,
            "dead" => DeliveryState::Dead,
            _ => return None,
        })
    }

    /// Whether the state machine allows moving from `self` to `to`.
    pub fn can_become(self, to: DeliveryState) -> bool {
        use DeliveryState::*;
        matches!(
            (self, to),
            (Pending | Deferred, Sending)
                | (Sending, Sent | Deferred | Dead)
                // Recovery: the outcome of an interrupted attempt is unknown.
                | (Sending, Pending)
        )
    }
}

/// How an attempt failed, as far as retrying is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth retrying, and about this message: a 4xx reply to it (RFC 5321
    /// §4.2.1: "transient negative completion"), a spool file that cannot
    /// be read for now.
    Temporary(String),
    /// Worth retrying, and about the relay rather than the message: it
    /// could not be reached, did not answer in time, answered 421 (service
    /// not available, RFC 5321 §3.8), or the TLS or AUTH settings do not
    /// work with it. The other messages due in the same round are not
    /// tried against it (see [`Outbox::deliver_due`]).
    Unavailable(String),
    /// Not worth retrying: a 5xx reply ("permanent negative completion"),
    /// e.g. 550 mailbox unknown.
    Permanent(String),
}

impl Failure {
    /// The failure's description.
    pub fn text(&self) -> &str {
        match self {
            Failure::Temporary(s) | Failure::Unavailable(s) | Failure::Permanent(s) => s,
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again after this delay.
    RetryAfter(Duration),
    /// Give up (dead letter) for this reason.
    GiveUp(String),
}

/// Exponential backoff with limits on attempts and age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failed attempt.
    pub initial: Duration,
    /// Longest delay; the delay doubles after each failure up to this.
    pub max: Duration,
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// Age (since the message was queued) after which it is given up.
    pub max_age: Duration,
}

impl RetryPolicy {
    /// Delay before the next attempt after `attempts` failed attempts
    /// (1 → initial, 2 → 2 × initial, … capped at max).
    pub fn backoff(&self, attempts: u32) -> Duration {
        crate::clock::backoff(self.initial, self.max, attempts)
    }

    /// Decide after attempt number `attempts` failed with `failure`, for a
    /// message queued `age` ago.
    pub fn decide(&self, attempts: u32, age: Duration, failure: &Failure) -> RetryDecision {
        match failure {
            Failure::Permanent(text) => {
                RetryDecision::GiveUp(format!("refused permanently: {text}"))
            }
            Failure::Temporary(text) | Failure::Unavailable(text)
                if attempts >= self.max_attempts =>
            {
                RetryDecision::GiveUp(format!(
                    "gave up after {attempts} attempts; last error: {text}"
                ))
            }
            Failure::Temporary(text) | Failure::Unavailable(text)
                if age + self.backoff(attempts) > self.max_age =>
            {
                RetryDecision::GiveUp(format!(
                    "gave up after {} in the queue ({attempts} attempts); last error: {text}",
                    message::format_duration(age)
                ))
            }
            Failure::Temporary(_) | Failure::Unavailable(_) => {
                RetryDecision::RetryAfter(self.backoff(attempts))
            }
        }
    }
}

/// What to do about the "mail undeliverable" alert after a look at the
/// queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutageAlert {
    /// Mail has waited longer than allowed and no alert is out: raise one.
    Raise,
    /// An alert is out and no message has waited that long any more: say
    /// it cleared.
    Clear,
    /// Nothing changes.
    Keep,
}

/// Decide the outage alert: `alert_after` from `[mail] alert_after_secs`
/// (zero: never), `alerting` whether an alert for this outage is already
/// out, `oldest_waiting` how long the oldest message not yet delivered
/// (pending, deferred or being sent; not dead) has been in the queue. One
/// alert per outage, however many retries fail in it.
pub fn outage_alert(
    alert_after: Duration,
    alerting: bool,
    oldest_waiting: Option<Duration>,
) -> OutageAlert {
    let over = !alert_after.is_zero() && oldest_waiting.is_some_and(|w| w > alert_after);
    match (alerting, over) {
        (false, true) => OutageAlert::Raise,
        (true, false) => OutageAlert::Clear,
        _ => OutageAlert::Keep,
    }
}

/// When to look again so that an alert is raised on time: the moment the
/// oldest waiting message passes `alert_after` (just after it), if no alert
/// is out yet; `None` when nothing can start an alert.
pub fn outage_check_in(
    alert_after: Duration,
    alerting: bool,
    oldest_waiting: Option<Duration>,
) -> Option<Duration> {
    if alert_after.is_zero() || alerting {
        return None;
    }
    let waited = oldest_waiting?;
    Some(alert_after.saturating_sub(waited) + Duration::from_millis(10))
}

// ---------------------------------------------------------------------------
// The driver.
// ---------------------------------------------------------------------------

/// How often the worker looks at the database even when nothing woke it
/// (rows queued by another process, clock changes).
const IDLE_POLL: Duration = Duration::from_secs(30);
/// Rows claimed per round before the worker checks for shutdown again.
const BATCH: i64 = 16;
/// Conversions interrupted this many times (e.g. a TIFF that makes the
/// process crash) are not tried again; the TIFF is mailed instead.
const MAX_CONVERT_ATTEMPTS: i64 = 3;

/// One outgoing message as listed for operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Row id: `<fax id>.<recipient index>` for a received fax,
    /// `<kind>:<key>` for a message queued by [`Outbox::enqueue_message`].
    pub id: String,
    /// `fax` for a received fax, else the kind given at enqueue (e.g.
    /// `job-report`).
    pub kind: String,
    /// The received fax it carries, if it carries one.
    pub fax_id: Option<String>,
    /// The recipient mailbox.
    pub recipient: String,
    /// Current state.
    pub state: DeliveryState,
    /// Attempts started so far.
    pub attempts: u32,
    /// When the next attempt is due (meaningful for pending and deferred).
    pub next_attempt: SystemTime,
    /// The last failure, if any.
    pub last_error: Option<String>,
    /// When the message was queued.
    pub queued_at: SystemTime,
}

/// A finished message to queue with [`Outbox::enqueue_message`].
#[derive(Debug, Clone, Copy)]
pub struct OutgoingMessage<'a> {
    /// What the message is, e.g. `job-report` or `alert`: lower-case
    /// letters, digits and `-`; `fax` is reserved for received faxes.
    pub kind: &'a str,
    /// Identifies the message within its kind; queueing the same kind and
    /// key twice queues it once. ASCII letters, digits, `.`, `_`, `-`.
    pub key: &'a str,
    /// The mailbox it goes to (also the SMTP envelope recipient).
    pub recipient: &'a str,
    /// The whole RFC 5322 message.
    pub bytes: &'a [u8],
}

/// A message whose spool file is written, ready for
/// [`Outbox::queue_prepared`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedMessage {
    id: String,
    kind: String,
    recipient: String,
    path: PathBuf,
    already_queued: bool,
}

impl PreparedMessage {
    /// The outbox row id it will have: `<kind>:<key>`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether a row with this key existed when it was prepared (its file
    /// was then left alone).
    pub fn already_queued(&self) -> bool {
        self.already_queued
    }
}

/// The row id of a message queued by key. Received-fax rows are
/// `<fax>.<n>`, and fax ids cannot contain `:`, so the two never collide.
pub fn message_row_id(kind: &str, key: &str) -> String {
    format!("{kind}:{key}")
}

fn valid_kind(kind: &str) -> bool {
    !kind.is_empty()
        && kind.len() <= 40
        && kind != "fax"
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Delivery outcomes counted by one [`Outbox`] since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounters {
    /// Messages accepted by the relay or written into the Maildir.
    pub sent: u64,
    /// Attempts that failed temporarily and were scheduled again.
    pub deferred: u64,
    /// Messages given up (the alert condition).
    pub dead: u64,
}

/// What [`Outbox::recover`] found and finished.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Messages whose send was interrupted, put back to pending (they may be
    /// delivered twice: at-least-once).
    pub requeued_sending: u64,
    /// Faxes converted to PDF during recovery.
    pub converted: u64,
    /// Faxes whose outbox rows were created during recovery.
    pub queued: u64,
    /// Message files rebuilt because they were missing.
    pub messages_rebuilt: u64,
    /// Temporary files of interrupted writes removed.
    pub temp_files_removed: u64,
    /// Faxes that recovery could not finish (see the error log).
    pub failures: u64,
}

/// The fax-to-email outbox: pipeline, delivery worker and recovery.
///
/// Cheap to clone; clones share the database, the transport and the wake-up
/// signal. Typical use by the daemon:
///
/// ```text
/// mail::install_crypto_provider();
/// let store = Store::open_in_spool(&spool).await?;
/// let outbox = Outbox::open(&config.mail, &spool, store).await?;
/// outbox.recover().await?;
/// tokio::spawn({ let o = outbox.clone(); async move { o.run_worker(shutdown).await } });
/// // for each received fax:
/// outbox.deliver_received_fax(&fax, &route).await?;
/// ```
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    from: Mailbox,
    from_domain: String,
    policy: RetryPolicy,
    spool: PathBuf,
    transport: Transport,
    wake: Notify,
    dead_letters: AtomicU64,
    sent: AtomicU64,
    deferred: AtomicU64,
    /// `[mail] alert_after_secs`; zero: no outage alert.
    alert_after: Duration,
    /// Whether an outage alert is out (raised and not yet cleared).
    alerting: AtomicBool,
    /// Where outage alerts go; until set, the log only.
    alerts: OnceLock<Arc<dyn Alerts>>,
}

/// What one claim-and-send did.
enum Tried {
    /// Another worker had the row.
    NotClaimed,
    /// Sent, or failed in a way about this message only.
    Settled,
    /// The relay is unavailable (the failure's text, and when the attempt
    /// was settled, in ms): the rest of the round need not try it.
    RelayUnavailable(String, i64),
}

enum Transport {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        relay: String,
        deadline: Duration,
    },
    Maildir(PathBuf),
}

/// A received_fax row.
struct FaxRecord {
    fax: ReceivedFax,
    recipients: Vec<String>,
    attach_tiff: bool,
    state: FaxState,
    convert_attempts: i64,
    pdf_path: Option<PathBuf>,
    thumb_path: Option<PathBuf>,
    pdf_pages: Option<u32>,
    conversion_error: Option<String>,
}

/// Where a received fax is on its way to the mailboxes (`received_fax.state`):
/// `received` (recorded; no PDF yet) → `converted` (PDF and thumbnail in
/// the spool, or the conversion error noted) → `queued` (one outbox row per
/// recipient, written in the same transaction as this state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FaxState {
    Received,
    Converted,
    Queued,
}

impl FaxState {
    /// The name stored in the database.
    fn as_str(self) -> &'static str {
        match self {
            FaxState::Received => "received",
            FaxState::Converted => "converted",
            FaxState::Queued => "queued",
        }
    }

    /// Parse a stored name.
    fn parse(s: &str) -> Option<FaxState> {
        Some(match s {
            "received" => FaxState::Received,
            "converted" => FaxState::Converted,
            "queued" => FaxState::Queued,
            _ => return None,
        })
    }
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("spool", &self.inner.spool)
            .field("from", &self.inner.from.to_string())
            .field(
                "transport",
                &match &self.inner.transport {
                    Transport::Smtp { relay, .. } => format!("smtp {relay}"),
                    Transport::Maildir(p) => format!("maildir {}", p.display()),
                },
            )
            .finish()
    }
}

use crate::clock::{now_ms, to_ms};

fn from_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

impl Outbox {
    /// Prepare the outbox: parse the sender, build the relay transport (or
    /// choose the Maildir `spool/maildir`), and create the spool folders.
    /// `store` must have been opened (which applies the schema).
    pub async fn open(
        config: &MailConfig,
        spool: &Path,
        store: Store,
    ) -> Result<Outbox, MailError> {
        let from: Mailbox = config.from.parse().map_err(|e| MailError::BadAddress {
            address: config.from.clone(),
            reason: format!("{e}"),
        })?;
        let from_domain = from.email.domain().to_string();
        let transport = match &config.relay {
            Some(relay) => Transport::Smtp {
                transport: smtp_transport(relay)?,
                relay: format!("{}:{}", relay.host, relay.port()),
                // The per-step timeout does not cover every read of the
                // dialogue; this bounds a whole attempt against a relay
                // that stops answering.
                deadline: Duration::from_secs(relay.timeout_secs.max(1) * 5),
            },
            None => Transport::Maildir(spool.join("maildir")),
        };
        let mut dirs = vec![spool.join("mail/faxes"), spool.join("mail/outbox")];
        if let Transport::Maildir(root) = &transport {
            dirs.extend(["tmp", "new", "cur"].map(|d| root.join(d)));
        }
        for d in dirs {
            tokio::fs::create_dir_all(&d)
                .await
                .map_err(MailError::io("create directory", &d))?;
        }
        Ok(Outbox {
            inner: Arc::new(Inner {
                store,
                from,
                from_domain,
                policy: config.retry_policy(),
                spool: spool.to_path_buf(),
                transport,
                wake: Notify::new(),
                dead_letters: AtomicU64::new(0),
                sent: AtomicU64::new(0),
                deferred: AtomicU64::new(0),
                alert_after: Duration::from_secs(config.alert_after_secs),
                alerting: AtomicBool::new(false),
                alerts: OnceLock::new(),
            }),
        })
    }

    /// Messages given up (moved to dead) by this process since it started:
    /// an alert counter for monitoring.
    pub fn dead_letters_total(&self) -> u64 {
        self.inner.dead_letters.load(Ordering::Relaxed)
    }

    /// Delivery outcomes of this process since it started, for metrics.
    pub fn counters(&self) -> OutboxCounters {
        OutboxCounters {
            sent: self.inner.sent.load(Ordering::Relaxed),
            deferred: self.inner.deferred.load(Ordering::Relaxed),
            dead: self.inner.dead_letters.load(Ordering::Relaxed),
        }
    }

    /// Where the "mail undeliverable" alert goes (`[mail]
    /// alert_after_secs`); set once, usually right after the alerts are
    /// built (they mail through this outbox). Until then, and when set a
    /// second time, the alert is only logged.
    pub fn set_alerts(&self, alerts: Arc<dyn Alerts>) {
        let _ = self.inner.alerts.set(alerts);
    }

    /// Whether an outage alert is out: mail has waited longer than
    /// `alert_after_secs` and has not all been delivered since.
    pub fn outage_alerting(&self) -> bool {
        self.inner.alerting.load(Ordering::Relaxed)
    }

    /// Give a dead or deferred message a fresh start after the cause was
    /// fixed (relay settings, recipient address at the relay): it becomes
    /// pending, due now, with a new age limit. Returns `false` if the message
    /// is not dead or deferred.
    pub async fn retry_now(&self, id: &str) -> Result<bool, MailError> {
        let now = now_ms();
        let changed = sqlx::query(
            "UPDATE mail_outbox SET state = 'pending', next_attempt_ms = $2, created_at_ms = $2, \
             updated_at_ms = $2 WHERE id = $1 AND state IN ('dead', 'deferred')",
        )
        .bind(id)
        .bind(now)
        .execute(self.inner.store.pool())
        .await
        .map_err(MailError::db("requeueing a message"))?
        .rows_affected();
        if changed == 1 {
            info!(message = %id, "message requeued by the operator");
            self.inner.wake.notify_one();
        }
        Ok(changed == 1)
    }

    /// The configured sender (`[mail] from`), for messages built elsewhere.
    pub fn sender(&self) -> &Mailbox {
        &self.inner.from
    }

    /// A stable `Message-ID` (without angle brackets) for the message of
    /// `kind` and `key`: the same after a rebuild, so a duplicate delivery
    /// can be recognised.
    pub fn message_id(&self, kind: &str, key: &str) -> String {
        format!("{kind}.{key}@{}", self.inner.from_domain)
    }

    /// Queue one finished message for `recipient`, idempotent by `kind` and
    /// `key`: queueing the same key again (after a crash, or by a second
    /// caller) returns `Ok(false)` and changes nothing. When this returns,
    /// the message is durably queued (file fsynced, row committed) and the
    /// delivery worker has been woken.
    pub async fn enqueue_message(&self, msg: &OutgoingMessage<'_>) -> Result<bool, MailError> {
        let prepared = self.prepare_message(msg).await?;
        if prepared.already_queued {
            return Ok(false);
        }
        let mut tx = self
            .inner
            .store
            .pool()
            .begin()
            .await
            .map_err(MailError::db("queueing a message"))?;
        let queued = self.queue_prepared(&mut tx, &prepared).await?;
        tx.commit()
            .await
            .map_err(MailError::db("committing a queued message"))?;
        self.wake();
        Ok(queued)
    }

    /// First half of [`Outbox::enqueue_message`], for callers that must
    /// commit the outbox row together with their own state change: check
    /// the message and write its spool file durably (unless a row with this
    /// key exists already). Then call [`Outbox::queue_prepared`] inside the
    /// caller's transaction and [`Outbox::wake`] after the commit. A crash
    /// between the two leaves only a spool file, which the next attempt
    /// overwrites.
    pub async fn prepare_message(
        &self,
        msg: &OutgoingMessage<'_>,
    ) -> Result<PreparedMessage, MailError> {
        if !valid_kind(msg.kind) {
            return Err(MailError::BadMessageKey(format!(
                "kind {:?}: use 1-40 lower-case letters, digits or '-', not \"fax\"",
                msg.kind
            )));
        }
        if !valid_fax_id(msg.key) {
            return Err(MailError::BadMessageKey(format!(
                "key {:?}: use 1-100 ASCII letters, digits, '.', '_' or '-', not starting with '.'",
                msg.key
            )));
        }
        let to: Mailbox = msg.recipient.parse().map_err(|e| MailError::BadAddress {
            address: msg.recipient.to_string(),
            reason: format!("{e}"),
        })?;
        let id = message_row_id(msg.kind, msg.key);
        let path = self.message_path(&id);
        let exists = sqlx::query("SELECT id FROM mail_outbox WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(self.inner.store.pool())
            .await
            .map_err(MailError::db("looking up a queued message"))?
            .is_some();
        if !exists {
            write_durable_async(&path, msg.bytes.to_vec()).await?;
        }
        Ok(PreparedMessage {
            id,
            kind: msg.kind.to_string(),
            recipient: to.to_string(),
            path,
            already_queued: exists,
        })
    }

    /// Second half of [`Outbox::enqueue_message`]: insert the row of a
    /// prepared message on `conn` (the caller's transaction, on this
    /// outbox's database). `false` when a row with this key exists already.
    pub async fn queue_prepared(
        &self,
        conn: &mut AnyConnection,
        msg: &PreparedMessage,
    ) -> Result<bool, MailError> {
        let now = now_ms();
        let inserted = sqlx::query(
            "INSERT INTO mail_outbox (id, kind, fax_id, recipient, message_path, state, \
             attempts, next_attempt_ms, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, NULL, $3, $4, 'pending', 0, $5, $5, $5) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(msg.id.as_str())
        .bind(msg.kind.as_str())
        .bind(msg.recipient.as_str())
        .bind(msg.path.to_string_lossy().into_owned())
        .bind(now)
        .execute(conn)
        .await
        .map_err(MailError::db("queueing a message"))?
        .rows_affected()
            == 1;
        if inserted {
            info!(message = %msg.id, recipient = %msg.recipient, "message queued");
        }
        Ok(inserted)
    }

    /// Make the delivery worker look at the queue now (after rows were
    /// committed by [`Outbox::queue_prepared`]).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// One outgoing message by row id ([`OutboxEntry::id`]).
    pub async fn entry(&self, id: &str) -> Result<Option<OutboxEntry>, MailError> {
        let rows = sqlx::query(
            "SELECT id, kind, fax_id, recipient, state, attempts, next_attempt_ms, last_error, \
             created_at_ms FROM mail_outbox WHERE id = $1",
        )
        .bind(id)
        .fetch_all(self.inner.store.pool())
        .await
        .map_err(MailError::db("reading a queued message"))?;
        Ok(entries(&rows)?.pop())
    }

    /// Take a received fax through the whole pipeline: record it, convert
    /// it, queue one message per mailbox of `route`, and wake the worker.
    ///
    /// When this returns `Ok`, the mail is durably queued; delivery happens
    /// in [`Outbox::run_worker`]. Calling it again for the same fax (same id
    /// and TIFF) is harmless: the pipeline resumes where it stopped.
    pub async fn deliver_received_fax(
        &self,
        fax: &ReceivedFax,
        route: &Route,
    ) -> Result<(), MailError> {
        self.record(fax, route).await?;
        self.advance(&fax.id).await
    }

    /// Step 1 alone: validate and durably record the fax and its route.
    /// Recording the same fax again keeps the first route.
    /// Conversion and queueing follow in [`Outbox::deliver_received_fax`] or,
    /// after a crash, in [`Outbox::recover`].
    pub async fn record(&self, fax: &ReceivedFax, route: &Route) -> Result<(), MailError> {
        if !valid_fax_id(&fax.id) {
            return Err(MailError::BadFaxId(fax.id.clone()));
        }
        if route.mailboxes.is_empty() {
            return Err(MailError::NoRecipients(fax.id.clone()));
        }
        let mut recipients = Vec::with_capacity(route.mailboxes.len());
        for address in &route.mailboxes {
            let mailbox: Mailbox = address.parse().map_err(|e| MailError::BadAddress {
                address: address.clone(),
                reason: format!("{e}"),
            })?;
            recipients.push(mailbox.to_string());
        }
        let now = now_ms();
        let tiff = fax.tiff.to_string_lossy().into_owned();
        let pool = self.inner.store.pool();
        sqlx::query(
            "INSERT INTO received_fax (id, tiff_path, caller, called, remote_csi, pages_received, \
             pages_expected, started_at_ms, duration_ms, bit_rate, ecm, result_text, success, \
             recipients, attach_tiff, state, convert_attempts, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
             'received', 0, $16, $16) ON CONFLICT (id) DO NOTHING",
        )
        .bind(fax.id.as_str())
        .bind(tiff.as_str())
        .bind(fax.caller.as_str())
        .bind(fax.called.as_str())
        .bind(fax.remote_csi.as_str())
        .bind(i64::from(fax.pages_received))
        .bind(fax.pages_expected.map(i64::from))
        .bind(to_ms(fax.started_at))
        .bind(fax.duration.as_millis() as i64)
        .bind(i64::from(fax.bit_rate))
        .bind(i64::from(fax.ecm))
        .bind(fax.result.as_str())
        .bind(i64::from(fax.success))
        .bind(recipients.join("\n"))
        .bind(i64::from(route.attach_tiff))
        .bind(now)
        .execute(pool)
        .await
        .map_err(MailError::db("recording a received fax"))?;
        let stored: String = sqlx::query("SELECT tiff_path FROM received_fax WHERE id = $1")
            .bind(fax.id.as_str())
            .fetch_one(pool)
            .await
            .map_err(MailError::db("reading back a received fax"))?
            .try_get("tiff_path")
            .map_err(MailError::db("reading back a received fax"))?;
        if stored != tiff {
            return Err(MailError::DuplicateFax(fax.id.clone()));
        }
        info!(fax = %fax.id, pages = fax.pages_received, recipients = recipients.len(), "received fax recorded");
        Ok(())
    }

    /// Move a recorded fax forward from whatever state it is in.
    async fn advance(&self, id: &str) -> Result<(), MailError> {
        let mut rec = self.load_fax(id).await?;
        if rec.state == FaxState::Received {
            self.convert(&rec).await?;
            rec = self.load_fax(id).await?;
        }
        if rec.state == FaxState::Converted {
            self.queue(&rec).await?;
        }
        Ok(())
    }

    async fn load_fax(&self, id: &str) -> Result<FaxRecord, MailError> {
        let row = sqlx::query("SELECT * FROM received_fax WHERE id = $1")
            .bind(id)
            .fetch_one(self.inner.store.pool())
            .await
            .map_err(MailError::db("loading a received fax"))?;
        fax_record(&row).map_err(MailError::db("decoding a received fax"))
    }

    fn pdf_path(&self, id: &str) -> PathBuf {
        self.inner
            .spool
            .join("mail/faxes")
            .join(format!("{id}.pdf"))
    }

    fn thumb_path(&self, id: &str) -> PathBuf {
        self.inner
            .spool
            .join("mail/faxes")
            .join(format!("{id}.png"))
    }

    fn message_path(&self, row_id: &str) -> PathBuf {
        self.inner
            .spool
            .join("mail/outbox")
            .join(format!("{row_id}.eml"))
    }

    /// Step 2: TIFF → PDF + thumbnail, then state `converted`.
    async fn convert(&self, rec: &FaxRecord) -> Result<(), MailError> {
        let id = rec.fax.id.clone();
        let pool = self.inner.store.pool();
        let (pdf_path, thumb_path, pdf_pages, conversion_error) = if rec.convert_attempts
            >= MAX_CONVERT_ATTEMPTS
        {
            let why = format!(
                "conversion was interrupted {} times, so it is not tried again",
                rec.convert_attempts
            );
            error!(fax = %id, "{why}; mailing the TIFF instead");
            (None, None, None, Some(why))
        } else {
            // Count the attempt before starting it, so a TIFF that kills
            // the process cannot make recovery loop for ever.
            sqlx::query(
                "UPDATE received_fax SET convert_attempts = convert_attempts + 1, \
                     updated_at_ms = $2 WHERE id = $1",
            )
            .bind(id.as_str())
            .bind(now_ms())
            .execute(pool)
            .await
            .map_err(MailError::db("counting a conversion attempt"))?;
            let tiff = rec.fax.tiff.clone();
            let pdf = self.pdf_path(&id);
            let png = self.thumb_path(&id);
            let (p, t) = (pdf.clone(), png.clone());
            let outcome = tokio::task::spawn_blocking(move || render_documents(&tiff, &p, &t))
                .await
                .unwrap_or_else(|e| Err(format!("the converter stopped: {e}")));
            match outcome {
                Ok(r) => {
                    info!(fax = %id, pages = r.pages, thumbnail = r.thumbnail, "fax converted to PDF");
                    (Some(pdf), r.thumbnail.then_some(png), Some(r.pages), None)
                }
                Err(e) => {
                    error!(fax = %id, error = %e, "fax could not be converted; mailing the TIFF instead");
                    (None, None, None, Some(e))
                }
            }
        };
        sqlx::query(
            "UPDATE received_fax SET state = 'converted', pdf_path = $2, thumb_path = $3, \
             pdf_pages = $4, conversion_error = $5, updated_at_ms = $6 \
             WHERE id = $1 AND state = 'received'",
        )
        .bind(id.as_str())
        .bind(pdf_path.map(|p| p.to_string_lossy().into_owned()))
        .bind(thumb_path.map(|p| p.to_string_lossy().into_owned()))
        .bind(pdf_pages.map(i64::from))
        .bind(conversion_error)
        .bind(now_ms())
        .execute(pool)
        .await
        .map_err(MailError::db("marking a fax converted"))?;
        Ok(())
    }

    /// Build the message for recipient `index` of a converted fax.
    async fn build_message(&self, rec: &FaxRecord, index: usize) -> Result<Vec<u8>, MailError> {
        let id = &rec.fax.id;
        let recipient = &rec.recipients[index];
        let to: Mailbox = recipient.parse().map_err(|e| MailError::BadAddress {
            address: recipient.clone(),
            reason: format!("{e}"),
        })?;
        let read = |p: &Option<PathBuf>| {
            let p = p.clone();
            async move {
                match p {
                    Some(p) => tokio::fs::read(&p)
                        .await
                        .map(Some)
                        .map_err(MailError::io("read", &p)),
                    None => Ok(None),
                }
            }
        };
        let pdf = read(&rec.pdf_path).await?;
        let thumbnail = read(&rec.thumb_path).await?;
        let tiff = if rec.attach_tiff || pdf.is_none() {
            // A TIFF that has gone (disk trouble, an over-eager cleanup) must
            // not stop the notice: the recipient still learns a fax came.
            match tokio::fs::read(&rec.fax.tiff).await {
                Ok(bytes) => Some(bytes),
                Err(e) => {
                    error!(fax = %id, tiff = %rec.fax.tiff.display(), error = %e,
                        "received TIFF unreadable; mailing without it");
                    None
                }
            }
        } else {
            None
        };
        let message_id = format!("{id}.{index}@{}", self.inner.from_domain);
        message::build(&FaxMessage {
            fax: &rec.fax,
            from: &self.inner.from,
            to: &to,
            message_id: &message_id,
            date: SystemTime::now(),
            pdf: pdf.as_deref(),
            pdf_pages: rec.pdf_pages,
            thumbnail: thumbnail.as_deref(),
            tiff: tiff.as_deref(),
            conversion_error: rec.conversion_error.as_deref(),
        })
    }

    /// Step 3: write one message file per recipient, then insert the rows
    /// and mark the fax queued in one transaction.
    async fn queue(&self, rec: &FaxRecord) -> Result<(), MailError> {
        let id = &rec.fax.id;
        let mut rows = Vec::with_capacity(rec.recipients.len());
        for index in 0..rec.recipients.len() {
            let row_id = format!("{id}.{index}");
            let bytes = self.build_message(rec, index).await?;
            let path = self.message_path(&row_id);
            write_durable_async(&path, bytes).await?;
            rows.push((row_id, path));
        }
        let now = now_ms();
        let db = MailError::db("queueing fax mail");
        let mut tx = self.inner.store.pool().begin().await.map_err(db)?;
        for ((row_id, path), recipient) in rows.iter().zip(&rec.recipients) {
            sqlx::query(
                "INSERT INTO mail_outbox (id, kind, fax_id, recipient, message_path, state, \
                 attempts, next_attempt_ms, created_at_ms, updated_at_ms) \
                 VALUES ($1, 'fax', $2, $3, $4, 'pending', 0, $5, $5, $5) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(row_id.as_str())
            .bind(id.as_str())
            .bind(recipient.as_str())
            .bind(path.to_string_lossy().into_owned())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(MailError::db("queueing fax mail"))?;
        }
        sqlx::query(
            "UPDATE received_fax SET state = 'queued', updated_at_ms = $2 \
             WHERE id = $1 AND state = 'converted'",
        )
        .bind(id.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(MailError::db("queueing fax mail"))?;
        tx.commit()
            .await
            .map_err(MailError::db("committing queued fax mail"))?;
        info!(fax = %id, messages = rows.len(), "fax mail queued");
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Finish whatever a previous process left unfinished. Call once at
    /// start, before [`Outbox::run_worker`] and before new faxes arrive.
    ///
    /// - messages left `sending` go back to `pending` (they may be delivered
    ///   twice: at-least-once);
    /// - faxes recorded but not converted are converted;
    /// - converted faxes without outbox rows get their rows;
    /// - queued messages whose file is missing are rebuilt;
    /// - temporary files of interrupted writes are removed.
    pub async fn recover(&self) -> Result<RecoveryReport, MailError> {
        let mut report = RecoveryReport::default();
        let pool = self.inner.store.pool();
        report.temp_files_removed = self.remove_temp_files().await;

        report.requeued_sending = sqlx::query(
            "UPDATE mail_outbox SET state = 'pending', updated_at_ms = $1 WHERE state = 'sending'",
        )
        .bind(now_ms())
        .execute(pool)
        .await
        .map_err(MailError::db("requeueing interrupted sends"))?
        .rows_affected();
        if report.requeued_sending > 0 {
            warn!(
                count = report.requeued_sending,
                "messages were being sent when the previous process stopped; sending them again (a recipient may get a duplicate)"
            );
        }

        let unfinished = sqlx::query(
            "SELECT id, state FROM received_fax WHERE state IN ('received', 'converted') \
             ORDER BY created_at_ms",
        )
        .fetch_all(pool)
        .await
        .map_err(MailError::db("listing unfinished faxes"))?;
        for row in unfinished {
            let id: String = row
                .try_get("id")
                .map_err(MailError::db("listing unfinished faxes"))?;
            let state: String = row
                .try_get("state")
                .map_err(MailError::db("listing unfinished faxes"))?;
            let state = FaxState::parse(&state).unwrap_or(FaxState::Received);
            match self.advance(&id).await {
                Ok(()) => {
                    if state == FaxState::Received {
                        report.converted += 1;
                    }
                    report.queued += 1;
                    info!(fax = %id, from_state = state.as_str(), "recovered an unfinished fax");
                }
                Err(e) => {
                    report.failures += 1;
                    error!(fax = %id, error = %e, "cannot finish a fax left by the previous process");
                }
            }
        }

        let waiting = sqlx::query(
            "SELECT id, fax_id, message_path FROM mail_outbox \
             WHERE state IN ('pending', 'deferred')",
        )
        .fetch_all(pool)
        .await
        .map_err(MailError::db("checking queued message files"))?;
        for row in waiting {
            let get = |c: &str| -> Result<Option<String>, MailError> {
                row.try_get(c)
                    .map_err(MailError::db("checking queued message files"))
            };
            let (row_id, fax_id, path) = (
                get("id")?.unwrap_or_default(),
                get("fax_id")?,
                PathBuf::from(get("message_path")?.unwrap_or_default()),
            );
            if tokio::fs::try_exists(&path).await.unwrap_or(false) {
                continue;
            }
            let Some(fax_id) = fax_id else {
                // A message queued by key exists only as its file.
                report.failures += 1;
                error!(message = %row_id, path = %path.display(),
                    "queued message file is missing and cannot be rebuilt; it will be given up");
                continue;
            };
            match self.rebuild_message(&fax_id, &row_id, &path).await {
                Ok(()) => report.messages_rebuilt += 1,
                Err(e) => {
                    report.failures += 1;
                    error!(message = %row_id, error = %e, "queued message file is missing and cannot be rebuilt");
                }
            }
        }

        // Messages sent just before the crash may still have their file.
        let sent = sqlx::query("SELECT message_path FROM mail_outbox WHERE state = 'sent'")
            .fetch_all(pool)
            .await
            .map_err(MailError::db("listing sent messages"))?;
        for row in sent {
            if let Ok(p) = row.try_get::<String, _>("message_path") {
                let _ = tokio::fs::remove_file(p).await;
            }
        }
        info!(?report, "mail outbox recovered");
        self.inner.wake.notify_one();
        Ok(report)
    }

    async fn rebuild_message(
        &self,
        fax_id: &str,
        row_id: &str,
        path: &Path,
    ) -> Result<(), MailError> {
        let rec = self.load_fax(fax_id).await?;
        let index: usize = row_id
            .rsplit('.')
            .next()
            .and_then(|s| s.parse().ok())
            .filter(|i| *i < rec.recipients.len())
            .ok_or_else(|| MailError::Build {
                fax: fax_id.to_string(),
                reason: format!("outbox row {row_id} does not name a recipient of the fax"),
            })?;
        let bytes = self.build_message(&rec, index).await?;
        write_durable_async(path, bytes).await
    }

    async fn remove_temp_files(&self) -> u64 {
        let mut removed = 0;
        for dir in ["mail/faxes", "mail/outbox"] {
            let dir = self.inner.spool.join(dir);
            let Ok(mut entries) = tokio::fs::read_dir(&dir).await else {
                continue;
            };
            while let Ok(Some(e)) = entries.next_entry().await {
                let name = e.file_name().to_string_lossy().into_owned();
                if crate::durable::is_leftover(&name)
                    && tokio::fs::remove_file(e.path()).await.is_ok()
                {
                    removed += 1;
                }
            }
        }
        removed
    }

    /// Messages that need attention: dead letters and deferred messages,
    /// oldest first.
    pub async fn undelivered(&self) -> Result<Vec<OutboxEntry>, MailError> {
        let rows = sqlx::query(
            "SELECT id, kind, fax_id, recipient, state, attempts, next_attempt_ms, last_error, \
             created_at_ms FROM mail_outbox WHERE state IN ('dead', 'deferred') \
             ORDER BY created_at_ms, id",
        )
        .fetch_all(self.inner.store.pool())
        .await
        .map_err(MailError::db("listing undelivered messages"))?;
        entries(&rows)
    }

    /// Every outgoing message of one fax, ordered by row id.
    pub async fn entries_for_fax(&self, fax_id: &str) -> Result<Vec<OutboxEntry>, MailError> {
        let rows = sqlx::query(
            "SELECT id, kind, fax_id, recipient, state, attempts, next_attempt_ms, last_error, \
             created_at_ms FROM mail_outbox WHERE fax_id = $1 ORDER BY id",
        )
        .bind(fax_id)
        .fetch_all(self.inner.store.pool())
        .await
        .map_err(MailError::db("listing a fax's messages"))?;
        entries(&rows)
    }

    /// Deliver messages until `shutdown` completes.
    ///
    /// Due rows are claimed (`sending`, attempt counted, committed) one at a
    /// time, sent, and their outcome committed. A send in progress when
    /// `shutdown` completes is finished first (bounded by the relay
    /// timeout), so a clean stop never leaves a row in `sending`.
    pub async fn run_worker(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        info!(transport = ?self, "mail delivery worker started");
        loop {
            let more = match self.deliver_due().await {
                Ok(n) => n as i64 >= BATCH,
                Err(e) => {
                    error!(error = %e, "mail delivery round failed; retrying shortly");
                    false
                }
            };
            let check_in = match self.check_outage().await {
                Ok(d) => d,
                Err(e) => {
                    error!(error = %e, "checking how long mail has waited failed");
                    None
                }
            };
            let wait = if more {
                Duration::ZERO
            } else {
                match self.next_due_in().await {
                    Ok(Some(d)) => d.min(IDLE_POLL),
                    Ok(None) => IDLE_POLL,
                    Err(_) => Duration::from_secs(5),
                }
            };
            let wait = check_in.map_or(wait, |c| wait.min(c));
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        info!("mail delivery worker stopped");
    }

    /// Raise or clear the outage alert from the age of the oldest message
    /// still waiting ([`outage_alert`]); returns when to look again.
    async fn check_outage(&self) -> Result<Option<Duration>, MailError> {
        let what = || MailError::db("finding the oldest undelivered message");
        let row = sqlx::query(
            "SELECT COUNT(*) AS waiting, MIN(created_at_ms) AS oldest FROM mail_outbox \
             WHERE state IN ('pending', 'deferred', 'sending')",
        )
        .fetch_one(self.inner.store.pool())
        .await
        .map_err(what())?;
        let waiting: i64 = row.try_get("waiting").map_err(what())?;
        let oldest: Option<i64> = row.try_get("oldest").map_err(what())?;
        let oldest_waiting = oldest.map(|ms| Duration::from_millis((now_ms() - ms).max(0) as u64));
        let alert_after = self.inner.alert_after;
        let alerting = self.inner.alerting.load(Ordering::Relaxed);
        match outage_alert(alert_after, alerting, oldest_waiting) {
            OutageAlert::Raise => {
                self.inner.alerting.store(true, Ordering::Relaxed);
                let last_error: Option<String> = sqlx::query(
                    "SELECT last_error FROM mail_outbox WHERE state IN ('pending', 'deferred', 'sending') \
                     ORDER BY created_at_ms LIMIT 1",
                )
                .fetch_optional(self.inner.store.pool())
                .await
                .ok()
                .flatten()
                .and_then(|r| r.try_get("last_error").ok())
                .flatten();
                let waited = message::format_duration(oldest_waiting.unwrap_or_default());
                let last_error = last_error.unwrap_or_else(|| "none recorded".into());
                let relay = match &self.inner.transport {
                    Transport::Smtp { relay, .. } => relay.clone(),
                    Transport::Maildir(p) => p.display().to_string(),
                };
                error!(waiting, oldest_waited = %waited, alert_after_secs = alert_after.as_secs(), %relay, %last_error,
                    "ALERT: mail has been undeliverable for longer than [mail] alert_after_secs; it is kept and retried");
                if let Some(alerts) = self.inner.alerts.get() {
                    alerts.alert(
                        &format!("mail undeliverable for {waited}"),
                        &format!(
                            "{waiting} message(s) (received faxes, reports, alerts) are waiting to be sent through {relay}; \
                             the oldest has waited {waited}. Last error: {last_error}. \
                             The messages are kept and retried; check that the relay is up and that [mail.relay] is right. \
                             This alert is sent once per outage; the log says when it clears."
                        ),
                    );
                }
            }
            OutageAlert::Clear => {
                self.inner.alerting.store(false, Ordering::Relaxed);
                info!(
                    waiting,
                    "mail delivery recovered: no message has waited longer than [mail] alert_after_secs any more"
                );
            }
            OutageAlert::Keep => {}
        }
        Ok(outage_check_in(
            alert_after,
            self.inner.alerting.load(Ordering::Relaxed),
            oldest_waiting,
        ))
    }

    /// One delivery round: every row due now (at most a batch). Returns the
    /// number of rows attempted.
    ///
    /// When an attempt finds the relay unavailable ([`Failure::Unavailable`]:
    /// unreachable, silent, 421), the other rows of the round are deferred
    /// without trying it, as Postfix suspends delivery to a dead
    /// destination: a relay that accepts connections and then says nothing
    /// would otherwise cost every queued message a full attempt timeout in
    /// turn. Each of them counts the attempt, so every message keeps its
    /// own back-off, attempt and age limits.
    pub async fn deliver_due(&self) -> Result<usize, MailError> {
        let ids = sqlx::query(
            "SELECT id FROM mail_outbox WHERE state IN ('pending', 'deferred') \
             AND next_attempt_ms <= $1 ORDER BY next_attempt_ms, id LIMIT $2",
        )
        .bind(now_ms())
        .bind(BATCH)
        .fetch_all(self.inner.store.pool())
        .await
        .map_err(MailError::db("listing due messages"))?;
        let mut attempted = 0;
        let mut unavailable: Option<(String, i64)> = None;
        for row in ids {
            let id: String = row
                .try_get("id")
                .map_err(MailError::db("listing due messages"))?;
            let skip = unavailable.as_ref().map(|(t, at)| (t.as_str(), *at));
            match self.deliver_one(&id, skip).await? {
                Tried::NotClaimed => {}
                Tried::Settled => attempted += 1,
                Tried::RelayUnavailable(text, at) => {
                    attempted += 1;
                    unavailable.get_or_insert((text, at));
                }
            }
        }
        Ok(attempted)
    }

    async fn next_due_in(&self) -> Result<Option<Duration>, MailError> {
        let row = sqlx::query(
            "SELECT MIN(next_attempt_ms) AS due FROM mail_outbox \
             WHERE state IN ('pending', 'deferred')",
        )
        .fetch_one(self.inner.store.pool())
        .await
        .map_err(MailError::db("finding the next due message"))?;
        let due: Option<i64> = row
            .try_get("due")
            .map_err(MailError::db("finding the next due message"))?;
        Ok(due.map(|d| Duration::from_millis((d - now_ms()).max(0) as u64)))
    }

    /// Claim, send and settle one row. With `unavailable` (the relay's
    /// failure earlier in this round and when it was settled) the row is
    /// not sent but deferred as if it had failed then, so that messages
    /// with as many attempts keep one schedule and their next round finds
    /// them due together.
    async fn deliver_one(
        &self,
        id: &str,
        unavailable: Option<(&str, i64)>,
    ) -> Result<Tried, MailError> {
        let pool = self.inner.store.pool();
        let claimed = sqlx::query(
            "UPDATE mail_outbox SET state = 'sending', attempts = attempts + 1, updated_at_ms = $2 \
             WHERE id = $1 AND state IN ('pending', 'deferred')",
        )
        .bind(id)
        .bind(now_ms())
        .execute(pool)
        .await
        .map_err(MailError::db("claiming a message"))?
        .rows_affected();
        if claimed != 1 {
            return Ok(Tried::NotClaimed);
        }
        let row = sqlx::query(
            "SELECT kind, fax_id, recipient, message_path, attempts, created_at_ms \
             FROM mail_outbox WHERE id = $1",
        )
        .bind(id)
        .fetch_one(pool)
        .await
        .map_err(MailError::db("loading a claimed message"))?;
        let db = || MailError::db("loading a claimed message");
        let kind: String = row.try_get("kind").map_err(db())?;
        let fax_id: Option<String> = row.try_get("fax_id").map_err(db())?;
        let recipient: String = row.try_get("recipient").map_err(db())?;
        let path = PathBuf::from(row.try_get::<String, _>("message_path").map_err(db())?);
        let attempts = row.try_get::<i64, _>("attempts").map_err(db())?.max(0) as u32;
        let created = row.try_get::<i64, _>("created_at_ms").map_err(db())?;

        let outcome = match (unavailable, tokio::fs::read(&path).await, &fax_id) {
            (Some((text, _)), _, _) => Err(Failure::Unavailable(format!(
                "not tried, the relay was unavailable a moment ago: {text}"
            ))),
            (None, Ok(bytes), _) => self.send(&recipient, bytes).await,
            // The spool file was the only copy of a message queued by key:
            // retrying cannot bring it back.
            (None, Err(e), None) => Err(Failure::Permanent(format!(
                "message file {} unreadable ({e}) and it cannot be rebuilt",
                path.display()
            ))),
            (None, Err(e), Some(fax_id)) => match self.rebuild_message(fax_id, id, &path).await {
                Ok(()) => match tokio::fs::read(&path).await {
                    Ok(bytes) => self.send(&recipient, bytes).await,
                    Err(e) => Err(Failure::Temporary(format!(
                        "cannot read {}: {e}",
                        path.display()
                    ))),
                },
                Err(rebuild) => Err(Failure::Temporary(format!(
                    "message file {} unreadable ({e}) and not rebuilt ({rebuild})",
                    path.display()
                ))),
            },
        };

        let now = unavailable.map_or_else(now_ms, |(_, at)| at);
        let tried = match &outcome {
            Err(Failure::Unavailable(text)) => Tried::RelayUnavailable(text.clone(), now),
            _ => Tried::Settled,
        };
        match outcome {
            Ok(detail) => {
                sqlx::query(
                    "UPDATE mail_outbox SET state = 'sent', sent_at_ms = $2, updated_at_ms = $2, \
                     last_error = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(now)
                .execute(pool)
                .await
                .map_err(MailError::db("marking a message sent"))?;
                self.inner.sent.fetch_add(1, Ordering::Relaxed);
                info!(message = %id, %kind, %recipient, attempts, %detail, "mail delivered");
                let _ = tokio::fs::remove_file(&path).await;
            }
            Err(failure) => {
                let age = Duration::from_millis((now - created).max(0) as u64);
                match self.inner.policy.decide(attempts, age, &failure) {
                    RetryDecision::RetryAfter(delay) => {
                        sqlx::query(
                            "UPDATE mail_outbox SET state = 'deferred', next_attempt_ms = $2, \
                             last_error = $3, updated_at_ms = $4 WHERE id = $1",
                        )
                        .bind(id)
                        .bind(now + delay.as_millis() as i64)
                        .bind(failure.text())
                        .bind(now)
                        .execute(pool)
                        .await
                        .map_err(MailError::db("deferring a message"))?;
                        self.inner.deferred.fetch_add(1, Ordering::Relaxed);
                        warn!(message = %id, %kind, %recipient, attempts, retry_in = ?delay, error = failure.text(), "mail deferred");
                    }
                    RetryDecision::GiveUp(reason) => {
                        sqlx::query(
                            "UPDATE mail_outbox SET state = 'dead', last_error = $2, \
                             updated_at_ms = $3 WHERE id = $1",
                        )
                        .bind(id)
                        .bind(reason.as_str())
                        .bind(now)
                        .execute(pool)
                        .await
                        .map_err(MailError::db("marking a message dead"))?;
                        self.inner.dead_letters.fetch_add(1, Ordering::Relaxed);
                        error!(message = %id, %kind, fax = fax_id.as_deref().unwrap_or("-"), %recipient, attempts, reason = %reason,
                            "ALERT: mail could not be delivered and was given up; the message stays in the spool");
                    }
                }
            }
        }
        Ok(tried)
    }

    /// One attempt over the configured transport; `Ok` carries the relay's
    /// reply or the Maildir file name.
    async fn send(&self, recipient: &str, bytes: Vec<u8>) -> Result<String, Failure> {
        let to: Mailbox = recipient
            .parse()
            .map_err(|e| Failure::Permanent(format!("recipient {recipient:?} is invalid: {e}")))?;
        match &self.inner.transport {
            Transport::Smtp {
                transport,
                relay,
                deadline,
            } => {
                let envelope = Envelope::new(Some(self.inner.from.email.clone()), vec![to.email])
                    .map_err(|e| Failure::Permanent(format!("bad envelope: {e}")))?;
                let attempt =
                    tokio::time::timeout(*deadline, transport.send_raw(&envelope, &bytes));
                let Ok(result) = attempt.await else {
                    return Err(Failure::Unavailable(format!(
                        "{relay}: no answer within {} s",
                        deadline.as_secs()
                    )));
                };
                match result {
                    Ok(response) => Ok(format!(
                        "{relay} answered {} {}",
                        response.code(),
                        response.message().collect::<Vec<_>>().join(" ")
                    )),
                    // Only a 5xx reply is final. Client-side failures (no STARTTLS
                    // offered, no common AUTH mechanism) are settings an operator
                    // can fix, so they are retried like a relay that is down.
                    // A 535 to AUTH is also a setting (the password), so, as
                    // Postfix's smtp_sasl_auth_soft_bounce does, it defers.
                    Err(e) if e.is_permanent() && !is_auth_refusal(&e) => {
                        Err(Failure::Permanent(format!("{relay}: {e}")))
                    }
                    // A 4xx reply to this message (451 at DATA) is about
                    // the message; anything else (no connection, 421, TLS,
                    // AUTH) is about the relay.
                    Err(e)
                        if e.is_transient()
                            && e.status().is_some_and(|c| c.to_string() != "421") =>
                    {
                        Err(Failure::Temporary(format!("{relay}: {e}")))
                    }
                    Err(e) => Err(Failure::Unavailable(format!("{relay}: {e}"))),
                }
            }
            Transport::Maildir(root) => {
                let root = root.clone();
                let from = self.inner.from.email.to_string();
                let rcpt = to.email.to_string();
                tokio::task::spawn_blocking(move || maildir_deliver(&root, &from, &rcpt, &bytes))
                    .await
                    .map_err(|e| Failure::Temporary(format!("maildir delivery stopped: {e}")))?
                    .map_err(|e| Failure::Temporary(format!("maildir delivery failed: {e}")))
            }
        }
    }
}

/// Whether a 5xx reply refuses our authentication rather than the message
/// (RFC 4954 §6: 530 authentication required, 534 mechanism too weak, 535
/// credentials invalid, 538 encryption required).
fn is_auth_refusal(e: &lettre::transport::smtp::Error) -> bool {
    e.status()
        .is_some_and(|code| matches!(code.to_string().as_str(), "530" | "534" | "535" | "538"))
}

fn smtp_transport(relay: &RelayConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let params = || -> Result<TlsParameters, MailError> {
        let mut b = TlsParameters::builder(relay.host.clone());
        if let Some(ca) = &relay.ca_file {
            let pem = crate::durable::read_bounded(ca, crate::durable::CONFIG_FILE_LIMIT).map_err(
                |e| MailError::Relay(format!("cannot read ca_file {}: {e}", ca.display())),
            )?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|e| MailError::Relay(format!("ca_file {}: {e}", ca.display())))?;
            b = b.add_root_certificate(cert);
        }
        b.build_rustls()
            .map_err(|e| MailError::Relay(format!("TLS settings for {}: {e}", relay.host)))
    };
    let tls = match relay.tls {
        RelayTls::Starttls => Tls::Required(params()?),
        RelayTls::Opportunistic => Tls::Opportunistic(params()?),
        RelayTls::Tls => Tls::Wrapper(params()?),
        RelayTls::None => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(relay.host.as_str())
        .port(relay.port())
        .tls(tls)
        .timeout(Some(Duration::from_secs(relay.timeout_secs.max(1))));
    if let (Some(user), Some(password)) = (&relay.username, &relay.password) {
        // check-config refuses this too; never send the password in clear.
        if !relay.tls.protects_password() {
            return Err(MailError::Relay(format!(
                "the relay password is only sent over TLS, and tls is \"{}\"; set tls = \
                 \"starttls\" or \"tls\"",
                relay.tls.as_str()
            )));
        }
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.build())
}

fn fax_record(row: &AnyRow) -> Result<FaxRecord, sqlx::Error> {
    let s = |c: &str| row.try_get::<String, _>(c);
    let i = |c: &str| row.try_get::<i64, _>(c);
    let oi = |c: &str| row.try_get::<Option<i64>, _>(c);
    let os = |c: &str| row.try_get::<Option<String>, _>(c);
    let u32_of = |v: i64| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
    Ok(FaxRecord {
        fax: ReceivedFax {
            id: s("id")?,
            tiff: PathBuf::from(s("tiff_path")?),
            caller: s("caller")?,
            called: s("called")?,
            remote_csi: s("remote_csi")?,
            pages_received: u32_of(i("pages_received")?),
            pages_expected: oi("pages_expected")?.map(u32_of),
            started_at: from_ms(i("started_at_ms")?),
            duration: Duration::from_millis(i("duration_ms")?.max(0) as u64),
            bit_rate: u32_of(i("bit_rate")?),
            ecm: i("ecm")? != 0,
            result: s("result_text")?,
            success: i("success")? != 0,
        },
        recipients: s("recipients")?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect(),
        attach_tiff: i("attach_tiff")? != 0,
        state: {
            let state = s("state")?;
            FaxState::parse(&state).ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown received fax state {state:?}").into())
            })?
        },
        convert_attempts: i("convert_attempts")?,
        pdf_path: os("pdf_path")?.map(PathBuf::from),
        thumb_path: os("thumb_path")?.map(PathBuf::from),
        pdf_pages: oi("pdf_pages")?.map(u32_of),
        conversion_error: os("conversion_error")?,
    })
}

fn entries(rows: &[AnyRow]) -> Result<Vec<OutboxEntry>, MailError> {
    rows.iter()
        .map(|r| outbox_entry(r).map_err(MailError::db("decoding an outbox message")))
        .collect()
}

fn outbox_entry(row: &AnyRow) -> Result<OutboxEntry, sqlx::Error> {
    let state: String = row.try_get("state")?;
    Ok(OutboxEntry {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        fax_id: row.try_get("fax_id")?,
        recipient: row.try_get("recipient")?,
        state: DeliveryState::parse(&state)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown outbox state {state:?}").into()))?,
        attempts: row.try_get::<i64, _>("attempts")?.clamp(0, u32::MAX.into()) as u32,
        next_attempt: from_ms(row.try_get("next_attempt_ms")?),
        last_error: row.try_get("last_error")?,
        queued_at: from_ms(row.try_get("created_at_ms")?),
    })
}

// ---------------------------------------------------------------------------
// Files: durable writes and Maildir delivery.
// ---------------------------------------------------------------------------

/// [`crate::durable::write`], with the error a mail error.
fn write_durable(path: &Path, bytes: &[u8]) -> Result<(), MailError> {
    crate::durable::write(path, bytes).map_err(|e| MailError::Io {
        action: e.action,
        path: e.path,
        source: e.source,
    })
}

async fn write_durable_async(path: &Path, bytes: Vec<u8>) -> Result<(), MailError> {
    let p = path.to_path_buf();
    tokio::task::spawn_blocking(move || write_durable(&p, &bytes))
        .await
        .map_err(|e| MailError::Io {
            action: "write",
            path: path.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?
}

/// Deliver into a Maildir (the qmail `maildir(5)` protocol): write the
/// message under a unique name in `tmp/`, fsync it, then rename it into
/// `new/` (atomic, so a mail reader never sees a partial message) and fsync
/// `new/`. `Return-Path` and `Delivered-To` are prepended as a local delivery
/// agent does (RFC 5321 §4.4).
fn maildir_deliver(root: &Path, from: &str, rcpt: &str, bytes: &[u8]) -> std::io::Result<String> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().replace(['/', ':'], "_"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    let name = format!(
        "{}.M{}P{}Q{}.{host}",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    for d in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(root.join(d))?;
    }
    let tmp = root.join("tmp").join(&name);
    let new = root.join("new").join(&name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)?;
    let write = (|| {
        write!(f, "Return-Path: <{from}>\r\nDelivered-To: {rcpt}\r\n")?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    drop(f);
    if let Err(e) = write {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, &new)?;
    crate::durable::sync_dir(&root.join("new"))?;
    Ok(format!("maildir new/{name}"))
}

// ---------------------------------------------------------------------------
// Conversion: received TIFF → PDF and first-page thumbnail.
// ---------------------------------------------------------------------------

/// What conversion produced.
struct Rendered {
    pages: u32,
    thumbnail: bool,
}

/// Convert `tiff` into `pdf` (G4 pages carried over without re-encoding)
/// and a PNG thumbnail of page 1 at `png`; both are written durably by the
/// document engine (temporary file, fsync, rename). A thumbnail failure is
/// not fatal: the mail then goes without the inline picture.
fn render_documents(tiff: &Path, pdf: &Path, png: &Path) -> Result<Rendered, String> {
    let report = crate::docs::convert_to_pdf(tiff, pdf).map_err(|e| e.to_string())?;
    let thumbnail = match crate::docs::thumbnail_png(tiff, png) {
        Ok(()) => true,
        Err(e) => {
            warn!(tiff = %tiff.display(), error = %e, "no thumbnail for the fax email");
            false
        }
    };
    Ok(Rendered {
        pages: u32::try_from(report.pages).unwrap_or(u32::MAX),
        thumbnail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The pooled transport starts its pool's task on the runtime.
    #[tokio::test]
    async fn the_relay_password_never_goes_out_in_clear() {
        crate::mail::install_crypto_provider();
        for (tls, sent) in [
            (RelayTls::Starttls, true),
            (RelayTls::Tls, true),
            (RelayTls::Opportunistic, false),
            (RelayTls::None, false),
        ] {
            let relay = RelayConfig {
                host: "smtp.example.org".into(),
                port: None,
                tls,
                username: Some("fax".into()),
                password: Some("pw".into()),
                ca_file: None,
                timeout_secs: 10,
            };
            match smtp_transport(&relay) {
                Ok(_) => assert!(sent, "{tls:?}"),
                Err(e) => {
                    assert!(!sent, "{tls:?}: {e}");
                    assert!(e.to_string().contains("only sent over TLS"), "{e}");
                }
            }
            let anonymous = RelayConfig {
                username: None,
                password: None,
                ..relay
            };
            assert!(smtp_transport(&anonymous).is_ok(), "{tls:?}");
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_secs(60),
            max: Duration::from_secs(3600),
            max_attempts: 10,
            max_age: Duration::from_secs(5 * 86_400),
        }
    }

    #[test]
    fn backoff_doubles_to_the_cap() {
        let p = policy();
        let secs: Vec<u64> = (1..=9).map(|a| p.backoff(a).as_secs()).collect();
        assert_eq!(secs, [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(p.backoff(0).as_secs(), 60);
        assert_eq!(p.backoff(u32::MAX), p.max);
    }

    #[test]
    fn temporary_failures_retry_then_give_up() {
        let p = policy();
        let t = Failure::Temporary("451 4.3.0 try later".into());
        assert_eq!(
            p.decide(1, Duration::ZERO, &t),
            RetryDecision::RetryAfter(Duration::from_secs(60))
        );
        match p.decide(10, Duration::ZERO, &t) {
            RetryDecision::GiveUp(r) => assert!(r.contains("10 attempts") && r.contains("451")),
            other => panic!("{other:?}"),
        }
        match p.decide(3, Duration::from_secs(5 * 86_400), &t) {
            RetryDecision::GiveUp(r) => assert!(r.contains("in the queue"), "{r}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unavailable_relays_retry_like_temporary_failures() {
        let p = policy();
        let u = Failure::Unavailable("127.0.0.1:25: 421 4.3.2 not available".into());
        assert_eq!(
            p.decide(2, Duration::ZERO, &u),
            RetryDecision::RetryAfter(Duration::from_secs(120))
        );
        assert!(matches!(
            p.decide(10, Duration::ZERO, &u),
            RetryDecision::GiveUp(r) if r.contains("421")
        ));
        assert!(u.text().contains("421"));
    }

    #[test]
    fn one_outage_alert_per_outage() {
        use OutageAlert::*;
        let s = Duration::from_secs;
        let hour = s(3600);
        // (alert_after, alerting, oldest waiting) → decision, next check.
        type Row = (
            Duration,
            bool,
            Option<Duration>,
            OutageAlert,
            Option<Duration>,
        );
        let table: [Row; 11] = [
            // Nothing waiting: nothing to do, nothing to look out for.
            (hour, false, None, Keep, None),
            // Waiting, not yet long: look again when it will be.
            (hour, false, Some(s(600)), Keep, Some(s(3000))),
            (hour, false, Some(hour), Keep, Some(Duration::ZERO)),
            // Longer than allowed: raise, once.
            (hour, false, Some(s(3601)), Raise, None),
            (hour, true, Some(s(3601)), Keep, None),
            (hour, true, Some(s(86_400)), Keep, None),
            // Delivered (or only newer mail waits): cleared.
            (hour, true, None, Clear, None),
            (hour, true, Some(s(5)), Clear, Some(s(3595))),
            // Off.
            (Duration::ZERO, false, Some(s(86_400)), Keep, None),
            (Duration::ZERO, false, None, Keep, None),
            // Switched off while an alert was out: cleared.
            (Duration::ZERO, true, Some(s(86_400)), Clear, None),
        ];
        for (after, alerting, oldest, decision, check) in table {
            let row = format!("{after:?} {alerting} {oldest:?}");
            assert_eq!(outage_alert(after, alerting, oldest), decision, "{row}");
            let next_alerting = match decision {
                Raise => true,
                Clear => false,
                Keep => alerting,
            };
            assert_eq!(
                outage_check_in(after, next_alerting, oldest),
                check.map(|c| c + Duration::from_millis(10)),
                "{row}"
            );
        }
    }

    #[test]
    fn permanent_failure_is_dead_at_once() {
        let p = policy();
        let f = Failure::Permanent("550 5.1.1 no such user".into());
        match p.decide(1, Duration::ZERO, &f) {
            RetryDecision::GiveUp(r) => assert!(r.contains("550"), "{r}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn received_fax_states_round_trip_and_unknown_ones_are_refused() {
        for s in [FaxState::Received, FaxState::Converted, FaxState::Queued] {
            assert_eq!(FaxState::parse(s.as_str()), Some(s));
        }
        assert_eq!(FaxState::parse("mailed"), None);
    }

    #[test]
    fn state_machine_transitions() {
        use DeliveryState::*;
        let all = [Pending, Sending, Sent, Deferred, Dead];
        let allowed: Vec<(DeliveryState, DeliveryState)> = all
            .iter()
            .flat_map(|a| all.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.can_become(*b))
            .collect();
        assert_eq!(
            allowed,
            [
                (Pending, Sending),
                (Sending, Pending),
                (Sending, Sent),
                (Sending, Deferred),
                (Sending, Dead),
                (Deferred, Sending),
            ]
        );
        for s in all {
            assert_eq!(DeliveryState::parse(s.as_str()), Some(s));
        }
        assert_eq!(DeliveryState::parse("lost"), None);
    }

    #[test]
    fn maildir_delivery_is_complete_in_new() {
        let dir = tempfile::tempdir().unwrap();
        let name = maildir_deliver(
            dir.path(),
            "fax@example.org",
            "a@example.org",
            b"Subject: x\r\n\r\nbody\r\n",
        )
        .unwrap();
        let file = name.strip_prefix("maildir new/").unwrap();
        let text = std::fs::read_to_string(dir.path().join("new").join(file)).unwrap();
        assert!(
            text.starts_with("Return-Path: <fax@example.org>\r\nDelivered-To: a@example.org\r\n")
        );
        assert!(text.ends_with("body\r\n"));
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
    }

    #[test]
    fn durable_write_replaces_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.eml");
        write_durable(&p, b"one").unwrap();
        write_durable(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
