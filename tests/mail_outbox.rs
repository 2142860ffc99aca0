//! Fax-to-email outbox against a real SMTP server and a real Maildir.
//!
//! The SMTP peer is aiosmtpd (PyPI) running `tests/support/smtp_sink.py`,
//! which saves every accepted message to a directory and can answer 451 or
//! 550 on demand. The first test to need it creates a Python venv in
//! `target/test-venv` and installs aiosmtpd there (once; later runs reuse it).
//! The received fax is a real G4 TIFF written by `docs::tiff::write_tiff`;
//! PDFs in the delivered mail are checked with poppler's `pdfinfo`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use faxbridge::docs::tiff::{Compression, write_tiff};
use faxbridge::docs::{Page, Resolution};
use faxbridge::mail::{
    DeliveryState, MailConfig, Outbox, ReceivedFax, RelayConfig, RelayTls, Route,
};
use faxbridge::store::Store;

mod support;
use mail_parser::{MessageParser, MimeHeaders};

const PAGES: u32 = 3;

// ---------------------------------------------------------------------------
// Test peers.
// ---------------------------------------------------------------------------

use support::smtp::{Sink, free_port};

// ---------------------------------------------------------------------------
// Fixtures.
// ---------------------------------------------------------------------------

/// A 3-page fine-resolution fax: a frame and a different bar pattern per page.
fn write_fax_tiff(path: &Path) {
    let pages: Vec<Page> = (0..PAGES)
        .map(|n| {
            let mut p = Page::blank(1728, 2287, Resolution::Fine);
            for y in 0..p.height {
                for x in 0..p.width {
                    let frame = x < 40 || x >= p.width - 40 || y < 40 || y >= p.height - 40;
                    let bars = y > 200 && y < 2000 && (x / 64) % (n + 2) == 0 && (y / 40) % 2 == 0;
                    if frame || bars {
                        p.set(x, y, true);
                    }
                }
            }
            p
        })
        .collect();
    write_tiff(path, &pages, Compression::Group4).unwrap();
}

fn fax(id: &str, tiff: &Path) -> ReceivedFax {
    ReceivedFax {
        id: id.to_string(),
        tiff: tiff.to_path_buf(),
        caller: "01632960123".into(),
        called: "+441632960000".into(),
        remote_csi: "+44 1632 960123".into(),
        pages_received: PAGES,
        pages_expected: Some(PAGES),
        started_at: SystemTime::now(),
        duration: Duration::from_secs(83),
        bit_rate: 14_400,
        ecm: true,
        result: "All pages received".into(),
        success: true,
    }
}

fn route(mailboxes: &[&str], attach_tiff: bool) -> Route {
    Route {
        mailboxes: mailboxes.iter().map(|s| s.to_string()).collect(),
        attach_tiff,
    }
}

fn config(relay_port: Option<u16>) -> MailConfig {
    MailConfig {
        from: "Fax Service <fax@example.org>".into(),
        relay: relay_port.map(|port| RelayConfig {
            host: "127.0.0.1".into(),
            port: Some(port),
            tls: RelayTls::None,
            username: None,
            password: None,
            ca_file: None,
            timeout_secs: 10,
        }),
        retry_initial_secs: 1,
        retry_max_secs: 2,
        max_attempts: 30,
        max_age_secs: 600,
        alert_after_secs: 0,
    }
}

struct Env {
    _dir: tempfile::TempDir,
    spool: PathBuf,
    tiff: PathBuf,
    sink_dir: PathBuf,
    /// The database (`[store] url`), or none for the SQLite file in the spool.
    store_url: Option<String>,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    std::fs::create_dir_all(spool.join("incoming")).unwrap();
    let tiff = spool.join("incoming/fax.tif");
    write_fax_tiff(&tiff);
    Env {
        sink_dir: dir.path().join("sink"),
        spool,
        tiff,
        _dir: dir,
        store_url: None,
    }
}

/// As [`env`], with the state in a fresh database on the test PostgreSQL
/// server (the spool keeps the files).
fn env_on_postgres() -> Env {
    Env {
        store_url: Some(support::postgres::server().fresh_database()),
        ..env()
    }
}

impl Env {
    async fn store(&self) -> Store {
        let config = faxbridge::store::StoreConfig {
            url: self.store_url.clone(),
        };
        config.open(&self.spool).await.unwrap()
    }
}

async fn open(env: &Env, config: &MailConfig) -> Outbox {
    let store = env.store().await;
    Outbox::open(config, &env.spool, store).await.unwrap()
}

/// Run the worker in the background; send on the returned channel to stop it.
fn start_worker(
    outbox: &Outbox,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let o = outbox.clone();
    let handle = tokio::spawn(async move {
        o.run_worker(async {
            let _ = rx.await;
        })
        .await
    });
    (tx, handle)
}

async fn stop_worker(
    w: (
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    ),
) {
    let _ = w.0.send(());
    tokio::time::timeout(Duration::from_secs(15), w.1)
        .await
        .expect("worker stops when told")
        .unwrap();
}

/// Poll `check` every 100 ms until it returns true; panic after `secs`.
async fn wait_for<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(
            Instant::now() < end,
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn states(outbox: &Outbox, fax_id: &str) -> Vec<DeliveryState> {
    outbox
        .entries_for_fax(fax_id)
        .await
        .unwrap()
        .iter()
        .map(|e| e.state)
        .collect()
}

fn pdf_pages(pdf: &[u8]) -> u32 {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.pdf");
    std::fs::write(&p, pdf).unwrap();
    let out = Command::new("pdfinfo")
        .arg(&p)
        .output()
        .expect("pdfinfo (poppler-utils)");
    assert!(
        out.status.success(),
        "pdfinfo refused the PDF: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:").map(|n| n.trim().parse().unwrap()))
        .expect("pdfinfo prints Pages:")
}

/// Check one delivered fax email from top to bottom; returns the PDF bytes.
fn check_fax_email(bytes: &[u8], to: &str, tiff: Option<&[u8]>) -> Vec<u8> {
    let msg = MessageParser::default()
        .parse(bytes)
        .expect("message parses");
    let from = msg.from().unwrap().first().unwrap();
    assert_eq!(from.address(), Some("fax@example.org"));
    assert_eq!(from.name(), Some("Fax Service"));
    assert_eq!(msg.to().unwrap().first().unwrap().address(), Some(to));
    assert_eq!(
        msg.subject(),
        Some("Fax from +44 1632 960123 (01632960123), 3 pages")
    );
    assert!(msg.message_id().unwrap().ends_with("@example.org"));
    assert!(msg.date().is_some());
    assert_eq!(msg.header_raw("X-Fax-Pages").map(str::trim), Some("3"));
    let text = msg.body_text(0).unwrap();
    for needle in [
        "+44 1632 960123",
        "01632960123",
        "+441632960000",
        "3 pages",
        "1 min 23 s",
        "14400 bit/s, error correction on",
        "All pages received",
        "UTC",
    ] {
        assert!(text.contains(needle), "text part lacks {needle:?}:\n{text}");
    }
    let html = msg.body_html(0).unwrap();
    let cid = html
        .split("src=\"cid:")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("HTML shows the thumbnail by cid")
        .to_string();
    let thumb = msg
        .attachments()
        .find(|a| a.content_id() == Some(cid.as_str()))
        .expect("thumbnail part with the HTML's Content-ID");
    assert!(thumb.contents().starts_with(b"\x89PNG\r\n\x1a\n"));
    let pdf = msg
        .attachments()
        .find(|a| a.attachment_name().is_some_and(|n| n.ends_with(".pdf")))
        .expect("PDF attachment");
    assert_eq!(
        pdf.content_type()
            .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or(""))),
        Some("application/pdf".into())
    );
    assert_eq!(pdf_pages(pdf.contents()), PAGES);
    let tif = msg
        .attachments()
        .find(|a| a.attachment_name().is_some_and(|n| n.ends_with(".tif")));
    match tiff {
        Some(original) => assert_eq!(tif.expect("TIFF attachment").contents(), original),
        None => assert!(
            tif.is_none(),
            "TIFF attached although the route did not ask"
        ),
    }
    pdf.contents().to_vec()
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

// ---------------------------------------------------------------------------
// Cases.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fax_is_mailed_through_the_relay_with_pdf_thumbnail_and_tiff() {
    fax_is_mailed_through_the_relay_with_pdf_thumbnail_and_tiff_on(env()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fax_is_mailed_through_the_relay_with_pdf_thumbnail_and_tiff_on_postgresql() {
    fax_is_mailed_through_the_relay_with_pdf_thumbnail_and_tiff_on(env_on_postgres()).await;
}

async fn fax_is_mailed_through_the_relay_with_pdf_thumbnail_and_tiff_on(env: Env) {
    let sink = Sink::listen(&env.sink_dir, &[]);
    let port = sink.port;
    let outbox = open(&env, &config(Some(port))).await;
    let worker = start_worker(&outbox);

    let recipients = ["Accounts <accounts@example.org>", "sales@example.org"];
    outbox
        .deliver_received_fax(&fax("f1", &env.tiff), &route(&recipients, true))
        .await
        .unwrap();
    wait_for(30, "two messages at the sink", || async {
        sink.messages().len() == 2
    })
    .await;
    wait_for(10, "rows marked sent", || async {
        states(&outbox, "f1").await == [DeliveryState::Sent; 2]
    })
    .await;
    stop_worker(worker).await;

    let tiff = std::fs::read(&env.tiff).unwrap();
    let mut seen = Vec::new();
    for (bytes, envelope) in sink.messages() {
        assert!(
            envelope.contains("\"mail_from\": \"fax@example.org\""),
            "{envelope}"
        );
        let to = if envelope.contains("accounts@example.org") {
            "accounts@example.org"
        } else {
            "sales@example.org"
        };
        let pdf = check_fax_email(&bytes, to, Some(&tiff));
        assert_eq!(
            pdf,
            std::fs::read(env.spool.join("mail/faxes/f1.pdf")).unwrap()
        );
        seen.push(to);
    }
    seen.sort();
    assert_eq!(seen, ["accounts@example.org", "sales@example.org"]);
    assert_eq!(outbox.counters().sent, 2);
    for e in outbox.entries_for_fax("f1").await.unwrap() {
        assert_eq!(e.attempts, 1);
        assert_eq!(e.last_error, None);
    }
    assert_eq!(
        count_files(&env.spool.join("mail/outbox")),
        0,
        "sent messages leave the spool"
    );
    assert!(outbox.undelivered().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_down_for_a_while_then_everything_is_delivered() {
    relay_down_for_a_while_then_everything_is_delivered_on(env()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_down_for_a_while_then_everything_is_delivered_on_postgresql() {
    relay_down_for_a_while_then_everything_is_delivered_on(env_on_postgres()).await;
}

async fn relay_down_for_a_while_then_everything_is_delivered_on(env: Env) {
    // The relay comes up later on the port the outbox was told: reserved
    // beforehand.
    let port = free_port();
    let outbox = open(&env, &config(Some(port))).await;
    let worker = start_worker(&outbox);
    outbox
        .deliver_received_fax(&fax("a", &env.tiff), &route(&["one@example.org"], false))
        .await
        .unwrap();
    outbox
        .deliver_received_fax(
            &fax("b", &env.tiff),
            &route(&["two@example.org", "three@example.org"], false),
        )
        .await
        .unwrap();

    // Nothing listens: every message is deferred with the connection error.
    wait_for(20, "three deferred messages", || async {
        let u = outbox.undelivered().await.unwrap();
        u.len() == 3 && u.iter().all(|e| e.state == DeliveryState::Deferred)
    })
    .await;
    let deferred = outbox.undelivered().await.unwrap();
    for e in &deferred {
        let err = e.last_error.as_deref().unwrap();
        assert!(err.to_lowercase().contains("connect"), "{err}");
        assert!(e.next_attempt > SystemTime::now() - Duration::from_secs(1));
    }
    // Stay down long enough for a second (backed-off) attempt.
    wait_for(20, "a second attempt", || async {
        outbox
            .undelivered()
            .await
            .unwrap()
            .iter()
            .all(|e| e.attempts >= 2)
    })
    .await;

    let sink = Sink::start(port, &env.sink_dir, &[]);
    wait_for(30, "three messages at the sink", || async {
        sink.messages().len() == 3
    })
    .await;
    wait_for(10, "all rows sent", || async {
        states(&outbox, "a").await == [DeliveryState::Sent]
            && states(&outbox, "b").await == [DeliveryState::Sent; 2]
    })
    .await;
    stop_worker(worker).await;
    for (bytes, _) in sink.messages() {
        let msg = MessageParser::default().parse(&bytes[..]).unwrap();
        let to = msg
            .to()
            .unwrap()
            .first()
            .unwrap()
            .address()
            .unwrap()
            .to_string();
        check_fax_email(&bytes, &to, None);
    }
    assert!(outbox.undelivered().await.unwrap().is_empty());
    assert_eq!(outbox.dead_letters_total(), 0);
    let c = outbox.counters();
    assert!(c.sent == 3 && c.deferred >= 6, "{c:?}");
}

/// How the scripted relay of [`relay_outage_three_phases_deliver_once_on_the_back_off_with_one_alert`]
/// treats a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// (a) `421 4.3.2 Service not available` instead of a greeting.
    Refuse,
    /// (b) Accept the connection and say nothing.
    Silent,
    /// (c) A working relay.
    Normal,
}

/// One connection the scripted relay saw.
#[derive(Debug, Clone)]
struct RelayConn {
    phase: Phase,
    /// When it was accepted, from the relay's start.
    at: Duration,
    /// How long until the client hung up (silent phase).
    client_left_after: Option<Duration>,
    /// Message-IDs of the messages it accepted.
    message_ids: Vec<String>,
}

/// A relay in a tokio task: `refusals` connections get 421, then one
/// connection gets silence until the client hangs up, then it works.
struct ScriptedRelay {
    port: u16,
    log: std::sync::Arc<std::sync::Mutex<Vec<RelayConn>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ScriptedRelay {
    async fn start(refusals: usize) -> ScriptedRelay {
        use std::sync::{Arc, Mutex};
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let start = Instant::now();
        let log: Arc<Mutex<Vec<RelayConn>>> = Arc::default();
        // Silent connections whose client has hung up.
        let silent_done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let shared = log.clone();
        let task = tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let at = start.elapsed();
                let (index, phase) = {
                    let mut log = shared.lock().unwrap();
                    let seen = |p| log.iter().filter(|c: &&RelayConn| c.phase == p).count();
                    let phase = if seen(Phase::Refuse) < refusals {
                        Phase::Refuse
                    } else if silent_done.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                        Phase::Silent
                    } else {
                        Phase::Normal
                    };
                    log.push(RelayConn {
                        phase,
                        at,
                        client_left_after: None,
                        message_ids: Vec::new(),
                    });
                    (log.len() - 1, phase)
                };
                let log = shared.clone();
                let silent_done = silent_done.clone();
                tokio::spawn(async move {
                    match phase {
                        Phase::Refuse => {
                            let _ = stream
                                .write_all(b"421 4.3.2 Service not available\r\n")
                                .await;
                        }
                        Phase::Silent => {
                            let mut buf = [0u8; 1024];
                            while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
                            log.lock().unwrap()[index].client_left_after =
                                Some(start.elapsed() - at);
                            silent_done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        Phase::Normal => {
                            let (rd, mut wr) = stream.into_split();
                            let mut rd = BufReader::new(rd);
                            wr.write_all(b"220 relay.test ESMTP\r\n").await.unwrap();
                            let mut line = String::new();
                            let mut in_data = false;
                            let mut message_id = None;
                            loop {
                                line.clear();
                                if rd.read_line(&mut line).await.unwrap_or(0) == 0 {
                                    break;
                                }
                                if in_data {
                                    if line == ".\r\n" {
                                        in_data = false;
                                        let id: String = message_id.take().unwrap_or_default();
                                        log.lock().unwrap()[index].message_ids.push(id);
                                        wr.write_all(b"250 2.0.0 Queued\r\n").await.unwrap();
                                    } else if message_id.is_none()
                                        && line.to_ascii_lowercase().starts_with("message-id:")
                                    {
                                        message_id = Some(line[11..].trim().to_string());
                                    }
                                    continue;
                                }
                                let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                                let reply: &[u8] = match verb.as_str() {
                                    "EHLO" => b"250-relay.test\r\n250 8BITMIME\r\n",
                                    "DATA" => {
                                        in_data = true;
                                        b"354 Go ahead\r\n"
                                    }
                                    "QUIT" => {
                                        let _ = wr.write_all(b"221 2.0.0 Bye\r\n").await;
                                        break;
                                    }
                                    _ => b"250 2.0.0 OK\r\n",
                                };
                                wr.write_all(reply).await.unwrap();
                            }
                        }
                    }
                });
            }
        });
        ScriptedRelay { port, log, task }
    }

    fn conns(&self) -> Vec<RelayConn> {
        self.log.lock().unwrap().clone()
    }

    fn message_ids(&self) -> Vec<String> {
        self.conns()
            .into_iter()
            .flat_map(|c| c.message_ids)
            .collect()
    }
}

/// Alerts kept for the test to read: (when, subject, body).
#[derive(Default)]
struct RecordedAlerts {
    raised: std::sync::Mutex<Vec<(SystemTime, String, String)>>,
}

impl faxbridge::alert::Alerts for RecordedAlerts {
    fn alert(&self, subject: &str, body: &str) {
        let at = SystemTime::now();
        self.raised
            .lock()
            .unwrap()
            .push((at, subject.to_string(), body.to_string()));
    }
}

/// The relay down for an outage in three phases (simulated in seconds):
/// 421 to every connection, then accepted connections that stay silent,
/// then normal service. Three received-fax mails and a delivery report are
/// queued before the outage is first met. Every message arrives exactly
/// once; the attempts the relay sees follow the back-off (1 s doubling to
/// 4 s); while the relay is unavailable each round tries it once, not once
/// per message; a silent relay is given up after 5 × `timeout_secs`; one
/// alert is raised once mail has waited `alert_after_secs`, and it clears.
///
/// `RELAY_OUTAGE_SCALE=S` multiplies every duration by S (default 1, about
/// 20 s in all); `RELAY_OUTAGE_SCALE=180` is an outage of about an hour
/// with a back-off of 3 minutes doubling to 12, a 3-minute relay timeout
/// and the alert after 15 minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_outage_three_phases_deliver_once_on_the_back_off_with_one_alert() {
    use faxbridge::mail::OutgoingMessage;
    let scale: u64 = std::env::var("RELAY_OUTAGE_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let timeout_secs: u64 = scale;
    let alert_after: u64 = 5 * scale;
    let env = env();
    let relay = ScriptedRelay::start(4).await;
    let mut cfg = config(Some(relay.port));
    cfg.retry_initial_secs = scale;
    cfg.retry_max_secs = 4 * scale;
    cfg.alert_after_secs = alert_after;
    // Messages are kept far longer than the outage (the config's 600 s
    // would give up at the third attempt of a stretched one).
    cfg.max_age_secs = cfg.max_age_secs.max(40 * scale);
    cfg.relay.as_mut().unwrap().timeout_secs = timeout_secs;
    let outbox = open(&env, &cfg).await;
    let alerts = std::sync::Arc::new(RecordedAlerts::default());
    outbox.set_alerts(alerts.clone());

    // Queued before the worker runs, so all are due at once.
    outbox
        .deliver_received_fax(&fax("a", &env.tiff), &route(&["one@example.org"], false))
        .await
        .unwrap();
    outbox
        .deliver_received_fax(
            &fax("b", &env.tiff),
            &route(&["two@example.org", "three@example.org"], false),
        )
        .await
        .unwrap();
    let report_id = outbox.message_id("job-report", "job-1");
    let report = format!(
        "From: Fax Service <fax@example.org>\r\nTo: jane@example.org\r\n\
         Subject: Fax to 01223654321: sent\r\nMessage-ID: <{report_id}>\r\n\r\n\
         Your fax was sent: 2 pages.\r\n"
    );
    assert!(
        outbox
            .enqueue_message(&OutgoingMessage {
                kind: "job-report",
                key: "job-1",
                recipient: "jane@example.org",
                bytes: report.as_bytes(),
            })
            .await
            .unwrap()
    );
    let queued = Instant::now();
    let worker = start_worker(&outbox);

    wait_for(60 * scale, "four messages at the relay", || async {
        relay.message_ids().len() >= 4
    })
    .await;
    wait_for(5, "the outage alert cleared", || async {
        !outbox.outage_alerting()
    })
    .await;
    // Nothing arrives twice, even given time to.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop_worker(worker).await;
    relay.task.abort();
    let total = queued.elapsed();

    let conns = relay.conns();
    let t0 = conns[0].at;
    let times: Vec<String> = conns
        .iter()
        .map(|c| {
            format!(
                "{:?} at {:.2} s{}{}",
                c.phase,
                (c.at - t0).as_secs_f64(),
                c.client_left_after
                    .map(|d| format!(", client left after {:.2} s", d.as_secs_f64()))
                    .unwrap_or_default(),
                if c.message_ids.is_empty() {
                    String::new()
                } else {
                    format!(", {} message(s)", c.message_ids.len())
                }
            )
        })
        .collect();
    eprintln!(
        "relay saw {} connections in {:.1} s:\n  {}",
        conns.len(),
        total.as_secs_f64(),
        times.join("\n  ")
    );

    // Delivered exactly once each: three fax mails and the report.
    let mut ids = relay.message_ids();
    ids.sort();
    let before = ids.len();
    ids.dedup();
    assert_eq!(before, ids.len(), "duplicates: {:?}", relay.message_ids());
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert!(ids.contains(&format!("<{report_id}>")), "{ids:?}");
    assert!(outbox.undelivered().await.unwrap().is_empty());
    assert_eq!(outbox.counters().sent, 4);
    assert_eq!(outbox.dead_letters_total(), 0);

    // One connection per round while the relay was unavailable: four
    // refusals, one silent connection, then the deliveries.
    let phases: Vec<Phase> = conns.iter().map(|c| c.phase).collect();
    assert_eq!(
        &phases[..5],
        [
            Phase::Refuse,
            Phase::Refuse,
            Phase::Refuse,
            Phase::Refuse,
            Phase::Silent
        ]
    );
    assert!(phases[5..].iter().all(|p| *p == Phase::Normal));
    // The back-off: 1, 2, 4 s between the refused attempts, 4 s (the cap)
    // before the silent one; the silent one is given up after 5 ×
    // timeout_secs; 4 s later the relay works and takes everything (all
    // times the scale).
    let s = scale as f64;
    let gap = |i: usize| (conns[i].at - conns[i - 1].at).as_secs_f64();
    for (i, want) in [(1, 1.0 * s), (2, 2.0 * s), (3, 4.0 * s), (4, 4.0 * s)] {
        let got = gap(i);
        assert!(
            got >= want - 0.1 && got < want + 0.8,
            "attempt {} came {got:.2} s after the one before, not {want} s",
            i + 1
        );
    }
    let silent = &conns[4];
    let left = silent
        .client_left_after
        .expect("the client hung up on the silent relay")
        .as_secs_f64();
    let deadline = 5.0 * timeout_secs as f64;
    assert!(
        left >= deadline - 0.1 && left < deadline + 1.0,
        "gave up the silent relay after {left:.2} s"
    );
    let after_silent = (conns[5].at - silent.at).as_secs_f64() - left;
    assert!(
        (4.0 * s - 0.1..4.0 * s + 0.8).contains(&after_silent),
        "retried {after_silent:.2} s after giving up the silent relay"
    );
    let first = outbox.entries_for_fax("a").await.unwrap();
    for e in &first {
        assert_eq!((e.state, e.attempts), (DeliveryState::Sent, 6), "{e:?}");
    }

    // One alert for the outage, once the oldest had waited alert_after s.
    let raised = alerts.raised.lock().unwrap().clone();
    assert_eq!(raised.len(), 1, "{raised:?}");
    let (at, subject, body) = &raised[0];
    let waited = at.duration_since(first[0].queued_at).unwrap().as_secs_f64();
    assert!(
        waited > alert_after as f64 && waited < alert_after as f64 + 1.5,
        "alert after the oldest had waited {waited:.2} s"
    );
    assert!(subject.contains("mail undeliverable"), "{subject}");
    assert!(
        body.contains("4 message(s)") && body.contains("127.0.0.1"),
        "{body}"
    );
    eprintln!("alert when the oldest had waited {waited:.2} s: {subject}: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_refusal_451_is_retried_until_accepted() {
    let env = env();
    let sink = Sink::listen(&env.sink_dir, &["--tempfail", "2"]);
    let port = sink.port;
    let outbox = open(&env, &config(Some(port))).await;
    let worker = start_worker(&outbox);
    outbox
        .deliver_received_fax(&fax("t", &env.tiff), &route(&["ops@example.org"], false))
        .await
        .unwrap();
    wait_for(20, "a 451 deferral", || async {
        outbox.undelivered().await.unwrap().iter().any(|e| {
            e.state == DeliveryState::Deferred
                && e.last_error.as_deref().is_some_and(|x| x.contains("451"))
        })
    })
    .await;
    wait_for(30, "delivery after two 451s", || async {
        states(&outbox, "t").await == [DeliveryState::Sent]
    })
    .await;
    stop_worker(worker).await;
    let e = &outbox.entries_for_fax("t").await.unwrap()[0];
    assert_eq!(e.attempts, 3, "two refusals then success");
    assert_eq!(sink.messages().len(), 1);
    check_fax_email(&sink.messages()[0].0, "ops@example.org", None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_refusal_550_is_a_dead_letter_at_once() {
    let env = env();
    let sink = Sink::listen(&env.sink_dir, &["--reject"]);
    let port = sink.port;
    let outbox = open(&env, &config(Some(port))).await;
    let worker = start_worker(&outbox);
    outbox
        .deliver_received_fax(&fax("d", &env.tiff), &route(&["nobody@example.org"], false))
        .await
        .unwrap();
    wait_for(20, "a dead letter", || async {
        states(&outbox, "d").await == [DeliveryState::Dead]
    })
    .await;
    // Give a wrongly scheduled retry the chance to happen.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stop_worker(worker).await;
    let dead = outbox.undelivered().await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].state, DeliveryState::Dead);
    assert_eq!(dead[0].attempts, 1, "a 5xx refusal is not retried");
    let err = dead[0].last_error.as_deref().unwrap();
    assert!(err.contains("550") && err.contains("permanently"), "{err}");
    assert_eq!(outbox.dead_letters_total(), 1);
    assert!(sink.messages().is_empty());
    assert_eq!(
        count_files(&env.spool.join("mail/outbox")),
        1,
        "a dead letter's message stays in the spool for the operator"
    );

    // The operator retries it: the relay refuses again, so it is dead again
    // after one more attempt; nothing else was touched.
    let worker = start_worker(&outbox);
    assert!(outbox.retry_now("d.0").await.unwrap());
    wait_for(20, "the retried message dead again", || async {
        let e = &outbox.entries_for_fax("d").await.unwrap()[0];
        e.state == DeliveryState::Dead && e.attempts == 2
    })
    .await;
    stop_worker(worker).await;
    assert_eq!(outbox.counters().dead, 2);
    assert_eq!(outbox.counters().sent, 0);
    assert!(!outbox.retry_now("no-such.0").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_without_starttls_is_never_sent_plain_text_and_mail_waits() {
    let env = env();
    let sink = Sink::listen(&env.sink_dir, &[]);
    let port = sink.port;
    let mut cfg = config(Some(port));
    cfg.relay.as_mut().unwrap().tls = RelayTls::Starttls;
    let outbox = open(&env, &cfg).await;
    let worker = start_worker(&outbox);
    outbox
        .deliver_received_fax(&fax("s", &env.tiff), &route(&["ops@example.org"], false))
        .await
        .unwrap();
    wait_for(20, "two deferred attempts", || async {
        outbox
            .undelivered()
            .await
            .unwrap()
            .iter()
            .any(|e| e.state == DeliveryState::Deferred && e.attempts >= 2)
    })
    .await;
    stop_worker(worker).await;
    let e = &outbox.undelivered().await.unwrap()[0];
    let err = e.last_error.as_deref().unwrap();
    assert!(err.contains("STARTTLS"), "{err}");
    assert!(sink.messages().is_empty(), "nothing may go in clear text");
    assert_eq!(outbox.dead_letters_total(), 0);
}

/// A private CA and a certificate for 127.0.0.1 signed by it (rustls needs
/// the subjectAltName and refuses a CA certificate used as a server's).
/// Returns (CA PEM, server certificate PEM, server key PEM).
fn make_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=faxbridge test CA",
        ],
    ]
    .concat());
    run(&[
        &["req"][..],
        &ec,
        &[
            "-keyout",
            "relay.key",
            "-out",
            "relay.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    ]
    .concat());
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "relay.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "relay.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("relay.pem"),
        dir.join("relay.key"),
    )
}

async fn tls_case(
    tls: RelayTls,
    trust_ca: bool,
    auth: Option<(&str, &str)>,
    sink_auth: Option<&str>,
) -> (Env, Sink, Outbox) {
    let env = env();
    let certs = env.spool.parent().unwrap().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    let (ca, cert, key) = make_certificates(&certs);
    let mut args = vec![
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ];
    if tls == RelayTls::Tls {
        args.push("--implicit-tls");
    }
    if let Some(a) = sink_auth {
        args.extend(["--auth", a]);
    }
    let sink = Sink::listen(&env.sink_dir, &args);
    let port = sink.port;
    let mut cfg = config(Some(port));
    let relay = cfg.relay.as_mut().unwrap();
    relay.tls = tls;
    relay.ca_file = trust_ca.then_some(ca);
    if let Some((u, p)) = auth {
        relay.username = Some(u.into());
        relay.password = Some(p.into());
    }
    let outbox = open(&env, &cfg).await;
    (env, sink, outbox)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_and_implicit_tls_relays_with_a_private_ca_and_auth() {
    faxbridge::mail::install_crypto_provider();
    for (tls, name) in [
        (RelayTls::Starttls, "starttls"),
        (RelayTls::Tls, "implicit"),
    ] {
        let (env, sink, outbox) =
            tls_case(tls, true, Some(("fax", "s3cret")), Some("fax:s3cret")).await;
        let worker = start_worker(&outbox);
        outbox
            .deliver_received_fax(&fax(name, &env.tiff), &route(&["ops@example.org"], false))
            .await
            .unwrap();
        wait_for(30, "delivery over TLS", || async {
            states(&outbox, name).await == [DeliveryState::Sent]
        })
        .await;
        stop_worker(worker).await;
        let (bytes, envelope) = &sink.messages()[0];
        assert!(envelope.contains("\"tls\": true"), "{name}: {envelope}");
        assert!(
            envelope.contains("\"auth_user\": \"fax\""),
            "{name}: {envelope}"
        );
        check_fax_email(bytes, "ops@example.org", None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_certificate_or_wrong_password_defers_and_sends_nothing() {
    faxbridge::mail::install_crypto_provider();
    // Certificate from a CA we were not told to trust.
    let (env, sink, outbox) = tls_case(RelayTls::Starttls, false, None, None).await;
    let worker = start_worker(&outbox);
    outbox
        .deliver_received_fax(&fax("u", &env.tiff), &route(&["ops@example.org"], false))
        .await
        .unwrap();
    wait_for(20, "a deferral for the certificate", || async {
        outbox
            .undelivered()
            .await
            .unwrap()
            .iter()
            .any(|e| e.state == DeliveryState::Deferred)
    })
    .await;
    stop_worker(worker).await;
    let err = outbox.undelivered().await.unwrap()[0]
        .last_error
        .clone()
        .unwrap();
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    assert!(sink.messages().is_empty());

    // Wrong password: 535 is a setting to fix, not a reason to drop the fax.
    let (env, sink, outbox) = tls_case(
        RelayTls::Starttls,
        true,
        Some(("fax", "wrong")),
        Some("fax:s3cret"),
    )
    .await;
    let worker = start_worker(&outbox);
    outbox
        .deliver_received_fax(&fax("p", &env.tiff), &route(&["ops@example.org"], false))
        .await
        .unwrap();
    wait_for(20, "a deferral for the password", || async {
        outbox
            .undelivered()
            .await
            .unwrap()
            .iter()
            .any(|e| e.state == DeliveryState::Deferred)
    })
    .await;
    stop_worker(worker).await;
    let err = outbox.undelivered().await.unwrap()[0]
        .last_error
        .clone()
        .unwrap();
    assert!(err.contains("535"), "{err}");
    assert_eq!(outbox.dead_letters_total(), 0);
    assert!(sink.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_relay_mail_is_delivered_into_the_spool_maildir() {
    let env = env();
    let outbox = open(&env, &config(None)).await;
    let worker = start_worker(&outbox);
    let recipients = ["a@example.org", "b@example.org"];
    outbox
        .deliver_received_fax(&fax("m", &env.tiff), &route(&recipients, false))
        .await
        .unwrap();
    let new = env.spool.join("maildir/new");
    wait_for(20, "two messages in maildir/new", || async {
        count_files(&new) == 2
    })
    .await;
    wait_for(10, "rows marked sent", || async {
        states(&outbox, "m").await == [DeliveryState::Sent; 2]
    })
    .await;
    stop_worker(worker).await;
    assert_eq!(count_files(&env.spool.join("maildir/tmp")), 0);
    let mut delivered_to = Vec::new();
    for f in std::fs::read_dir(&new).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        let msg = MessageParser::default().parse(&bytes[..]).unwrap();
        let rcpt = msg.header_raw("Delivered-To").unwrap().trim().to_string();
        assert_eq!(
            msg.header_raw("Return-Path").map(str::trim),
            Some("<fax@example.org>")
        );
        check_fax_email(&bytes, &rcpt, None);
        delivered_to.push(rcpt);
    }
    delivered_to.sort();
    assert_eq!(delivered_to, recipients);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_finishes_every_interrupted_state() {
    recovery_finishes_every_interrupted_state_on(env()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_finishes_every_interrupted_state_on_postgresql() {
    recovery_finishes_every_interrupted_state_on(env_on_postgres()).await;
}

async fn recovery_finishes_every_interrupted_state_on(env: Env) {
    use sqlx::Row;
    let cfg = config(None);
    let rcpt = |id: &str| format!("{id}@example.org");
    {
        let outbox = open(&env, &cfg).await;
        let store = env.store().await;
        let pool = store.pool();
        // A: killed after the fax was recorded (during conversion): only the
        // record and a torn temporary PDF exist.
        outbox
            .record(&fax("A", &env.tiff), &route(&[&rcpt("a")], false))
            .await
            .unwrap();
        std::fs::write(
            env.spool.join("mail/faxes/.A.pdf.999.tmp"),
            b"%PDF-1.4 torn",
        )
        .unwrap();
        // B: killed after conversion and after writing the message files, but
        // before the transaction that adds the outbox rows committed.
        outbox
            .deliver_received_fax(
                &fax("B", &env.tiff),
                &route(&[&rcpt("b1"), &rcpt("b2")], false),
            )
            .await
            .unwrap();
        sqlx::query("DELETE FROM mail_outbox WHERE fax_id = 'B'")
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("UPDATE received_fax SET state = 'converted' WHERE id = 'B'")
            .execute(pool)
            .await
            .unwrap();
        // C: killed while the message was being sent.
        outbox
            .deliver_received_fax(&fax("C", &env.tiff), &route(&[&rcpt("c")], false))
            .await
            .unwrap();
        sqlx::query("UPDATE mail_outbox SET state = 'sending', attempts = 1 WHERE fax_id = 'C'")
            .execute(pool)
            .await
            .unwrap();
        // D: queued, but the message file was lost.
        outbox
            .deliver_received_fax(&fax("D", &env.tiff), &route(&[&rcpt("d")], false))
            .await
            .unwrap();
        std::fs::remove_file(env.spool.join("mail/outbox/D.0.eml")).unwrap();
        assert!(!env.spool.join("mail/faxes/A.pdf").exists());
        store.close().await;
    }

    // Restart: a new store handle and outbox, as the daemon would have.
    let outbox = open(&env, &cfg).await;
    let report = outbox.recover().await.unwrap();
    assert_eq!(report.requeued_sending, 1, "{report:?}");
    assert_eq!(report.converted, 1, "{report:?}");
    assert_eq!(report.queued, 2, "{report:?}");
    assert_eq!(report.messages_rebuilt, 1, "{report:?}");
    assert_eq!(report.temp_files_removed, 1, "{report:?}");
    assert_eq!(report.failures, 0, "{report:?}");
    assert!(env.spool.join("mail/faxes/A.pdf").exists());
    assert!(!env.spool.join("mail/faxes/.A.pdf.999.tmp").exists());
    // Recovery is idempotent.
    let again = outbox.recover().await.unwrap();
    assert_eq!(again, Default::default());

    let worker = start_worker(&outbox);
    let new = env.spool.join("maildir/new");
    wait_for(30, "five messages in maildir/new", || async {
        count_files(&new) == 5
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop_worker(worker).await;
    let mut delivered: Vec<String> = std::fs::read_dir(&new)
        .unwrap()
        .map(|f| {
            let bytes = std::fs::read(f.unwrap().path()).unwrap();
            let msg = MessageParser::default().parse(&bytes[..]).unwrap();
            let to = msg.header_raw("Delivered-To").unwrap().trim().to_string();
            check_fax_email(&bytes, &to, None);
            to
        })
        .collect();
    delivered.sort();
    assert_eq!(
        delivered,
        ["a", "b1", "b2", "c", "d"].map(rcpt),
        "every recipient exactly once"
    );
    let store = env.store().await;
    let not_done: i64 = sqlx::query("SELECT COUNT(*) FROM received_fax WHERE state <> 'queued'")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(not_done, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_before_anything_is_stored() {
    let env = env();
    let outbox = open(&env, &config(None)).await;
    let err = outbox
        .deliver_received_fax(&fax("../x", &env.tiff), &route(&["a@example.org"], false))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not valid"), "{err}");
    let err = outbox
        .deliver_received_fax(&fax("x", &env.tiff), &route(&["not an address"], false))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not an address"), "{err}");
    let err = outbox
        .deliver_received_fax(&fax("x", &env.tiff), &route(&[], false))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("names no mailbox"), "{err}");
    assert!(outbox.entries_for_fax("x").await.unwrap().is_empty());
    // Same id, different TIFF: refused, the first fax is not overwritten.
    outbox
        .deliver_received_fax(&fax("y", &env.tiff), &route(&["a@example.org"], false))
        .await
        .unwrap();
    let mut other = fax("y", &env.tiff);
    other.tiff = env.spool.join("incoming/other.tif");
    let err = outbox
        .deliver_received_fax(&other, &route(&["a@example.org"], false))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already recorded"), "{err}");
    // Same fax again: harmless, still one message.
    outbox
        .deliver_received_fax(&fax("y", &env.tiff), &route(&["a@example.org"], false))
        .await
        .unwrap();
    assert_eq!(outbox.entries_for_fax("y").await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_tiff_is_still_mailed_with_an_explanation() {
    let env = env();
    let outbox = open(&env, &config(None)).await;
    let bad = env.spool.join("incoming/bad.tif");
    std::fs::write(&bad, b"II*\0\x08\0\0\0garbage").unwrap();
    outbox
        .deliver_received_fax(&fax("bad", &bad), &route(&["a@example.org"], false))
        .await
        .unwrap();
    let worker = start_worker(&outbox);
    let new = env.spool.join("maildir/new");
    wait_for(20, "the message in maildir/new", || async {
        count_files(&new) == 1
    })
    .await;
    stop_worker(worker).await;
    let f = std::fs::read_dir(&new)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let bytes = std::fs::read(f).unwrap();
    let msg = MessageParser::default().parse(&bytes[..]).unwrap();
    let text = msg.body_text(0).unwrap();
    assert!(text.contains("could not be converted to PDF"), "{text}");
    let tif = msg
        .attachments()
        .find(|a| a.attachment_name().is_some_and(|n| n.ends_with(".tif")))
        .expect("the TIFF goes along when there is no PDF");
    assert_eq!(tif.contents(), std::fs::read(&bad).unwrap());

    // The TIFF is gone altogether: the recipient is still told a fax came.
    let worker = start_worker(&outbox);
    let gone = env.spool.join("incoming/gone.tif");
    outbox
        .deliver_received_fax(&fax("gone", &gone), &route(&["a@example.org"], false))
        .await
        .unwrap();
    wait_for(20, "the notice in maildir/new", || async {
        count_files(&new) == 2
    })
    .await;
    stop_worker(worker).await;
    let texts: Vec<String> = std::fs::read_dir(&new)
        .unwrap()
        .map(|f| {
            let bytes = std::fs::read(f.unwrap().path()).unwrap();
            let msg = MessageParser::default().parse(&bytes[..]).unwrap();
            assert!(msg.subject().unwrap().starts_with("Fax from"));
            msg.body_text(0).unwrap().into_owned()
        })
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("could not be read") && t.contains("gone.tif")),
        "{texts:?}"
    );
}

/// Child process of `sigkill_at_any_point_loses_no_fax`: recovers the spool,
/// then queues faxes and delivers them until it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by sigkill_at_any_point_loses_no_fax as its child process"]
async fn sigkill_child() {
    let (Some(spool), Some(run)) = (
        std::env::var_os("FAXBRIDGE_TEST_CHILD_SPOOL"),
        std::env::var("FAXBRIDGE_TEST_CHILD_RUN").ok(),
    ) else {
        // Started by hand (`--ignored`): there is nothing to be a child of.
        return;
    };
    let spool = PathBuf::from(spool);
    let tiff = spool.join("incoming/fax.tif");
    let store = Store::open_in_spool(&spool).await.unwrap();
    let outbox = Outbox::open(&config(None), &spool, store).await.unwrap();
    outbox.recover().await.unwrap();
    let _worker = start_worker(&outbox);
    for i in 0.. {
        outbox
            .deliver_received_fax(
                &fax(&format!("k{run}-{i}"), &tiff),
                &route(&["x@example.org", "y@example.org"], false),
            )
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_any_point_loses_no_fax() {
    use sqlx::Row;
    let env = env();
    let spool = env.spool.clone();
    let exe = std::env::current_exe().unwrap();
    let mut interrupted = 0i64;
    // Kill a process running the pipeline and the worker at a spread of
    // moments; each new process recovers what the previous one left.
    for (run, delay_ms) in [30u64, 90, 160, 240, 330, 450, 600, 800]
        .into_iter()
        .enumerate()
    {
        let mut child = Command::new(&exe)
            .args([
                "sigkill_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("FAXBRIDGE_TEST_CHILD_SPOOL", &spool)
            .env("FAXBRIDGE_TEST_CHILD_RUN", run.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // What the killed process left behind, for the record.
        let store = Store::open_in_spool(&spool).await.unwrap();
        let left: i64 = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM received_fax WHERE state <> 'queued') + \
             (SELECT COUNT(*) FROM mail_outbox WHERE state <> 'sent')",
        )
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
        interrupted += left;
        store.close().await;
    }

    let outbox = open(&env, &config(None)).await;
    let report = outbox.recover().await.unwrap();
    assert_eq!(report.failures, 0, "{report:?}");
    let worker = start_worker(&outbox);
    let store = Store::open_in_spool(&spool).await.unwrap();
    wait_for(60, "every queued message sent", || async {
        let open: i64 = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM received_fax WHERE state <> 'queued') + \
             (SELECT COUNT(*) FROM mail_outbox WHERE state <> 'sent')",
        )
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
        open == 0
    })
    .await;
    stop_worker(worker).await;

    let faxes: Vec<String> = sqlx::query("SELECT id FROM received_fax")
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("id").unwrap())
        .collect();
    assert!(
        faxes.len() >= 4,
        "the children recorded only {} faxes",
        faxes.len()
    );
    // Every recipient of every recorded fax has a complete message.
    let mut delivered: std::collections::HashMap<(String, String), u32> = Default::default();
    let mut checked_pdf = false;
    let mut tiff_fallbacks = 0;
    for f in std::fs::read_dir(spool.join("maildir/new")).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        let msg = MessageParser::default()
            .parse(&bytes[..])
            .expect("complete message");
        let id = msg.message_id().unwrap();
        let local = id.split('@').next().unwrap();
        let fax_id = local.rsplit_once('.').unwrap().0.to_string();
        assert!(faxes.contains(&fax_id), "message for unknown fax {id}");
        let rcpt = msg.header_raw("Delivered-To").unwrap().trim().to_string();
        let attachment = |ext: &str| {
            msg.attachments()
                .find(|a| a.attachment_name().is_some_and(|n| n.ends_with(ext)))
        };
        match attachment(".pdf") {
            Some(pdf) => {
                assert!(
                    pdf.contents().starts_with(b"%PDF-"),
                    "PDF of {id} is not a PDF"
                );
                if !checked_pdf {
                    assert_eq!(pdf_pages(pdf.contents()), PAGES);
                    checked_pdf = true;
                }
            }
            None => {
                // Killed during the conversion of this fax three times: the
                // poison-input guard mails the TIFF instead of trying again.
                let text = msg.body_text(0).unwrap();
                assert!(
                    text.contains("interrupted 3 times"),
                    "{id} has no PDF: {text}"
                );
                let tif = attachment(".tif").expect("the TIFF goes along instead");
                assert_eq!(tif.contents(), std::fs::read(&env.tiff).unwrap());
                tiff_fallbacks += 1;
            }
        }
        *delivered.entry((fax_id, rcpt)).or_default() += 1;
    }
    for fax_id in &faxes {
        for rcpt in ["x@example.org", "y@example.org"] {
            assert!(
                delivered.contains_key(&(fax_id.clone(), rcpt.to_string())),
                "fax {fax_id} never reached {rcpt}"
            );
        }
    }
    let duplicates: u32 = delivered.values().map(|n| n - 1).sum();
    eprintln!(
        "sigkill: {} faxes recorded, {} messages delivered, {} duplicates (at-least-once), \
         {} unfinished rows found after the kills, {} messages with the TIFF after \
         3 interrupted conversions",
        faxes.len(),
        delivered.values().sum::<u32>(),
        duplicates,
        interrupted,
        tiff_fallbacks
    );
    assert!(
        interrupted > 0,
        "no kill landed mid-pipeline; the test proved nothing"
    );
}

/// `check-config` refuses a relay password unless the connection is
/// encrypted from start to end (`starttls` or `tls`), naming the key and
/// the fix.
#[test]
fn check_config_refuses_a_relay_password_without_tls() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("faxbridge.toml");
    for (tls, accepted) in [
        ("opportunistic", false),
        ("none", false),
        ("starttls", true),
        ("tls", true),
    ] {
        std::fs::write(
            &config,
            format!(
                "[mail.relay]\nhost = \"smtp.example.org\"\ntls = \"{tls}\"\n\
                 username = \"fax\"\npassword = \"s3cret\"\n"
            ),
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_faxbridge"))
            .arg("check-config")
            .arg(&config)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.success(), accepted, "tls = {tls}: {text}");
        if !accepted {
            assert!(
                text.contains("mail.relay.tls")
                    && text.contains(&format!("\"{tls}\""))
                    && text.contains("password")
                    && text.contains("set tls = \"starttls\""),
                "tls = {tls}: {text}"
            );
            assert!(!text.contains("s3cret"), "the password is never printed");
        }
    }
}
