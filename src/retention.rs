//! Retention: old faxes are purged from the spool and the store.
//!
//! Received faxes (TIFF, PDF, thumbnail and their mail records) are kept
//! `received_days` after they arrived; outgoing fax jobs (the rendered
//! document, attempts and history) `sent_days` after they reached a final
//! state. Nothing is purged that still has work pending: a received fax
//! whose mail is not delivered to every recipient (pending, deferred or a
//! dead letter an operator has to look at) stays, and so does a job whose
//! delivery report is not yet in the mail outbox. PCI-DSS flags and their
//! evidence are never purged here: they are the compliance record.
//!
//! Files go first and rows after, so a crash in between leaves a row whose
//! files are already gone; the next purge finds it again (a missing file is
//! not an error). The daemon runs [`purge`] every `interval_minutes`.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sqlx::Row;
use tracing::{info, warn};

use crate::problem::{Problem, Validate};
use crate::store::Store;

/// One day in milliseconds.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// `[retention]`: how long faxes are kept.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Days a received fax (files and records) is kept after it arrived,
    /// once its mail is delivered; 0 keeps them forever.
    pub received_days: u32,
    /// Days an outgoing fax job (document, attempts, history) is kept
    /// after it finished; 0 keeps them forever.
    pub sent_days: u32,
    /// Minutes between two purges.
    pub interval_minutes: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            received_days: 90,
            sent_days: 90,
            interval_minutes: 60,
        }
    }
}

impl Validate for RetentionConfig {
    /// Every value that cannot work.
    fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if self.interval_minutes == 0 {
            out.push(Problem {
                key: "retention.interval_minutes".into(),
                problem: "is 0".into(),
                fix: "purge at most every few minutes, e.g. 60".into(),
            });
        }
        for (key, days) in [
            ("retention.received_days", self.received_days),
            ("retention.sent_days", self.sent_days),
        ] {
            if days > 36_500 {
                out.push(Problem {
                    key: key.into(),
                    problem: format!("{days} days is more than a century"),
                    fix: "use 0 to keep faxes forever, or a number of days".into(),
                });
            }
        }
        out
    }
}

/// What one purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Received faxes removed.
    pub received: u32,
    /// Outgoing jobs removed.
    pub jobs: u32,
    /// Files deleted.
    pub files: u32,
}

/// Why a purge stopped.
#[derive(Debug, thiserror::Error)]
#[error("purging old faxes: {what}: {source}")]
pub struct PurgeError {
    what: &'static str,
    #[source]
    source: sqlx::Error,
}

fn db(what: &'static str) -> impl FnOnce(sqlx::Error) -> PurgeError {
    move |source| PurgeError { what, source }
}

/// Remove a file the store pointed at; a missing one is fine.
fn remove(spool: &Path, path: &str, report: &mut PurgeReport) {
    if path.is_empty() {
        return;
    }
    let p = PathBuf::from(path);
    let p = if p.is_absolute() { p } else { spool.join(p) };
    match std::fs::remove_file(&p) {
        Ok(()) => report.files += 1,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => warn!("retention: cannot remove {}: {e}", p.display()),
    }
}

/// Purge everything older than the configured ages at `now_ms`.
pub async fn purge(
    store: &Store,
    spool: &Path,
    cfg: &RetentionConfig,
    now_ms: i64,
) -> Result<PurgeReport, PurgeError> {
    let mut report = PurgeReport::default();
    if cfg.received_days > 0 {
        purge_received(
            store,
            spool,
            now_ms - i64::from(cfg.received_days) * DAY_MS,
            &mut report,
        )
        .await?;
    }
    if cfg.sent_days > 0 {
        let cutoff = now_ms - i64::from(cfg.sent_days) * DAY_MS;
        purge_jobs(store, spool, cutoff, &mut report).await?;
        purge_other_mail(store, spool, cutoff, &mut report).await?;
    }
    if report != PurgeReport::default() {
        info!(
            received = report.received,
            jobs = report.jobs,
            files = report.files,
            "retention: old faxes purged"
        );
    }
    Ok(report)
}

async fn purge_received(
    store: &Store,
    spool: &Path,
    cutoff: i64,
    report: &mut PurgeReport,
) -> Result<(), PurgeError> {
    let rows = sqlx::query(
        "SELECT id, tiff_path, pdf_path, thumb_path FROM received_fax f \
         WHERE f.created_at_ms < $1 AND f.state = 'queued' \
         AND NOT EXISTS (SELECT 1 FROM mail_outbox m WHERE m.fax_id = f.id AND m.state <> 'sent')",
    )
    .bind(cutoff)
    .fetch_all(store.pool())
    .await
    .map_err(db("listing old received faxes"))?;
    for row in rows {
        let id: String = row.try_get("id").map_err(db("reading a received fax"))?;
        for column in ["tiff_path", "pdf_path", "thumb_path"] {
            let path: Option<String> = row.try_get(column).map_err(db("reading a received fax"))?;
            remove(spool, path.as_deref().unwrap_or(""), report);
        }
        let messages = sqlx::query("SELECT message_path FROM mail_outbox WHERE fax_id = $1")
            .bind(id.as_str())
            .fetch_all(store.pool())
            .await
            .map_err(db("listing a fax's messages"))?;
        for m in messages {
            let path: String = m.try_get("message_path").map_err(db("reading a message"))?;
            remove(spool, &path, report);
        }
        let mut tx = store.pool().begin().await.map_err(db("purging a fax"))?;
        sqlx::query("DELETE FROM mail_outbox WHERE fax_id = $1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db("purging a fax's mail"))?;
        sqlx::query("DELETE FROM received_fax WHERE id = $1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db("purging a fax"))?;
        tx.commit().await.map_err(db("purging a fax"))?;
        report.received += 1;
    }
    Ok(())
}

/// Delivered messages that are not received faxes (delivery reports,
/// alerts): their rows and any file left.
async fn purge_other_mail(
    store: &Store,
    spool: &Path,
    cutoff: i64,
    report: &mut PurgeReport,
) -> Result<(), PurgeError> {
    let rows = sqlx::query(
        "SELECT id, message_path FROM mail_outbox \
         WHERE kind <> 'fax' AND state = 'sent' AND sent_at_ms < $1",
    )
    .bind(cutoff)
    .fetch_all(store.pool())
    .await
    .map_err(db("listing old messages"))?;
    for row in rows {
        let id: String = row.try_get("id").map_err(db("reading a message"))?;
        let path: String = row
            .try_get("message_path")
            .map_err(db("reading a message"))?;
        remove(spool, &path, report);
        sqlx::query("DELETE FROM mail_outbox WHERE id = $1")
            .bind(id.as_str())
            .execute(store.pool())
            .await
            .map_err(db("purging a message"))?;
    }
    Ok(())
}

async fn purge_jobs(
    store: &Store,
    spool: &Path,
    cutoff: i64,
    report: &mut PurgeReport,
) -> Result<(), PurgeError> {
    let rows = sqlx::query(
        "SELECT id, document_path FROM fax_job \
         WHERE state IN ('done', 'failed', 'cancelled') AND finished_at_ms < $1 \
         AND (report_state IS NULL OR report_state = 'queued')",
    )
    .bind(cutoff)
    .fetch_all(store.pool())
    .await
    .map_err(db("listing old fax jobs"))?;
    for row in rows {
        let id: String = row.try_get("id").map_err(db("reading a fax job"))?;
        let document: String = row
            .try_get("document_path")
            .map_err(db("reading a fax job"))?;
        let mut tx = store
            .pool()
            .begin()
            .await
            .map_err(db("purging a fax job"))?;
        for sql in [
            "DELETE FROM fax_job_event WHERE job_id = $1",
            "DELETE FROM fax_job_attempt WHERE job_id = $1",
        ] {
            sqlx::query(sql)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db("purging a fax job's history"))?;
        }
        sqlx::query("DELETE FROM fax_job WHERE id = $1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db("purging a fax job"))?;
        // One document may serve several recipients of one message: it
        // goes with the last job that uses it.
        let still_used: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM fax_job WHERE document_path = $1")
                .bind(document.as_str())
                .fetch_one(&mut *tx)
                .await
                .and_then(|r| r.try_get("n"))
                .map_err(db("checking a job's document"))?;
        tx.commit().await.map_err(db("purging a fax job"))?;
        if still_used == 0 {
            remove(spool, &document, report);
        }
        report.jobs += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_zero_interval_is_not() {
        assert!(RetentionConfig::default().problems().is_empty());
        let bad = RetentionConfig {
            interval_minutes: 0,
            received_days: 100_000,
            ..RetentionConfig::default()
        };
        let keys: Vec<_> = bad.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            ["retention.interval_minutes", "retention.received_days"]
        );
    }

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_spool(dir.path()).await.unwrap();
        (dir, store)
    }

    async fn received(store: &Store, spool: &Path, id: &str, created: i64, mail_states: &[&str]) {
        let tiff = spool.join(format!("{id}.tif"));
        let pdf = spool.join(format!("{id}.pdf"));
        std::fs::write(&tiff, b"tiff").unwrap();
        std::fs::write(&pdf, b"pdf").unwrap();
        sqlx::query(
            "INSERT INTO received_fax (id, tiff_path, caller, called, remote_csi, pages_received, \
             started_at_ms, duration_ms, bit_rate, ecm, result_text, success, recipients, \
             attach_tiff, state, convert_attempts, pdf_path, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, '1', '2', '', 1, $3, 1000, 14400, 1, 'ok', 1, 'a@b', 0, 'queued', 1, $4, $3, $3)",
        )
        .bind(id)
        .bind(tiff.display().to_string())
        .bind(created)
        .bind(pdf.display().to_string())
        .execute(store.pool())
        .await
        .unwrap();
        for (n, state) in mail_states.iter().enumerate() {
            let eml = spool.join(format!("{id}.{n}.eml"));
            std::fs::write(&eml, b"mail").unwrap();
            sqlx::query(
                "INSERT INTO mail_outbox (id, kind, fax_id, recipient, message_path, state, \
                 attempts, next_attempt_ms, created_at_ms, updated_at_ms) \
                 VALUES ($1, 'fax', $2, 'a@b', $3, $4, 1, 0, $5, $5)",
            )
            .bind(format!("{id}.{n}"))
            .bind(id)
            .bind(eml.display().to_string())
            .bind(*state)
            .bind(created)
            .execute(store.pool())
            .await
            .unwrap();
        }
    }

    async fn job(
        store: &Store,
        spool: &Path,
        id: &str,
        state: &str,
        finished: Option<i64>,
        doc: &str,
    ) {
        std::fs::write(spool.join(doc), b"tiff").unwrap();
        sqlx::query(
            "INSERT INTO fax_job (id, idempotency_key, destination, route, document_path, \
             pages_total, pages_confirmed, submitter, state, next_attempt_ms, attempts, \
             budget_attempts_base, budget_since_ms, created_at_ms, updated_at_ms, finished_at_ms) \
             VALUES ($1, $1, '100', 'trunk:main', $2, 1, 1, 't', $3, 0, 1, 0, 0, 0, 0, $4)",
        )
        .bind(id)
        .bind(spool.join(doc).display().to_string())
        .bind(state)
        .bind(finished)
        .execute(store.pool())
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO fax_job_event (job_id, seq, at_ms, to_state, detail) VALUES ($1, 1, 0, 'queued', 'x')",
        )
        .bind(id)
        .execute(store.pool())
        .await
        .unwrap();
    }

    async fn count(store: &Store, sql: &'static str) -> i64 {
        sqlx::query(sql)
            .fetch_one(store.pool())
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    }

    #[tokio::test]
    async fn old_delivered_faxes_go_undelivered_and_recent_ones_stay() {
        let (dir, store) = store().await;
        let spool = dir.path();
        let day = DAY_MS;
        let now = 400 * day;
        received(
            &store,
            spool,
            "old-sent",
            now - 100 * day,
            &["sent", "sent"],
        )
        .await;
        received(
            &store,
            spool,
            "old-dead",
            now - 100 * day,
            &["sent", "dead"],
        )
        .await;
        received(
            &store,
            spool,
            "old-deferred",
            now - 100 * day,
            &["deferred"],
        )
        .await;
        received(&store, spool, "recent", now - 10 * day, &["sent"]).await;
        let cfg = RetentionConfig::default();
        let report = purge(&store, spool, &cfg, now).await.unwrap();
        assert_eq!(report.received, 1);
        assert_eq!(report.files, 4, "TIFF, PDF and two messages");
        assert!(!spool.join("old-sent.tif").exists());
        assert!(!spool.join("old-sent.0.eml").exists());
        assert!(
            spool.join("old-dead.tif").exists(),
            "a dead letter needs an operator"
        );
        assert!(spool.join("old-deferred.pdf").exists());
        assert!(spool.join("recent.tif").exists());
        assert_eq!(count(&store, "SELECT COUNT(*) FROM received_fax").await, 3);
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM mail_outbox WHERE fax_id = 'old-sent'"
            )
            .await,
            0
        );
        // Idempotent: nothing more to do.
        assert_eq!(
            purge(&store, spool, &cfg, now).await.unwrap(),
            PurgeReport::default()
        );
        // Forever when 0.
        let keep = RetentionConfig {
            received_days: 0,
            ..cfg
        };
        assert_eq!(
            purge(&store, spool, &keep, now + 1000 * day)
                .await
                .unwrap()
                .received,
            0
        );
    }

    #[tokio::test]
    async fn finished_jobs_go_with_their_document_once_unused() {
        let (dir, store) = store().await;
        let spool = dir.path();
        let day = DAY_MS;
        let now = 400 * day;
        job(
            &store,
            spool,
            "done-old",
            "done",
            Some(now - 100 * day),
            "a.tif",
        )
        .await;
        job(
            &store,
            spool,
            "failed-old",
            "failed",
            Some(now - 95 * day),
            "shared.tif",
        )
        .await;
        job(
            &store,
            spool,
            "cancel-recent",
            "cancelled",
            Some(now - day),
            "shared.tif",
        )
        .await;
        job(&store, spool, "queued", "queued", None, "q.tif").await;
        let report = purge(&store, spool, &RetentionConfig::default(), now)
            .await
            .unwrap();
        assert_eq!(report.jobs, 2);
        assert!(!spool.join("a.tif").exists());
        assert!(
            spool.join("shared.tif").exists(),
            "still used by a kept job"
        );
        assert!(spool.join("q.tif").exists());
        assert_eq!(count(&store, "SELECT COUNT(*) FROM fax_job").await, 2);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM fax_job_event").await, 2);
        let later = purge(&store, spool, &RetentionConfig::default(), now + 100 * day)
            .await
            .unwrap();
        assert_eq!(later.jobs, 1);
        assert!(!spool.join("shared.tif").exists(), "gone with its last job");
    }

    #[tokio::test]
    async fn delivered_reports_go_after_the_sent_age() {
        let (dir, store) = store().await;
        let spool = dir.path();
        let now = 400 * DAY_MS;
        for (id, state, sent) in [
            ("r1", "sent", now - 100 * DAY_MS),
            ("r2", "dead", 0),
            ("r3", "sent", now),
        ] {
            let eml = spool.join(format!("{id}.eml"));
            std::fs::write(&eml, b"mail").unwrap();
            sqlx::query(
                "INSERT INTO mail_outbox (id, kind, recipient, message_path, state, attempts, \
                 next_attempt_ms, created_at_ms, updated_at_ms, sent_at_ms) \
                 VALUES ($1, 'job-report', 'a@b', $2, $3, 1, 0, 0, 0, $4)",
            )
            .bind(format!("job-report:{id}"))
            .bind(eml.display().to_string())
            .bind(state)
            .bind(sent)
            .execute(store.pool())
            .await
            .unwrap();
        }
        let report = purge(&store, spool, &RetentionConfig::default(), now)
            .await
            .unwrap();
        assert_eq!(report.files, 1);
        assert!(!spool.join("r1.eml").exists());
        assert!(spool.join("r2.eml").exists());
        assert_eq!(count(&store, "SELECT COUNT(*) FROM mail_outbox").await, 2);
    }

    #[tokio::test]
    async fn a_job_whose_report_is_not_yet_mailed_stays() {
        let (dir, store) = store().await;
        let spool = dir.path();
        job(&store, spool, "j", "done", Some(0), "j.tif").await;
        sqlx::query("UPDATE fax_job SET report_state = 'pending'")
            .execute(store.pool())
            .await
            .unwrap();
        let report = purge(&store, spool, &RetentionConfig::default(), 400 * DAY_MS)
            .await
            .unwrap();
        assert_eq!(report.jobs, 0);
        assert!(spool.join("j.tif").exists());
    }
}
