//! The outgoing fax queue on a real SQLite file (WAL, synchronous = FULL):
//! claiming, retries from the first unconfirmed page, the fallback ladder's
//! memory, per-trunk call limits, recovery after a crash, operator commands,
//! and processes killed with SIGKILL at random moments.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use faxbridge::queue::{
    CallOutcome, CallResult, Cause, JobState, JobStore, ListFilter, NewJob, QueueConfig,
    QueueError, RetryConfig, Route, Settings, TrunkLimits,
};
use faxbridge::store::Store;
use sqlx::Row;

mod support;

const T0: i64 = 1_800_000_000_000;
const MIN: i64 = 60_000;
/// SpanDSP `T30_ERR_CALLDROPPED`.
const CALL_DROPPED: i32 = spandsp_sys::t30_err_e::T30_ERR_CALLDROPPED as i32;

async fn open(dir: &Path, cfg: QueueConfig) -> JobStore {
    let store = Store::open_sqlite(&dir.join("queue.db")).await.unwrap();
    JobStore::new(store, cfg)
}

/// Where a scenario's queue lives: a SQLite file (WAL, synchronous = FULL)
/// in a directory of its own, or a fresh database on the test PostgreSQL
/// server (`support::postgres`). Opening it again reaches the same data.
enum Db {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

impl Db {
    fn sqlite() -> Db {
        Db::Sqlite(tempfile::tempdir().unwrap())
    }

    fn postgres() -> Db {
        Db::Postgres(support::postgres::server().fresh_database())
    }

    async fn open(&self, cfg: QueueConfig) -> JobStore {
        let store = match self {
            Db::Sqlite(dir) => Store::open_sqlite(&dir.path().join("queue.db")).await,
            Db::Postgres(url) => Store::connect(url).await,
        };
        JobStore::new(store.unwrap(), cfg)
    }
}

/// Each scenario runs on both store backends.
macro_rules! on_both_backends {
    ($($attr:meta => $name:ident;)*) => {
        mod sqlite {
            $(#[$attr] async fn $name() { super::$name(super::Db::sqlite()).await })*
        }
        mod postgres {
            $(#[$attr] async fn $name() { super::$name(super::Db::postgres()).await })*
        }
    };
}

on_both_backends! {
    tokio::test => enqueue_claim_send_done_with_history;
    tokio::test => enqueue_is_idempotent_across_restarts;
    tokio::test(flavor = "multi_thread", worker_threads = 2) => concurrent_calls_are_limited_per_trunk_and_port;
    tokio::test => a_retry_resends_from_the_first_unconfirmed_page_with_fallback;
    tokio::test => sip_causes_set_delays_and_final_failures;
    tokio::test => recovery_after_a_crash_finishes_or_defers_each_job;
    tokio::test => operators_list_cancel_and_retry_jobs;
}

fn job(key: &str, number: &str, route: Route, pages: u32) -> NewJob {
    NewJob {
        idempotency_key: key.into(),
        destination: number.into(),
        route,
        document: format!("/spool/outgoing/{key}.tif"),
        pages_total: pages,
        submitter: "alice@example.org".into(),
        report_to: Some("alice@example.org".into()),
        subject: "Invoice 42".into(),
        not_before: None,
    }
}

fn trunk() -> Route {
    Route::Trunk("main".into())
}

fn fax_ok(pages: u32) -> CallOutcome {
    CallOutcome {
        result: CallResult::Fax {
            t30_code: 0,
            t30_text: "OK".into(),
            pages_confirmed: pages,
        },
        transport: Some(faxbridge::queue::Transport::T38),
        ecm: Some(true),
        modem: Some(faxbridge::fax::Modem::V17),
        remote_ident: None,
        call_duration: None,
        bit_rate: None,
    }
}

fn fax_failed(code: i32, pages: u32) -> CallOutcome {
    CallOutcome {
        result: CallResult::Fax {
            t30_code: code,
            t30_text: "The call dropped prematurely".into(),
            pages_confirmed: pages,
        },
        transport: Some(faxbridge::queue::Transport::G711),
        ecm: Some(true),
        modem: Some(faxbridge::fax::Modem::V29),
        remote_ident: None,
        call_duration: None,
        bit_rate: None,
    }
}

fn sip(status: u16) -> CallOutcome {
    CallOutcome {
        result: CallResult::NotAnswered { sip_status: status },
        transport: None,
        ecm: None,
        modem: None,
        remote_ident: None,
        call_duration: None,
        bit_rate: None,
    }
}

async fn count(q: &JobStore, sql: &'static str) -> i64 {
    sqlx::query(sql)
        .fetch_one(store_pool(q))
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

fn store_pool(q: &JobStore) -> &sqlx::AnyPool {
    q.pool()
}

async fn enqueue_claim_send_done_with_history(db: Db) {
    let q = db.open(QueueConfig::default()).await;
    let e = q
        .enqueue(
            &job("<m1@x>/+44 20 7946 0000", "+44 20 7946 0000", trunk(), 3),
            T0,
        )
        .await
        .unwrap();
    assert!(e.created);

    let claims = q.claim_due(T0, 10).await.unwrap();
    assert_eq!(claims.len(), 1);
    let c = &claims[0];
    assert_eq!((c.job_id.as_str(), c.attempt), (e.id.as_str(), 1));
    assert_eq!(c.destination, "+442079460000");
    assert_eq!(c.pages, 1..=3);
    assert_eq!(c.settings, Settings::decode("t38/ecm/v17").unwrap());
    // Persisted before dialling.
    assert_eq!(q.job(&e.id).await.unwrap().job.state, JobState::Dialling);
    assert!(
        q.claim_due(T0, 10).await.unwrap().is_empty(),
        "claimed once"
    );

    q.start_sending(&e.id, 1, T0 + 5_000).await.unwrap();
    for p in 1..=3 {
        q.confirm_pages(&e.id, 1, p).await.unwrap();
    }
    let state = q
        .finish_attempt(&e.id, 1, &fax_ok(3), T0 + 60_000)
        .await
        .unwrap();
    assert_eq!(state, JobState::Done);

    let d = q.job(&e.id).await.unwrap();
    assert_eq!(d.job.state, JobState::Done);
    assert_eq!((d.job.pages_confirmed, d.job.attempts), (3, 1));
    assert_eq!(d.job.finished, Some(T0 + 60_000));
    let a = &d.attempts[0];
    assert!(a.success && a.cause.is_none());
    assert_eq!(
        (a.first_page, a.pages_confirmed, a.ended),
        (1, 3, Some(T0 + 60_000))
    );
    assert_eq!(a.transport, Some(faxbridge::queue::Transport::T38));
    let path: Vec<_> = d.events.iter().map(|e| e.to.as_str()).collect();
    assert_eq!(path, ["queued", "dialling", "sending", "done"]);
    assert_eq!(d.events[1].from.as_deref(), Some("queued"));
    assert!(
        d.events[3].detail.contains("3 of 3 pages"),
        "{:?}",
        d.events[3]
    );

    // Reports on a finished attempt are refused, not applied.
    let err = q
        .finish_attempt(&e.id, 1, &fax_ok(3), T0)
        .await
        .unwrap_err();
    assert!(matches!(err, QueueError::StaleAttempt { .. }), "{err}");
    assert!(q.claim_due(T0 + 10 * MIN, 10).await.unwrap().is_empty());
}

async fn enqueue_is_idempotent_across_restarts(db: Db) {
    let q = db.open(QueueConfig::default()).await;
    let j = job("<m2@x>/555", "555", trunk(), 1);
    let a = q.enqueue(&j, T0).await.unwrap();
    let b = q.enqueue(&j, T0 + 1).await.unwrap();
    assert!(a.created && !b.created);
    assert_eq!(a.id, b.id);
    drop(q);
    let q = db.open(QueueConfig::default()).await;
    let c = q.enqueue(&j, T0 + 2).await.unwrap();
    assert_eq!((c.id.as_str(), c.created), (a.id.as_str(), false));
    let other = q
        .enqueue(&job("<m2@x>/556", "556", trunk(), 1), T0)
        .await
        .unwrap();
    assert!(other.created && other.id != a.id);
    assert_eq!(count(&q, "SELECT COUNT(*) FROM fax_job").await, 2);
    assert_eq!(count(&q, "SELECT COUNT(*) FROM fax_job_event").await, 2);

    for (bad, what) in [
        (job("", "555", trunk(), 1), "idempotency key"),
        (job("k", "555", trunk(), 0), "no pages"),
        (job("k", "call me", trunk(), 1), "contains"),
    ] {
        let e = q.enqueue(&bad, T0).await.unwrap_err();
        assert!(e.to_string().contains(what), "{e}");
    }
}

async fn concurrent_calls_are_limited_per_trunk_and_port(db: Db) {
    let mut cfg = QueueConfig::default();
    cfg.trunks
        .insert("main".into(), TrunkLimits { max_calls: 2 });
    let q = db.open(cfg).await;
    for i in 0..6 {
        q.enqueue(
            &job(&format!("t{i}"), &format!("10{i}"), trunk(), 1),
            T0 + i,
        )
        .await
        .unwrap();
    }
    for i in 0..3 {
        q.enqueue(
            &job(
                &format!("p{i}"),
                &format!("20{i}"),
                Route::Ata("dgw1/1".into()),
                1,
            ),
            T0 + i,
        )
        .await
        .unwrap();
    }
    // Four claimers at once on a pool of connections: the limits hold.
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let q = q.clone();
        tasks.push(tokio::spawn(async move {
            q.claim_due(T0 + 10, 10).await.unwrap()
        }));
    }
    let mut claimed = Vec::new();
    for t in tasks {
        claimed.extend(t.await.unwrap());
    }
    let on = |claims: &[faxbridge::queue::Claim], r: &Route| {
        claims.iter().filter(|c| &c.route == r).count()
    };
    assert_eq!(on(&claimed, &trunk()), 2, "{claimed:#?}");
    assert_eq!(on(&claimed, &Route::Ata("dgw1/1".into())), 1);
    assert!(q.claim_due(T0 + 10, 10).await.unwrap().is_empty());

    // A call ends: one more may start on that trunk.
    let first = claimed.iter().find(|c| c.route == trunk()).unwrap();
    q.finish_attempt(&first.job_id, 1, &sip(486), T0 + 20)
        .await
        .unwrap();
    let next = q.claim_due(T0 + 30, 10).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].route, trunk());
    assert_ne!(next[0].job_id, first.job_id, "the busy job waits its delay");
    assert_eq!(
        count(
            &q,
            "SELECT COUNT(*) FROM fax_job WHERE state IN ('dialling', 'sending')"
        )
        .await,
        3
    );
}

async fn a_retry_resends_from_the_first_unconfirmed_page_with_fallback(db: Db) {
    let q = db.open(QueueConfig::default()).await;
    let id = q
        .enqueue(&job("r1", "0123456", trunk(), 5), T0)
        .await
        .unwrap()
        .id;
    let c = q.claim_due(T0, 1).await.unwrap().remove(0);
    q.start_sending(&id, 1, T0).await.unwrap();
    q.confirm_pages(&id, 1, 1).await.unwrap();
    q.confirm_pages(&id, 1, 2).await.unwrap();
    q.confirm_pages(&id, 1, 1).await.unwrap(); // late, lower: ignored
    let state = q
        .finish_attempt(&id, c.attempt, &fax_failed(CALL_DROPPED, 2), T0 + MIN)
        .await
        .unwrap();
    assert_eq!(
        state,
        JobState::Deferred {
            next_attempt: T0 + 4 * MIN,
            last_cause: Cause::T30Failure
        }
    );
    assert!(
        q.claim_due(T0 + 3 * MIN, 1).await.unwrap().is_empty(),
        "not due yet"
    );
    let c2 = q.claim_due(T0 + 4 * MIN, 1).await.unwrap().remove(0);
    assert_eq!(c2.attempt, 2);
    assert_eq!(c2.pages, 3..=5, "pages 1-2 were confirmed");
    assert_eq!(
        c2.settings.encode(),
        "g711/ecm/v17",
        "one rung down after T.30 failure"
    );

    // T.30 "success" that confirmed fewer pages than the range is not done.
    q.start_sending(&id, 2, T0 + 4 * MIN).await.unwrap();
    let state = q
        .finish_attempt(&id, 2, &fax_ok(2), T0 + 5 * MIN)
        .await
        .unwrap();
    assert!(
        matches!(
            state,
            JobState::Deferred {
                last_cause: Cause::T30Failure,
                ..
            }
        ),
        "{state:?}"
    );
    let c3 = q.claim_due(T0 + 9 * MIN, 1).await.unwrap().remove(0);
    assert_eq!(c3.pages, 5..=5);
    assert_eq!(c3.settings.encode(), "g711/noecm/v17");
    q.start_sending(&id, 3, T0 + 9 * MIN).await.unwrap();
    let state = q
        .finish_attempt(&id, 3, &fax_ok(1), T0 + 10 * MIN)
        .await
        .unwrap();
    assert_eq!(state, JobState::Done);
    let d = q.job(&id).await.unwrap();
    assert_eq!(d.job.pages_confirmed, 5);
    let ranges: Vec<_> = d
        .attempts
        .iter()
        .map(|a| (a.first_page, a.pages_confirmed, a.success))
        .collect();
    assert_eq!(ranges, [(1, 2, false), (3, 2, false), (5, 1, true)]);
    assert_eq!(d.attempts[0].t30_code, Some(CALL_DROPPED));

    // The destination remembers what worked: the next fax starts there.
    let id2 = q
        .enqueue(&job("r2", "0123456", trunk(), 1), T0 + 11 * MIN)
        .await
        .unwrap()
        .id;
    let c = q.claim_due(T0 + 11 * MIN, 1).await.unwrap().remove(0);
    assert_eq!(
        (c.job_id.as_str(), c.settings.encode().as_str()),
        (id2.as_str(), "g711/noecm/v17")
    );
    // A different number starts at the top of the ladder.
    q.enqueue(&job("r3", "0999", trunk(), 1), T0 + 11 * MIN)
        .await
        .unwrap();
    let c = q.claim_due(T0 + 11 * MIN, 1).await.unwrap().remove(0);
    assert_eq!(c.settings.encode(), "t38/ecm/v17");
}

async fn sip_causes_set_delays_and_final_failures(db: Db) {
    let cfg = QueueConfig {
        retry: RetryConfig {
            max_attempts: 4,
            ..RetryConfig::default()
        },
        ..QueueConfig::default()
    };
    let q = db.open(cfg).await;
    let attempt = |key: &'static str, outcome: CallOutcome| {
        let q = q.clone();
        async move {
            let id = q.enqueue(&job(key, "42", trunk(), 1), T0).await.unwrap().id;
            let c = q.claim_due(T0, 10).await.unwrap();
            let c = c.into_iter().find(|c| c.job_id == id).unwrap();
            q.finish_attempt(&id, c.attempt, &outcome, T0)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        attempt("busy", sip(486)).await,
        JobState::Deferred {
            next_attempt: T0 + 2 * MIN,
            last_cause: Cause::Busy
        }
    );
    assert_eq!(
        attempt("noanswer", sip(480)).await,
        JobState::Deferred {
            next_attempt: T0 + 5 * MIN,
            last_cause: Cause::NoAnswer
        }
    );
    let JobState::Failed { reason } = attempt("bad", sip(404)).await else {
        panic!()
    };
    assert!(reason.contains("does not exist"), "{reason}");
    let JobState::Failed { reason } = attempt("refused", sip(403)).await else {
        panic!()
    };
    assert!(reason.contains("refused by trunk"), "{reason}");

    // Network failures back off exponentially, then the budget runs out.
    let id = q
        .enqueue(&job("net", "43", trunk(), 1), T0)
        .await
        .unwrap()
        .id;
    let mut now = T0;
    let mut waits = Vec::new();
    loop {
        let c = q.claim_due(now, 10).await.unwrap();
        let c = c.into_iter().find(|c| c.job_id == id).unwrap();
        let outcome = CallOutcome {
            result: CallResult::NetworkError {
                detail: "INVITE timed out".into(),
            },
            transport: None,
            ecm: None,
            modem: None,
            remote_ident: None,
            call_duration: None,
            bit_rate: None,
        };
        match q
            .finish_attempt(&id, c.attempt, &outcome, now)
            .await
            .unwrap()
        {
            JobState::Deferred {
                next_attempt,
                last_cause,
            } => {
                assert_eq!(last_cause, Cause::Network);
                waits.push((next_attempt - now) / 1000);
                now = next_attempt;
            }
            JobState::Failed { reason } => {
                assert!(reason.contains("after 4 attempts"), "{reason}");
                break;
            }
            s => panic!("{s:?}"),
        }
    }
    assert_eq!(waits, [60, 120, 240]);
    let d = q.job(&id).await.unwrap();
    assert_eq!(d.attempts.len(), 4);
    assert!(d.events.last().unwrap().detail.contains("INVITE timed out"));
}

async fn recovery_after_a_crash_finishes_or_defers_each_job(db: Db) {
    let q = db.open(QueueConfig::default()).await;
    let mut ids = Vec::new();
    for (i, key) in ["dialling", "sending", "recorded-success", "waiting"]
        .into_iter()
        .enumerate()
    {
        let j = job(key, "77", trunk(), 3);
        ids.push(q.enqueue(&j, T0 + i as i64).await.unwrap().id);
    }
    let claims = q.claim_due(T0 + 10, 3).await.unwrap();
    assert_eq!(claims.len(), 3);
    // Job 1 rings; job 2 has page 1 confirmed; job 3's T.30 success was
    // recorded on its attempt but the process died before the job moved.
    q.start_sending(&ids[1], 1, T0).await.unwrap();
    q.confirm_pages(&ids[1], 1, 1).await.unwrap();
    q.start_sending(&ids[2], 1, T0).await.unwrap();
    sqlx::query(
        "UPDATE fax_job_attempt SET pages_confirmed = 3, success = 1, t30_code = 0 \
         WHERE job_id = $1",
    )
    .bind(ids[2].as_str())
    .execute(q.pool())
    .await
    .unwrap();
    drop(q); // the crash

    let q = db.open(QueueConfig::default()).await;
    let now = T0 + MIN;
    let report = q.recover(now).await.unwrap();
    assert_eq!(
        (report.completed, report.deferred, report.failed),
        (1, 2, 0)
    );
    let interrupted = JobState::Deferred {
        next_attempt: now + 30_000,
        last_cause: Cause::Interrupted,
    };
    assert_eq!(q.job(&ids[0]).await.unwrap().job.state, interrupted);
    assert_eq!(q.job(&ids[1]).await.unwrap().job.state, interrupted);
    let done = q.job(&ids[2]).await.unwrap();
    assert_eq!(done.job.state, JobState::Done);
    assert!(done.events.last().unwrap().detail.contains("not resent"));
    assert_eq!(q.job(&ids[3]).await.unwrap().job.state, JobState::Queued);
    let a = &q.job(&ids[1]).await.unwrap().attempts[0];
    assert_eq!((a.cause, a.ended), (Some(Cause::Interrupted), Some(now)));
    // Recovery is idempotent.
    assert_eq!(q.recover(now).await.unwrap().deferred, 0);

    // The old call's late report is refused; the retry resumes at page 2.
    let err = q
        .finish_attempt(&ids[1], 1, &fax_ok(3), now)
        .await
        .unwrap_err();
    assert!(matches!(err, QueueError::StaleAttempt { .. }), "{err}");
    let claims = q.claim_due(now + MIN, 10).await.unwrap();
    let pages: Vec<_> = claims
        .iter()
        .map(|c| (c.job_id.clone(), c.pages.clone()))
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert!(pages.contains(&(ids[0].clone(), 1..=3)));
    assert!(pages.contains(&(ids[1].clone(), 2..=3)));
    assert!(pages.contains(&(ids[3].clone(), 1..=3)));
    assert!(
        !pages.iter().any(|(id, _)| id == &ids[2]),
        "a done job is never resent"
    );

    // Interrupted again: the attempt budget still ends jobs on their
    // second attempt; the job on its first is deferred.
    let cfg = QueueConfig {
        retry: RetryConfig {
            max_attempts: 2,
            ..RetryConfig::default()
        },
        ..QueueConfig::default()
    };
    drop(q);
    let q = db.open(cfg).await;
    let report = q.recover(now + 2 * MIN).await.unwrap();
    assert_eq!(
        (report.completed, report.deferred, report.failed),
        (0, 1, 2)
    );
}

async fn operators_list_cancel_and_retry_jobs(db: Db) {
    let cfg = QueueConfig {
        retry: RetryConfig {
            max_attempts: 1,
            ..RetryConfig::default()
        },
        ..QueueConfig::default()
    };
    let q = db.open(cfg).await;
    let a = q.enqueue(&job("a", "1", trunk(), 1), T0).await.unwrap().id;
    let b = q
        .enqueue(&job("b", "2", trunk(), 1), T0 + 1)
        .await
        .unwrap()
        .id;
    let c = q
        .enqueue(&job("c", "3", trunk(), 1), T0 + 2)
        .await
        .unwrap()
        .id;

    assert_eq!(
        q.cancel(&a, "root", T0 + 5).await.unwrap(),
        JobState::Cancelled
    );
    let err = q.cancel(&a, "root", T0 + 6).await.unwrap_err();
    assert!(
        err.to_string().contains("cancelled cannot be cancelled"),
        "{err}"
    );
    assert!(matches!(
        q.cancel("nope", "root", T0).await,
        Err(QueueError::NotFound(_))
    ));

    let claims = q.claim_due(T0 + 10, 10).await.unwrap();
    let claimed: Vec<_> = claims.iter().map(|c| c.job_id.clone()).collect();
    assert_eq!(
        claimed,
        [b.clone(), c.clone()],
        "the cancelled job is not dialled"
    );
    let err = q.cancel(&b, "root", T0 + 11).await.unwrap_err();
    assert!(
        err.to_string().contains("dialling cannot be cancelled"),
        "{err}"
    );
    // One attempt allowed: busy fails the job.
    let JobState::Failed { .. } = q.finish_attempt(&b, 1, &sip(486), T0 + 20).await.unwrap() else {
        panic!()
    };
    q.finish_attempt(&c, 1, &sip(503), T0 + 20).await.unwrap();

    let failed = q
        .list(&ListFilter {
            states: vec!["failed".into()],
            limit: 0,
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 2);
    assert_eq!(q.list(&ListFilter::default()).await.unwrap().len(), 3);
    let newest = q
        .list(&ListFilter {
            states: vec![],
            limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(newest[0].id, c);
    assert!(
        q.list(&ListFilter {
            states: vec!["stuck".into()],
            limit: 0
        })
        .await
        .is_err()
    );

    // Retry now: due at once with a fresh budget of one attempt.
    assert_eq!(
        q.retry_now(&b, "root", T0 + MIN).await.unwrap(),
        JobState::Queued
    );
    assert_eq!(
        q.retry_now(&a, "root", T0 + MIN).await.unwrap(),
        JobState::Queued
    );
    let err = q.retry_now(&a, "root", T0 + MIN).await.unwrap_err();
    assert!(
        err.to_string().contains("queued cannot be retried"),
        "{err}"
    );
    let claims = q.claim_due(T0 + MIN, 10).await.unwrap();
    assert_eq!(claims.len(), 2);
    let cb = claims.iter().find(|x| x.job_id == b).unwrap();
    assert_eq!(cb.attempt, 2);
    q.start_sending(&b, 2, T0 + MIN).await.unwrap();
    assert_eq!(
        q.finish_attempt(&b, 2, &fax_ok(1), T0 + MIN).await.unwrap(),
        JobState::Done
    );
    let events: Vec<_> = q
        .job(&b)
        .await
        .unwrap()
        .events
        .into_iter()
        .map(|e| e.to)
        .collect();
    assert_eq!(
        events,
        [
            "queued", "dialling", "failed", "queued", "dialling", "sending", "done"
        ]
    );
    let history = q.job(&b).await.unwrap().events;
    assert!(history[3].detail.contains("retry requested by root"));
}

// ---------------------------------------------------------------------------
// SIGKILL at random moments.
// ---------------------------------------------------------------------------

const KILL_JOBS: u32 = 80;
const KILL_PAGES: u32 = 3;

fn now_ms() -> i64 {
    faxbridge::clock::now_ms()
}

fn kill_config() -> QueueConfig {
    QueueConfig {
        retry: RetryConfig {
            max_attempts: 1000,
            max_age_secs: 86_400,
            busy_delay_secs: 0,
            no_answer_delay_secs: 0,
            t30_delay_secs: 0,
            network_initial_delay_secs: 0,
            network_max_delay_secs: 0,
            interrupted_delay_secs: 0,
            not_fax_max_attempts: 1000,
            not_fax_delay_secs: 0,
        },
        ..QueueConfig::default()
    }
}

fn kill_key(i: u32) -> String {
    format!("<kill-{i}@test>/+4420794600{i:02}")
}

fn append_line(path: &Path, line: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    writeln!(f, "{line}").unwrap();
    f.sync_data().unwrap();
}

/// Enqueue every job, then claim → sending → pages → result until all are
/// done. Every third job's first attempt drops after one page. `log`, when
/// given, records each enqueue and each completion after it returned.
async fn run_queue(q: &JobStore, log: Option<&Path>) {
    q.recover(now_ms()).await.unwrap();
    for i in 0..KILL_JOBS {
        let e = q
            .enqueue(
                &job(
                    &kill_key(i),
                    &format!("+4420794600{i:02}"),
                    trunk(),
                    KILL_PAGES,
                ),
                now_ms(),
            )
            .await
            .unwrap();
        if let Some(log) = log {
            append_line(log, &format!("queued {} {}", e.id, kill_key(i)));
        }
    }
    loop {
        let claims = q.claim_due(now_ms(), 4).await.unwrap();
        if claims.is_empty() {
            let open = q
                .list(&ListFilter::default())
                .await
                .unwrap()
                .iter()
                .filter(|j| j.state != JobState::Done)
                .count();
            if open == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
            continue;
        }
        for c in claims {
            // A call takes time: ringing, then each page.
            tokio::time::sleep(Duration::from_millis(2)).await;
            q.start_sending(&c.job_id, c.attempt, now_ms())
                .await
                .unwrap();
            let drop_after_one = c.attempt == 1 && c.destination.ends_with(['0', '3', '6', '9']);
            let mut sent = 0;
            for _page in c.pages.clone() {
                tokio::time::sleep(Duration::from_millis(1)).await;
                sent += 1;
                q.confirm_pages(&c.job_id, c.attempt, sent).await.unwrap();
                if drop_after_one {
                    break;
                }
            }
            let outcome = if drop_after_one {
                fax_failed(CALL_DROPPED, sent)
            } else {
                fax_ok(sent)
            };
            let state = q
                .finish_attempt(&c.job_id, c.attempt, &outcome, now_ms())
                .await
                .unwrap();
            if state == JobState::Done
                && let Some(log) = log
            {
                append_line(log, &format!("done {}", c.job_id));
            }
        }
    }
}

/// The invariants after any crash and recovery.
async fn check_invariants(q: &JobStore, log: &Path) -> (usize, usize) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut queued = 0;
    let mut done = 0;
    for line in text.lines() {
        let mut parts = line.split(' ');
        match (parts.next(), parts.next()) {
            (Some("queued"), Some(id)) => {
                queued += 1;
                // No job lost: every enqueue that returned is on disk.
                q.job(id)
                    .await
                    .unwrap_or_else(|e| panic!("job {id} lost: {e}"));
            }
            (Some("done"), Some(id)) => {
                done += 1;
                // Durable before visible: reported done means stored done.
                assert_eq!(q.job(id).await.unwrap().job.state, JobState::Done, "{id}");
            }
            _ => {} // a line torn by the kill
        }
    }
    let jobs = q.list(&ListFilter::default()).await.unwrap();
    assert!(
        jobs.len() <= KILL_JOBS as usize,
        "duplicate jobs: {}",
        jobs.len()
    );
    for j in &jobs {
        assert!(
            !j.state.is_active(),
            "{} still {} after recovery",
            j.id,
            j.state
        );
        let d = q.job(&j.id).await.unwrap();
        let successes: Vec<_> = d.attempts.iter().filter(|a| a.success).collect();
        // Never completed twice, and never dialled again once completed.
        assert!(
            successes.len() <= 1,
            "{} completed {} times",
            j.id,
            successes.len()
        );
        if let Some(s) = successes.first() {
            assert_eq!(j.state, JobState::Done, "{}", j.id);
            assert_eq!(
                d.attempts.last().unwrap().number,
                s.number,
                "{} resent after success",
                j.id
            );
            assert_eq!(j.pages_confirmed, KILL_PAGES);
        } else {
            assert_ne!(
                j.state,
                JobState::Done,
                "{} done without a successful attempt",
                j.id
            );
        }
        // Each attempt started at the first page not confirmed before it
        // (or the last page, when every page was confirmed but T.30 never
        // reported success).
        let mut confirmed = vec![false; KILL_PAGES as usize + 1];
        for a in &d.attempts {
            let expect = (1..=KILL_PAGES)
                .find(|&p| !confirmed[p as usize])
                .unwrap_or(KILL_PAGES);
            assert_eq!(a.first_page, expect, "{} attempt {}", j.id, a.number);
            for p in a.first_page..a.first_page + a.pages_confirmed {
                confirmed[p as usize] = true;
            }
        }
    }
    (queued, done)
}

/// Child process of `sigkill_at_random_moments_loses_and_repeats_nothing`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by sigkill_at_random_moments_loses_and_repeats_nothing as its child process"]
async fn sigkill_queue_child() {
    let Some(dir) = std::env::var_os("FAXBRIDGE_QUEUE_CHILD_DIR") else {
        return; // started by hand: nothing to be a child of
    };
    let dir = PathBuf::from(dir);
    let q = open(&dir, kill_config()).await;
    run_queue(&q, Some(&dir.join("log"))).await;
    // Finished everything: idle until killed.
    std::future::pending::<()>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let exe = std::env::current_exe().unwrap();
    let mut recovered = 0;
    let mut runs = 0;
    // Kill until the children have got through the work (or 40 kills).
    for _ in 0..40 {
        runs += 1;
        let mut child = Command::new(&exe)
            .args([
                "sigkill_queue_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("FAXBRIDGE_QUEUE_CHILD_DIR", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rand::random_range(30..250)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let q = open(dir.path(), kill_config()).await;
        let report = q.recover(now_ms()).await.unwrap();
        recovered += report.completed + report.deferred;
        assert_eq!(report.failed, 0);
        check_invariants(&q, &log).await;
        let done = q
            .list(&ListFilter {
                states: vec!["done".into()],
                limit: 0,
            })
            .await
            .unwrap()
            .len();
        q.store().close().await;
        if done == KILL_JOBS as usize && runs >= 8 {
            break;
        }
    }

    // Finish in this process and check the end state.
    let q = open(dir.path(), kill_config()).await;
    run_queue(&q, None).await;
    let (queued_lines, done_lines) = check_invariants(&q, &log).await;
    let jobs = q.list(&ListFilter::default()).await.unwrap();
    assert_eq!(jobs.len(), KILL_JOBS as usize);
    assert!(jobs.iter().all(|j| j.state == JobState::Done));
    let successes = count(&q, "SELECT COUNT(*) FROM fax_job_attempt WHERE success = 1").await;
    assert_eq!(
        successes,
        i64::from(KILL_JOBS),
        "exactly one successful attempt per job"
    );
    let interrupted = count(
        &q,
        "SELECT COUNT(*) FROM fax_job_attempt WHERE cause = 'interrupted'",
    )
    .await;
    eprintln!(
        "sigkill: {runs} kills, {recovered} jobs recovered mid-call ({interrupted} interrupted \
         attempts), {queued_lines} enqueues and {done_lines} completions logged by children"
    );
    assert!(
        recovered > 0,
        "no kill landed mid-call; the test proved nothing"
    );
}
