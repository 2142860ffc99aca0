//! Delivery reports for outgoing faxes, end to end on a real spool: a SQLite
//! store (WAL, synchronous = FULL), real G4 TIFF documents, the job store
//! driven through its API as the sending worker drives it, the reporter, and
//! the mail outbox delivering into its Maildir (no relay configured). The
//! reports are parsed with mail-parser and their PDFs checked with poppler's
//! `pdfinfo`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use faxbridge::docs::tiff::{Compression, write_tiff};
use faxbridge::mail::{MailConfig, Outbox, OutgoingMessage};
use faxbridge::queue::reporter::{REPORT_KIND, Reporter};
use faxbridge::queue::{
    CallOutcome, CallResult, JobState, JobStore, NewJob, QueueConfig, RetryConfig, Route, Transport,
};
use faxbridge::store::Store;
use mail_parser::{MessageParser, MimeHeaders};
use sqlx::Row;

mod support;

const T0: i64 = 1_800_000_000_000;
/// SpanDSP `T30_ERR_CALLDROPPED`.
const CALL_DROPPED: i32 = spandsp_sys::t30_err_e::T30_ERR_CALLDROPPED as i32;

/// The daemon's parts on one spool, as `daemon::run` opens them.
struct Spool {
    jobs: JobStore,
    outbox: Outbox,
}

async fn open(dir: &Path, retry: RetryConfig) -> Spool {
    let store = Store::open_in_spool(dir).await.unwrap();
    let outbox = Outbox::open(&mail_config(), dir, store.clone())
        .await
        .unwrap();
    let jobs = JobStore::new(
        store,
        QueueConfig {
            retry,
            ..QueueConfig::default()
        },
    );
    Spool { jobs, outbox }
}

fn mail_config() -> MailConfig {
    MailConfig {
        from: "Fax Service <fax@example.org>".into(),
        ..MailConfig::default()
    }
}

/// A `pages`-page standard-resolution G4 document in the spool.
fn document(dir: &Path, name: &str, pages: u32) -> String {
    let all = support::fax::pages(200);
    let pages: Vec<_> = all.iter().cycle().take(pages as usize).cloned().collect();
    let path = dir.join(format!("{name}.tif"));
    write_tiff(&path, &pages, Compression::Group4).unwrap();
    path.to_string_lossy().into_owned()
}

fn new_job(key: &str, document: String, pages: u32, report_to: Option<&str>) -> NewJob {
    NewJob {
        idempotency_key: key.into(),
        destination: "+44 20 7946 0000".into(),
        route: Route::Trunk("main".into()),
        document,
        pages_total: pages,
        submitter: "alice@example.org".into(),
        report_to: report_to.map(str::to_string),
        subject: "Invoice 42".into(),
        not_before: None,
    }
}

fn fax_result(code: i32, text: &str, pages: u32) -> CallOutcome {
    CallOutcome {
        result: CallResult::Fax {
            t30_code: code,
            t30_text: text.into(),
            pages_confirmed: pages,
        },
        transport: Some(Transport::T38),
        ecm: Some(true),
        modem: Some(faxbridge::fax::Modem::V17),
        remote_ident: Some("  +44 20 7946 0000  ".into()),
        call_duration: Some(Duration::from_secs(83)),
        bit_rate: Some(14_400),
    }
}

fn not_answered(status: u16) -> CallOutcome {
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

/// One call as the worker makes it: claim, answer, pages confirmed one by
/// one, outcome.
async fn call(s: &Spool, id: &str, now: i64, confirm: u32, outcome: &CallOutcome) -> JobState {
    let claim = s.jobs.claim_due(now, 8).await.unwrap();
    let claim = claim.into_iter().find(|c| c.job_id == id).expect("job due");
    if confirm > 0 {
        s.jobs
            .start_sending(id, claim.attempt, now + 1_000)
            .await
            .unwrap();
        for p in 1..=confirm {
            s.jobs.confirm_pages(id, claim.attempt, p).await.unwrap();
        }
    }
    s.jobs
        .finish_attempt(id, claim.attempt, outcome, now + 90_000)
        .await
        .unwrap()
}

/// Messages in the Maildir, oldest first.
fn maildir(dir: &Path) -> Vec<Vec<u8>> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir.join("maildir/new"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    // In delivery order: Maildir names are `SECS.M<micros>P<pid>Q<seq>.host`
    // with unpadded numbers, so they are compared as numbers, not text.
    names.sort_by_key(|p| {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let digits_after = |tag: &str| -> u64 {
            name.split_once(tag)
                .and_then(|(_, rest)| {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse().ok()
                })
                .unwrap_or(0)
        };
        let secs: u64 = name
            .split('.')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (secs, digits_after(".M"), digits_after("Q"))
    });
    names.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// Page count of a PDF according to poppler.
fn pdf_pages(dir: &Path, pdf: &[u8]) -> u32 {
    let path = dir.join("attachment.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdfinfo")
        .arg(&path)
        .output()
        .expect("pdfinfo (poppler-utils)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no page count in {text}"))
}

/// Whether the body says `want`: the words may be wrapped across lines.
fn has(text: &str, want: &str) -> bool {
    let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    text.contains(want) || flat(text).contains(&flat(want))
}

async fn report_state(s: &Spool, id: &str) -> Option<String> {
    s.jobs.report_state(id).await.unwrap()
}

async fn outbox_rows(s: &Spool, kind: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM mail_outbox WHERE kind = $1")
        .bind(kind)
        .fetch_one(s.jobs.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

#[tokio::test]
async fn delivered_job_mails_a_report_with_exactly_the_sent_pdf() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path(), RetryConfig::default()).await;
    let doc = document(tmp.path(), "invoice", 3);
    let id = s
        .jobs
        .enqueue(
            &new_job("<m1@x>/1", doc, 3, Some("Alice <alice@example.org>")),
            T0,
        )
        .await
        .unwrap()
        .id;
    assert_eq!(
        report_state(&s, &id).await,
        None,
        "nothing due while queued"
    );

    // First call busy, second delivers all three pages.
    let state = call(&s, &id, T0, 0, &not_answered(486)).await;
    assert!(matches!(state, JobState::Deferred { .. }), "{state}");
    assert_eq!(
        report_state(&s, &id).await,
        None,
        "nothing due while deferred"
    );
    let state = call(&s, &id, T0 + 600_000, 3, &fax_result(0, "success", 3)).await;
    assert_eq!(state, JobState::Done);
    // Due in the same transaction as `done`.
    assert_eq!(report_state(&s, &id).await.as_deref(), Some("pending"));

    let attempt = &s.jobs.job(&id).await.unwrap().attempts[1];
    assert_eq!(attempt.remote_ident.as_deref(), Some("+44 20 7946 0000"));
    assert_eq!(attempt.call_duration, Some(Duration::from_secs(83)));
    assert_eq!(attempt.bit_rate, Some(14_400));

    let reporter = Reporter::new(s.jobs.clone(), s.outbox.clone());
    let round = reporter.round(T0 + 700_000).await.unwrap();
    assert_eq!(round.queued, 1);
    assert_eq!(report_state(&s, &id).await.as_deref(), Some("queued"));
    assert_eq!(s.outbox.deliver_due().await.unwrap(), 1);

    let mails = maildir(tmp.path());
    assert_eq!(mails.len(), 1);
    let msg = MessageParser::default().parse(&mails[0]).unwrap();
    assert_eq!(
        msg.subject(),
        Some("Fax to +442079460000 delivered (3 pages)")
    );
    assert_eq!(
        msg.from().unwrap().first().unwrap().address(),
        Some("fax@example.org")
    );
    assert_eq!(
        msg.to().unwrap().first().unwrap().address(),
        Some("alice@example.org")
    );
    assert_eq!(
        msg.header_raw("X-Fax-Job").map(str::trim),
        Some(id.as_str())
    );
    let text = msg.body_text(0).unwrap();
    for want in [
        "was delivered",
        "Invoice 42",
        "Pages sent:    3 of 3",
        "Attempts:      2",
        "Call duration: 1 min 23 s",
        "+44 20 7946 0000 (CSI)",
        "14400 bit/s (V.17), error correction on, over T.38",
        "line busy (SIP 486)",
        "delivered, pages 1-3 confirmed",
    ] {
        assert!(has(&text, want), "{want:?} missing from:\n{text}");
    }
    let pdf = msg.attachments().next().expect("the PDF of the fax");
    assert_eq!(pdf.content_type().unwrap().subtype(), Some("pdf"));
    assert_eq!(pdf_pages(tmp.path(), pdf.contents()), 3);

    // Nothing more is due.
    assert_eq!(reporter.round(T0 + 800_000).await.unwrap().queued, 0);
}

#[tokio::test]
async fn failed_job_reports_the_reason_and_the_pages_that_got_through() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(
        tmp.path(),
        RetryConfig {
            max_attempts: 1,
            ..RetryConfig::default()
        },
    )
    .await;
    // A wrong number: permanent at once.
    let wrong = s
        .jobs
        .enqueue(
            &new_job(
                "<m2@x>/1",
                document(tmp.path(), "a", 2),
                2,
                Some("alice@example.org"),
            ),
            T0,
        )
        .await
        .unwrap()
        .id;
    let state = call(&s, &wrong, T0, 0, &not_answered(404)).await;
    assert!(matches!(state, JobState::Failed { .. }), "{state}");
    // A dropped call after 2 of 4 pages, out of attempts.
    let partial = s
        .jobs
        .enqueue(
            &new_job(
                "<m3@x>/1",
                document(tmp.path(), "b", 4),
                4,
                Some("bob@example.org"),
            ),
            T0 + 1,
        )
        .await
        .unwrap()
        .id;
    let state = call(
        &s,
        &partial,
        T0 + 10,
        2,
        &fax_result(CALL_DROPPED, "The call dropped prematurely", 2),
    )
    .await;
    assert!(matches!(state, JobState::Failed { .. }), "{state}");

    let reporter = Reporter::new(s.jobs.clone(), s.outbox.clone());
    assert_eq!(reporter.round(T0 + 200_000).await.unwrap().queued, 2);
    assert_eq!(s.outbox.deliver_due().await.unwrap(), 2);
    let mails: Vec<_> = maildir(tmp.path());
    assert_eq!(mails.len(), 2);
    let parsed: Vec<_> = mails
        .iter()
        .map(|m| MessageParser::default().parse(m).unwrap())
        .collect();
    let by_subject = |s: &str| {
        parsed
            .iter()
            .find(|m| m.subject().is_some_and(|x| x.contains(s)))
            .unwrap_or_else(|| panic!("no report with {s:?}"))
    };

    let msg = by_subject("failed: number does not exist");
    let text = msg.body_text(0).unwrap();
    assert!(has(&text, "(SIP 404)"), "{text}");
    assert!(has(&text, "Check the number"), "{text}");
    assert!(has(&text, "No page reached the recipient"), "{text}");
    assert_eq!(msg.attachments().count(), 0);
    assert_eq!(
        msg.header_raw("X-Fax-Result").map(str::trim),
        Some("failed")
    );

    let msg = by_subject("failed: transmission error");
    let text = msg.body_text(0).unwrap();
    for want in [
        "only pages 1-2 of 4 got through",
        "Pages sent:    2 of 4 (pages 1-2)",
        "The call dropped prematurely",
        "What to do:",
        "The recipient already has pages 1-2",
    ] {
        assert!(has(&text, want), "{want:?} missing from:\n{text}");
    }
    let pdf = msg
        .attachments()
        .next()
        .expect("the pages that got through");
    assert_eq!(pdf_pages(tmp.path(), pdf.contents()), 2);
}

#[tokio::test]
async fn cancelled_job_is_reported_and_a_job_without_report_to_is_not() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path(), RetryConfig::default()).await;
    let cancelled = s
        .jobs
        .enqueue(
            &new_job(
                "<m4@x>/1",
                document(tmp.path(), "c", 1),
                1,
                Some("alice@example.org"),
            ),
            T0,
        )
        .await
        .unwrap()
        .id;
    let silent = s
        .jobs
        .enqueue(
            &new_job("<m5@x>/1", document(tmp.path(), "d", 1), 1, None),
            T0,
        )
        .await
        .unwrap()
        .id;
    s.jobs.cancel(&cancelled, "bob", T0 + 5_000).await.unwrap();
    let state = call(&s, &silent, T0 + 10_000, 1, &fax_result(0, "success", 1)).await;
    assert_eq!(state, JobState::Done);
    assert_eq!(report_state(&s, &silent).await, None, "nobody asked");
    assert_eq!(
        report_state(&s, &cancelled).await.as_deref(),
        Some("pending")
    );

    let reporter = Reporter::new(s.jobs.clone(), s.outbox.clone());
    assert_eq!(reporter.round(T0 + 20_000).await.unwrap().queued, 1);
    s.outbox.deliver_due().await.unwrap();
    let mails = maildir(tmp.path());
    assert_eq!(mails.len(), 1, "one report: the cancelled job's");
    let msg = MessageParser::default().parse(&mails[0]).unwrap();
    assert_eq!(msg.subject(), Some("Fax to +442079460000 cancelled"));
    let text = msg.body_text(0).unwrap();
    assert!(has(&text, "Cancelled by bob."), "{text}");
    assert_eq!(msg.attachments().count(), 0);
    assert_eq!(outbox_rows(&s, REPORT_KIND).await, 1);
}

#[tokio::test]
async fn a_report_left_pending_by_a_crash_is_sent_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let id = {
        let s = open(tmp.path(), RetryConfig::default()).await;
        let id = s
            .jobs
            .enqueue(
                &new_job(
                    "<m6@x>/1",
                    document(tmp.path(), "e", 2),
                    2,
                    Some("alice@example.org"),
                ),
                T0,
            )
            .await
            .unwrap()
            .id;
        call(&s, &id, T0, 2, &fax_result(0, "success", 2)).await;
        // The process dies after writing the report's spool file and before
        // committing the outbox row with the state change.
        let seq = s.jobs.job(&id).await.unwrap().events.last().unwrap().seq;
        let key = format!("{id}.{seq}");
        let prepared = s
            .outbox
            .prepare_message(&OutgoingMessage {
                kind: REPORT_KIND,
                key: &key,
                recipient: "alice@example.org",
                bytes: b"Subject: half-written\r\n\r\nx\r\n",
            })
            .await
            .unwrap();
        assert!(!prepared.already_queued());
        assert_eq!(report_state(&s, &id).await.as_deref(), Some("pending"));
        s.jobs.store().close().await;
        id
    };

    // Restart: recovery, then the reporter twice (as two rounds after a
    // restart would), then delivery.
    let s = open(tmp.path(), RetryConfig::default()).await;
    s.outbox.recover().await.unwrap();
    s.jobs.recover(T0 + 100_000).await.unwrap();
    let reporter = Reporter::new(s.jobs.clone(), s.outbox.clone());
    assert_eq!(reporter.round(T0 + 100_000).await.unwrap().queued, 1);
    assert_eq!(reporter.round(T0 + 100_001).await.unwrap().queued, 0);
    assert_eq!(s.outbox.deliver_due().await.unwrap(), 1);
    assert_eq!(s.outbox.deliver_due().await.unwrap(), 0);
    let mails = maildir(tmp.path());
    assert_eq!(mails.len(), 1, "exactly one report");
    let msg = MessageParser::default().parse(&mails[0]).unwrap();
    assert_eq!(
        msg.subject(),
        Some("Fax to +442079460000 delivered (2 pages)"),
        "the rebuilt report, not the half-written file"
    );
    assert_eq!(report_state(&s, &id).await.as_deref(), Some("queued"));

    // And once more from scratch: a later restart finds nothing due.
    s.jobs.store().close().await;
    let s = open(tmp.path(), RetryConfig::default()).await;
    s.outbox.recover().await.unwrap();
    let reporter = Reporter::new(s.jobs.clone(), s.outbox.clone());
    assert_eq!(reporter.round(T0 + 200_000).await.unwrap().queued, 0);
    assert_eq!(s.outbox.deliver_due().await.unwrap(), 0);
    assert_eq!(maildir(tmp.path()).len(), 1);
}

#[tokio::test]
async fn a_job_retried_by_hand_gets_a_second_report() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path(), RetryConfig::default()).await;
    let id = s
        .jobs
        .enqueue(
            &new_job(
                "<m7@x>/1",
                document(tmp.path(), "f", 1),
                1,
                Some("alice@example.org"),
            ),
            T0,
        )
        .await
        .unwrap()
        .id;
    call(&s, &id, T0, 0, &not_answered(403)).await;
    let reporter = Reporter::new(s.jobs.clone(), s.outbox.clone());
    assert_eq!(reporter.round(T0 + 1_000).await.unwrap().queued, 1);

    // The operator fixed the trunk and retried: the next outcome is
    // reported too, under a new key.
    s.jobs.retry_now(&id, "ops", T0 + 2_000).await.unwrap();
    assert_eq!(report_state(&s, &id).await.as_deref(), Some("queued"));
    call(&s, &id, T0 + 3_000, 1, &fax_result(0, "success", 1)).await;
    assert_eq!(report_state(&s, &id).await.as_deref(), Some("pending"));
    assert_eq!(reporter.round(T0 + 200_000).await.unwrap().queued, 1);
    assert_eq!(s.outbox.deliver_due().await.unwrap(), 2);
    let subjects: Vec<String> = maildir(tmp.path())
        .iter()
        .map(|m| {
            MessageParser::default()
                .parse(m)
                .unwrap()
                .subject()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        subjects.contains(
            &"Fax to +442079460000 failed: call refused by the telephone provider".to_string()
        ),
        "{subjects:?}"
    );
    assert!(
        subjects.contains(&"Fax to +442079460000 delivered (1 page)".to_string()),
        "{subjects:?}"
    );
}

#[tokio::test]
async fn a_report_to_that_is_no_address_is_given_up_and_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path(), RetryConfig::default()).await;
    let id = s
        .jobs
        .enqueue(
            &new_job(
                "<m8@x>/1",
                document(tmp.path(), "g", 1),
                1,
                Some("not an address"),
            ),
            T0,
        )
        .await
        .unwrap()
        .id;
    s.jobs.cancel(&id, "bob", T0 + 1).await.unwrap();
    let reporter = Reporter::new(s.jobs.clone(), s.outbox.clone());
    let round = reporter.round(T0 + 2).await.unwrap();
    assert_eq!((round.queued, round.unsendable), (0, 1));
    assert_eq!(report_state(&s, &id).await.as_deref(), Some("unsendable"));
    let events = s.jobs.job(&id).await.unwrap().events;
    assert!(
        events.last().unwrap().detail.contains("no delivery report"),
        "{events:?}"
    );
    assert_eq!(reporter.round(T0 + 3).await.unwrap(), Default::default());
}

#[tokio::test]
async fn the_reporter_task_runs_until_stopped() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path(), RetryConfig::default()).await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let reporter = Reporter::new(s.jobs.clone(), s.outbox.clone())
        .with_poll_interval(Duration::from_secs(3600));
    let waker = reporter.waker();
    let task = tokio::spawn(reporter.run(stop_rx.clone()));
    let mailer = {
        let outbox = s.outbox.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            outbox
                .run_worker(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await
        })
    };
    let id = s
        .jobs
        .enqueue(
            &new_job(
                "<m9@x>/1",
                document(tmp.path(), "h", 2),
                2,
                Some("alice@example.org"),
            ),
            T0,
        )
        .await
        .unwrap()
        .id;
    call(&s, &id, T0, 2, &fax_result(0, "success", 2)).await;
    // The sending worker wakes the reporter when a job ends.
    waker.notify_one();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while maildir(tmp.path()).is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no report mailed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("reporter stops")
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), mailer)
        .await
        .expect("outbox worker stops")
        .unwrap();
    let msg = MessageParser::default()
        .parse(&maildir(tmp.path())[0])
        .unwrap()
        .into_owned();
    let pdf = msg.attachments().next().expect("PDF");
    assert_eq!(pdf_pages(tmp.path(), pdf.contents()), 2);
    assert_eq!(report_state(&s, &id).await.as_deref(), Some("queued"));
}

#[tokio::test]
async fn upgrading_keeps_queued_fax_mail_and_its_foreign_key() {
    let tmp = tempfile::tempdir().unwrap();
    // A database written by the previous schema (migrations 0001-0003)...
    let old = tmp.path().join("old-migrations");
    std::fs::create_dir(&old).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for name in [
        "0001_mail_outbox.sql",
        "0002_fax_jobs.sql",
        "0003_job_reports.sql",
    ] {
        std::fs::copy(src.join(name), old.join(name)).unwrap();
    }
    let db = tmp.path().join("faxbridge.db");
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=rwc", db.display());
    {
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        sqlx::migrate::Migrator::new(old.as_path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        // ...holding a received fax with a message waiting for a retry.
        sqlx::query(
            "INSERT INTO received_fax (id, tiff_path, caller, called, remote_csi, \
             pages_received, started_at_ms, duration_ms, bit_rate, ecm, result_text, success, \
             recipients, attach_tiff, state, convert_attempts, created_at_ms, updated_at_ms) \
             VALUES ('F1', '/x.tif', '1', '2', '', 1, 0, 0, 9600, 0, 'ok', 1, 'a@example.org', \
             0, 'queued', 1, 0, 0)",
        )
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO mail_outbox (id, fax_id, recipient, message_path, state, attempts, \
             next_attempt_ms, last_error, created_at_ms, updated_at_ms) VALUES \
             ('F1.0', 'F1', 'a@example.org', '/spool/mail/outbox/F1.0.eml', 'deferred', 2, \
             123, '451 try later', 5, 6)",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }

    // Opening it applies 0004: the row is kept, now of kind "fax".
    let s = open(tmp.path(), RetryConfig::default()).await;
    let entries = s.outbox.entries_for_fax("F1").await.unwrap();
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(
        (
            e.id.as_str(),
            e.kind.as_str(),
            e.fax_id.as_deref(),
            e.attempts
        ),
        ("F1.0", "fax", Some("F1"), 2)
    );
    assert_eq!(e.last_error.as_deref(), Some("451 try later"));

    // The reference to received_fax still holds for fax rows, and a row of
    // another kind cannot claim a fax.
    let orphan = sqlx::query(
        "INSERT INTO mail_outbox (id, kind, fax_id, recipient, message_path, state, attempts, \
         next_attempt_ms, created_at_ms, updated_at_ms) \
         VALUES ('X.0', 'fax', 'nope', 'a@example.org', '/m', 'pending', 0, 0, 0, 0)",
    )
    .execute(s.jobs.pool())
    .await;
    assert!(orphan.is_err(), "foreign key to received_fax enforced");
    let mixed = sqlx::query(
        "INSERT INTO mail_outbox (id, kind, fax_id, recipient, message_path, state, attempts, \
         next_attempt_ms, created_at_ms, updated_at_ms) \
         VALUES ('alert:x', 'alert', 'F1', 'a@example.org', '/m', 'pending', 0, 0, 0, 0)",
    )
    .execute(s.jobs.pool())
    .await;
    assert!(mixed.is_err(), "only fax rows reference a fax");

    // Generic messages are idempotent by key.
    let msg = OutgoingMessage {
        kind: "alert",
        key: "disk-full.1",
        recipient: "ops@example.org",
        bytes: b"Subject: disk\r\n\r\nfull\r\n",
    };
    assert!(s.outbox.enqueue_message(&msg).await.unwrap());
    assert!(!s.outbox.enqueue_message(&msg).await.unwrap());
    let entry = s.outbox.entry("alert:disk-full.1").await.unwrap().unwrap();
    assert_eq!((entry.kind.as_str(), entry.fax_id), ("alert", None));
    assert!(
        s.outbox
            .enqueue_message(&OutgoingMessage { kind: "fax", ..msg })
            .await
            .is_err(),
        "kind fax is reserved"
    );
    assert!(
        s.outbox
            .enqueue_message(&OutgoingMessage { key: "../x", ..msg })
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_generic_message_whose_file_is_lost_becomes_a_dead_letter() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path(), RetryConfig::default()).await;
    let msg = OutgoingMessage {
        kind: "alert",
        key: "a1",
        recipient: "ops@example.org",
        bytes: b"Subject: a\r\n\r\nb\r\n",
    };
    assert!(s.outbox.enqueue_message(&msg).await.unwrap());
    std::fs::remove_file(tmp.path().join("mail/outbox/alert:a1.eml")).unwrap();
    assert_eq!(s.outbox.recover().await.unwrap().failures, 1);
    assert_eq!(s.outbox.deliver_due().await.unwrap(), 1);
    let e = s.outbox.entry("alert:a1").await.unwrap().unwrap();
    assert_eq!(e.state, faxbridge::mail::DeliveryState::Dead);
    assert!(
        e.last_error
            .as_deref()
            .unwrap()
            .contains("cannot be rebuilt"),
        "{e:?}"
    );
    assert!(maildir(tmp.path()).is_empty());
}

/// A mail message whose signature, contact card and small signature logo
/// are left out of the fax (by policy, without refusing the message): the
/// intake records them with the job, and the delivery report lists each
/// with the reason, so a sender who meant one of them to be faxed notices.
#[tokio::test]
async fn parts_left_out_of_a_mail_message_are_listed_in_its_report() {
    use faxbridge::intake::Intake;
    use faxbridge::smtp::{MailHandler, ReceivedMessage, SessionInfo};

    let tmp = tempfile::tempdir().unwrap();
    let spool = tmp.path().join("spool");
    let config = faxbridge::config::Config::parse(&format!(
        r#"
[general]
spool_dir = "{}"
[outgoing]
uri = "sip:{{number}}@127.0.0.1:5999"
[intake]
fax_domains = ["fax.example.org"]
[intake.senders]
allowed = ["example.org"]
trusted_relays = ["127.0.0.0/8"]
"#,
        spool.display()
    ))
    .unwrap();
    faxbridge::daemon::prepare_spool(&spool).unwrap();
    let s = open(&spool, RetryConfig::default()).await;
    let intake = Intake::new(config.intake_settings(), s.jobs.clone(), None);

    // A real one-page PDF to fax.
    let tif = document(tmp.path(), "form", 1);
    let pdf_path = tmp.path().join("form.pdf");
    faxbridge::docs::convert_to_pdf(Path::new(&tif), &pdf_path).unwrap();
    let pdf = std::fs::read(&pdf_path).unwrap();
    let b64 = |d: &[u8]| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(d)
    };
    let part = |ct: &str, name: &str, disposition: &str, data: &[u8]| {
        format!(
            "--b0\r\nContent-Type: {ct}; name=\"{name}\"\r\nContent-Disposition: {disposition}; \
             filename=\"{name}\"\r\nContent-ID: <{name}>\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            b64(data)
        )
    };
    let message = format!(
        "From: Alice <alice@example.org>\r\nTo: 02079460000@fax.example.org\r\n\
         Subject: Signed form\r\nMessage-ID: <left-out-1@example.org>\r\n\
         Date: Wed, 25 Nov 2026 13:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n\
         --b0\r\nContent-Type: text/plain\r\n\r\nForm attached.\r\n{}{}{}{}--b0--\r\n",
        part("application/pdf", "form.pdf", "attachment", &pdf),
        part("image/png", "logo.png", "inline", &tiny_png()),
        part(
            "text/x-vcard",
            "Alice Smith.vcf",
            "attachment",
            b"BEGIN:VCARD\r\nEND:VCARD\r\n"
        ),
        part(
            "application/pkcs7-signature",
            "smime.p7s",
            "attachment",
            b"\x30\x82\x01\x00"
        ),
    );
    let session = SessionInfo {
        peer: "127.0.0.1:40000".parse().unwrap(),
        helo: "relay.example.org".into(),
        tls: false,
        authenticated: None,
    };
    let accepted = intake
        .accept(
            &session,
            ReceivedMessage {
                mail_from: "alice@example.org".into(),
                recipients: vec!["02079460000@fax.example.org".into()],
                data: message.into_bytes(),
            },
        )
        .await
        .unwrap();
    let [id] = accepted.jobs.as_slice() else {
        panic!("one job expected: {:?}", accepted.jobs)
    };
    let left: Vec<String> = s
        .jobs
        .job(id)
        .await
        .unwrap()
        .left_out
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(left, ["logo.png", "Alice Smith.vcf", "smime.p7s"]);

    let pages = s.jobs.job(id).await.unwrap().job.pages_total;
    let state = call(&s, id, T0, pages, &fax_result(0, "success", pages)).await;
    assert_eq!(state, JobState::Done);
    let reporter = Reporter::new(s.jobs.clone(), s.outbox.clone());
    assert_eq!(reporter.round(T0 + 700_000).await.unwrap().queued, 1);
    assert_eq!(s.outbox.deliver_due().await.unwrap(), 1);
    let mails = maildir(&spool);
    let msg = MessageParser::default().parse(&mails[0]).unwrap();
    let text = msg.body_text(0).unwrap();
    for want in [
        "Not faxed from your message:",
        "- logo.png: small picture inside the message text",
        "- Alice Smith.vcf: contact card, not a document",
        "- smime.p7s: digital signature of the message, not a document",
        "send it again as a PDF attachment",
    ] {
        assert!(has(&text, want), "{want:?} missing from:\n{text}");
    }

    // A job with nothing left out says nothing about it.
    let doc = document(tmp.path(), "plain", 1);
    let plain = s
        .jobs
        .enqueue(
            &new_job("<plain@x>/1", doc, 1, Some("alice@example.org")),
            T0,
        )
        .await
        .unwrap()
        .id;
    call(&s, &plain, T0 + 800_000, 1, &fax_result(0, "success", 1)).await;
    reporter.round(T0 + 900_000).await.unwrap();
    s.outbox.deliver_due().await.unwrap();
    let mails = maildir(&spool);
    let last = MessageParser::default()
        .parse(mails.last().unwrap())
        .unwrap();
    assert!(!last.body_text(0).unwrap().contains("Not faxed"));
}

/// A 4×4 PNG: far below the size of a document, as signature logos are.
fn tiny_png() -> Vec<u8> {
    let img = image::GrayImage::from_pixel(4, 4, image::Luma([0]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}
