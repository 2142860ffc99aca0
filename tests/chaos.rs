//! Chaos: the real daemon is killed with SIGKILL again and again, each time
//! at a random moment of one phase of its work, while faxes keep arriving
//! over SIP and emails keep arriving over SMTP; at the end every fax and
//! every email is accounted for.
//!
//! Peers: `faxbridge dial` processes are the fax machines calling in (a
//! fresh caller number per call, so each mail can be traced to its call);
//! a lettre SMTP client is the site's mail relay handing in email-to-fax
//! messages (retrying the same message, same Message-ID, until it gets a
//! 250, as an MTA does); `faxbridge answer` is the far fax machine of the
//! outgoing jobs; aiosmtpd is the mail relay that takes fax mails and
//! delivery reports.
//!
//! The phases, each entered by a log line and left by another (or, for the
//! intake, while an SMTP transaction is under way): reception, conversion
//! to PDF, mailing, intake, queueing, sending. Each round targets one phase
//! in turn, waits for it to begin and kills after a random delay within its
//! usual length; whether the kill landed inside the phase is read from the
//! log lines printed before it.
//!
//! The accounting:
//! * each call in which the sender had at least one page confirmed is
//!   mailed exactly once (by `X-Fax-Caller`), a call with none at most once;
//! * each email that was given a 250 became exactly one job, and each job
//!   ended (done or failed) with exactly one delivery report (by
//!   `X-Fax-Job`);
//! * no message reached the relay twice.
//!
//! `CHAOS_ROUNDS` (default 6, about 3 minutes) sets the number of kills; RELIABILITY.md has
//! the figures of a long run.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use faxbridge::docs::tiff::{Compression, write_tiff};
use lettre::{Message, SmtpTransport, Transport};
use mail_parser::MessageParser;

mod support;
use support::config::{DaemonConfig, assert_valid};
use support::fax::{free_sip_port, pages};
use support::procs::{BIN, Proc, start_daemon};
use support::smtp::{Sink, free_port};

/// One phase of the daemon's work and how the log shows it.
struct Phase {
    name: &'static str,
    /// The log line that begins it (`None`: an SMTP transaction in flight).
    start: Option<&'static str>,
    /// A log line that shows it is over.
    end: &'static str,
    /// The kill comes this many ms after the start (uniformly at random).
    delay_ms: (u64, u64),
}

const PHASES: [Phase; 6] = [
    Phase {
        name: "reception",
        start: Some("incoming fax call"),
        end: "received fax recorded",
        delay_ms: (0, 7000),
    },
    Phase {
        name: "conversion",
        start: Some("received fax recorded"),
        end: "fax converted to PDF",
        delay_ms: (0, 8),
    },
    Phase {
        name: "mailing",
        start: Some("fax mail queued"),
        end: "mail delivered",
        delay_ms: (0, 50),
    },
    Phase {
        name: "intake",
        start: None,
        end: "SMTP message accepted",
        delay_ms: (0, 60),
    },
    Phase {
        name: "queueing",
        start: Some("fax queued from mail"),
        end: "placing fax call",
        delay_ms: (0, 200),
    },
    Phase {
        name: "sending",
        start: Some("placing fax call"),
        end: "fax attempt finished",
        delay_ms: (0, 7000),
    },
];

/// A small deterministic generator (xorshift*), seeded per run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

/// What the workload threads share with the killer.
#[derive(Default)]
struct Shared {
    /// The daemon is up (set after its ready line, cleared before a kill).
    up: AtomicBool,
    /// Stop starting new work.
    stop: AtomicBool,
    /// SMTP transactions under way.
    smtp_in_flight: AtomicU64,
    /// Caller number → pages the sender had confirmed.
    calls: Mutex<Vec<(String, u32)>>,
    /// Email number → destination, for those that got a 250.
    accepted: Mutex<Vec<String>>,
    /// Emails given up without a 250 (the run ended first).
    unaccepted: AtomicU64,
    /// SMTP attempts that failed (to be retried).
    smtp_failures: AtomicU64,
}

fn wait_up(shared: &Shared) -> bool {
    while !shared.up.load(Ordering::SeqCst) {
        if shared.stop.load(Ordering::SeqCst) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// Pages confirmed to the sender, from `faxbridge dial`'s report line
/// ("sent 2/3 pages ..." or "failed (...) after 1 sent/3 pages ...").
fn confirmed(report: &str) -> u32 {
    let words: Vec<&str> = report.split_whitespace().collect();
    let number = |w: &str| w.split('/').next().and_then(|n| n.parse().ok());
    if words.first() == Some(&"sent") {
        return words.get(1).and_then(|w| number(w)).unwrap_or(0);
    }
    words
        .windows(2)
        .rev()
        .find(|w| w[1].starts_with("sent"))
        .and_then(|w| number(w[0]))
        .unwrap_or(0)
}

#[test]
fn confirmed_pages_are_read_from_the_report() {
    for (report, want) in [
        (
            "sent 1/1 pages at 9600 bit/s ECM in 9.8 s over G.711 A-law; call x",
            1,
        ),
        (
            "failed (T.30 code 49: the call dropped) after 2 sent/3 pages, 20.1 s",
            2,
        ),
        (
            "failed (T.30 code 8: sent nothing) after 0 sent/1 pages, 8.0 s",
            0,
        ),
        ("", 0),
    ] {
        assert_eq!(confirmed(report), want, "{report}");
    }
}

/// A fax machine calling in again and again, each call from a new number.
fn fax_caller(shared: Arc<Shared>, sip: String, tiff: PathBuf, first: u32) {
    let mut n = first;
    while !shared.stop.load(Ordering::SeqCst) && wait_up(&shared) {
        let caller = format!("0163296{n:04}");
        n += 1;
        let mut child = Command::new(BIN)
            .arg("dial")
            .arg(format!("sip:100@{sip}"))
            .arg(&tiff)
            .args(["--g711", "--watchdog", "8", "--from", &caller])
            .args(["--ident", &format!("+44 163 296 {n:04}")])
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // A call to a daemon that died before answering would wait for
        // SIP's 32 s timeout: give up on it earlier.
        let started = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > Duration::from_secs(90) {
                let _ = child.kill();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        let report = String::from_utf8_lossy(&out.stdout).into_owned();
        let pages = confirmed(&report);
        eprintln!(
            "chaos: call from {caller}: {pages} page(s) confirmed: {}",
            report.trim()
        );
        shared.calls.lock().unwrap().push((caller, pages));
    }
}

/// A mail relay handing in one email-to-fax message after another, each
/// retried (same Message-ID) until the daemon answers 250.
fn mail_relay(shared: Arc<Shared>, smtp_port: u16, body: String) {
    let mut n = 0u32;
    'messages: loop {
        n += 1;
        let number = format!("0122365{n:04}");
        let message = Message::builder()
            .from("Jane Smith <jane.smith@example.ac.uk>".parse().unwrap())
            .to(format!("{number}@fax.example.ac.uk").parse().unwrap())
            .subject(format!("Chaos {n}"))
            .message_id(Some(format!("<chaos-{n}@example.ac.uk>")))
            .body(body.clone())
            .unwrap();
        loop {
            if !wait_up(&shared) {
                shared.unaccepted.fetch_add(1, Ordering::SeqCst);
                break 'messages;
            }
            let transport = SmtpTransport::builder_dangerous("127.0.0.1")
                .port(smtp_port)
                .timeout(Some(Duration::from_secs(20)))
                .build();
            shared.smtp_in_flight.fetch_add(1, Ordering::SeqCst);
            let result = transport.send(&message);
            shared.smtp_in_flight.fetch_sub(1, Ordering::SeqCst);
            match result {
                Ok(_) => {
                    shared.accepted.lock().unwrap().push(number.clone());
                    break;
                }
                Err(e) => {
                    eprintln!("chaos: email {n} not accepted ({e}); retrying");
                    shared.smtp_failures.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(300));
                    // After the last kill the daemon stays up: one more
                    // try, then the run is over for this message.
                    if shared.stop.load(Ordering::SeqCst) && shared.up.load(Ordering::SeqCst) {
                        match transport.send(&message) {
                            Ok(_) => shared.accepted.lock().unwrap().push(number.clone()),
                            Err(_) => {
                                shared.unaccepted.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        break 'messages;
                    }
                }
            }
        }
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        // An email every 8 s: the queue (4 calls of about 17 s at a time,
        // each cut short by kills) keeps up.
        std::thread::sleep(Duration::from_millis(8000));
    }
}

/// The messages a start of the daemon said it was sending again after a
/// stop in the middle of sending them (`count=N` of that warning).
fn resent_in(log: &[String]) -> u64 {
    log.iter()
        .filter(|l| l.contains("sending them again"))
        .filter_map(|l| support::procs::field(l, "count")?.parse::<u64>().ok())
        .sum()
}

/// `faxbridge jobs list`: (id, state, destination) of every job.
fn jobs(config: &Path) -> Vec<(String, String, String)> {
    let out = Command::new(BIN)
        .args(["jobs", "list", "--limit", "0", "--config"])
        .arg(config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.into(), w.next()?.into(), w.next()?.into()))
        })
        .collect()
}

#[test]
fn random_kills_lose_and_duplicate_nothing() {
    let rounds: usize = std::env::var("CHAOS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let seed: u64 = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("chaos: {rounds} rounds, CHAOS_SEED={seed}");
    let mut rng = Rng(seed);

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let sink_dir = root.join("sink");
    std::fs::create_dir_all(&sink_dir).unwrap();
    let sink = Sink::listen(&sink_dir, &[]);
    let received = root.join("received");
    std::fs::create_dir_all(&received).unwrap();
    let mut answer = Command::new(BIN);
    answer
        .args([
            "answer",
            "--listen",
            "127.0.0.1:0",
            "--watchdog",
            "8",
            "--out",
        ])
        .arg(&received)
        .args(["--ident", "+44 1223 654321"])
        .env("RUST_LOG", "error");
    let answerer = Proc::start("answer", &mut answer, "listening on sip:");

    let sip = format!("127.0.0.1:{}", free_sip_port());
    let smtp_port = free_port();
    let config = DaemonConfig::new(&root)
        .sip_listen(&sip)
        .ident("+44 1223 330000")
        .did("100", "lab")
        .route("lab", &["Physics Lab <lab@example.org>"])
        .mail_from("Fax Service <fax@example.ac.uk>")
        .relay(sink.port)
        .trunk(&format!(
            "sip:{{number}}@127.0.0.1:{}",
            answerer.sip_addr().port()
        ))
        .set(
            "outgoing",
            "from_user = \"01223330000\"\npoll_interval_ms = 200",
        )
        .email_intake("fax.example.ac.uk", "example.ac.uk")
        .set(
            "intake.smtp",
            &format!("listen = \"127.0.0.1:{smtp_port}\""),
        )
        .set("intake.quota", "messages_per_hour = 0\npages_per_day = 0")
        .set(
            "queue.retry",
            "max_attempts = 30\nbusy_delay_secs = 1\nno_answer_delay_secs = 1\n\
             t30_delay_secs = 1\nnetwork_initial_delay_secs = 1\n\
             network_max_delay_secs = 2\ninterrupted_delay_secs = 1",
        )
        .write();
    assert_valid(&config);

    // One short page: a call takes about 10 s.
    let tiff = root.join("page.tif");
    write_tiff(&tiff, &pages(60)[..1], Compression::Group4).unwrap();
    let body = "Chaos test\n\nA short note to fax.\n".repeat(3);

    let shared = Arc::new(Shared::default());
    let mut workers = Vec::new();
    for k in 0..2 {
        let (shared, sip, tiff) = (shared.clone(), sip.clone(), tiff.clone());
        workers.push(std::thread::spawn(move || {
            fax_caller(shared, sip, tiff, k * 5000)
        }));
    }
    {
        let shared = shared.clone();
        workers.push(std::thread::spawn(move || {
            mail_relay(shared, smtp_port, body)
        }));
    }

    let mut landed: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    // Messages each start said it was sending again (the relay may have
    // taken them just before the kill).
    let mut resent = 0u64;
    let started = Instant::now();
    for round in 0..rounds {
        let phase = &PHASES[round % PHASES.len()];
        let daemon = start_daemon(&config);
        shared.up.store(true, Ordering::SeqCst);
        let lines = daemon.lines();
        let began = match phase.start {
            Some(marker) => lines.wait_for(marker, Duration::from_secs(40)).is_some(),
            None => {
                let deadline = Instant::now() + Duration::from_secs(40);
                while shared.smtp_in_flight.load(Ordering::SeqCst) == 0 && Instant::now() < deadline
                {
                    std::thread::sleep(Duration::from_millis(2));
                }
                shared.smtp_in_flight.load(Ordering::SeqCst) > 0
            }
        };
        let (lo, hi) = phase.delay_ms;
        std::thread::sleep(Duration::from_millis(lo + rng.below(hi - lo + 1)));
        let log = daemon.log_snapshot();
        resent += resent_in(&log);
        shared.up.store(false, Ordering::SeqCst);
        let in_flight = shared.smtp_in_flight.load(Ordering::SeqCst) > 0;
        daemon.sigkill();
        // Inside the phase: it began and, in the log up to the kill, its
        // last beginning was not followed by its end.
        let inside = began
            && match phase.start {
                Some(marker) => {
                    let last = log.iter().rposition(|l| l.contains(marker));
                    last.is_some_and(|i| !log[i..].iter().any(|l| l.contains(phase.end)))
                }
                None => in_flight,
            };
        let e = landed.entry(phase.name).or_default();
        e.0 += 1;
        e.1 += u32::from(inside);
        eprintln!(
            "chaos: round {round}: kill in {} ({})",
            phase.name,
            if inside { "inside" } else { "outside" }
        );
        std::thread::sleep(Duration::from_millis(rng.below(300)));
    }

    // The last start: no more kills. The workload stops; what is under way
    // finishes.
    let daemon = start_daemon(&config);
    shared.up.store(true, Ordering::SeqCst);
    shared.stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().unwrap();
    }
    let accepted = shared.accepted.lock().unwrap().clone();
    let calls = shared.calls.lock().unwrap().clone();

    // Wait until every job has ended and its report and every fax mail
    // has reached the relay (quiet for a few seconds). A backlog may take
    // a while; the run fails only when nothing moves for 2 minutes.
    let mut last = (usize::MAX, Instant::now());
    loop {
        let js = jobs(&config);
        let finished = js
            .iter()
            .filter(|(_, s, _)| s == "done" || s == "failed")
            .count();
        let n = sink.messages().len();
        if n + finished != last.0 {
            last = (n + finished, Instant::now());
        }
        if finished == js.len()
            && js.len() >= accepted.len()
            && last.1.elapsed() > Duration::from_secs(6)
        {
            break;
        }
        assert!(
            last.1.elapsed() < Duration::from_secs(120),
            "the work stopped: jobs {js:?}, {n} mails"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let js = jobs(&config);
    resent += resent_in(&daemon.log_snapshot());

    // Count what reached the relay.
    let mut message_ids: HashMap<String, u32> = HashMap::new();
    // Distinct messages (by Message-ID) per caller and per job.
    let mut fax_mails: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut reports: HashMap<String, BTreeSet<String>> = HashMap::new();
    for (bytes, _) in sink.messages() {
        let msg = MessageParser::default().parse(&bytes[..]).unwrap();
        let id = msg.message_id().unwrap_or_default().to_string();
        *message_ids.entry(id.clone()).or_default() += 1;
        if let Some(job) = msg.header_raw("X-Fax-Job") {
            reports
                .entry(job.trim().to_string())
                .or_default()
                .insert(id);
        } else if let Some(caller) = msg.header_raw("X-Fax-Caller") {
            fax_mails
                .entry(caller.trim().to_string())
                .or_default()
                .insert(id);
        }
    }
    let duplicates: u32 = message_ids.values().map(|n| n - 1).sum();

    let mut lost = Vec::new();
    let mut doubled = Vec::new();
    let mut confirmed_calls = 0;
    for (caller, pages) in &calls {
        let mailed = fax_mails.get(caller).map_or(0, BTreeSet::len);
        if *pages > 0 {
            confirmed_calls += 1;
            if mailed == 0 {
                lost.push(format!(
                    "call from {caller} ({pages} page(s) confirmed) not mailed"
                ));
            }
        }
        if mailed > 1 {
            doubled.push(format!("call from {caller} mailed {mailed} times"));
        }
    }
    for number in &accepted {
        // The queue shows the number normalised (+44...): compare the
        // national significant number.
        let significant = number.trim_start_matches('0');
        let n = js
            .iter()
            .filter(|(_, _, to)| to.ends_with(significant))
            .count();
        match n {
            0 => lost.push(format!("email to {number} accepted but no job")),
            1 => {}
            n => doubled.push(format!("email to {number} became {n} jobs")),
        }
    }
    for (id, state, _) in &js {
        match reports.get(id).map_or(0, BTreeSet::len) {
            0 => lost.push(format!("job {id} ({state}) has no report")),
            1 => {}
            n => doubled.push(format!("job {id} has {n} reports")),
        }
    }
    let done = js.iter().filter(|(_, s, _)| s == "done").count();
    eprintln!(
        "chaos: {rounds} kills in {:.0} s, seed {seed}",
        started.elapsed().as_secs_f64()
    );
    for (phase, (tried, inside)) in &landed {
        eprintln!("chaos:   {phase:<10} {tried:>4} kills, {inside:>4} inside the phase");
    }
    eprintln!(
        "chaos: {} calls ({confirmed_calls} with pages confirmed), {} fax mails; \
         {} emails accepted ({} SMTP attempts failed and were retried, {} never accepted), \
         {} jobs ({done} done), {} reports; lost {}, duplicated {}, messages at the relay twice {}",
        calls.len(),
        fax_mails.values().map(BTreeSet::len).sum::<usize>(),
        accepted.len(),
        shared.smtp_failures.load(Ordering::SeqCst),
        shared.unaccepted.load(Ordering::SeqCst),
        js.len(),
        reports.values().map(BTreeSet::len).sum::<usize>(),
        lost.len(),
        doubled.len(),
        duplicates,
    );
    eprintln!("chaos: messages the restarts said they were sending again: {resent}");
    assert!(lost.is_empty(), "lost: {lost:#?}");
    assert!(doubled.is_empty(), "duplicated: {doubled:#?}");
    // SMTP cannot do better (RFC 1047): a message the relay took just
    // before a kill, not yet recorded as sent, goes again, with the same
    // Message-ID. Only such messages may reach the relay twice.
    assert!(
        u64::from(duplicates) <= resent,
        "{duplicates} messages at the relay twice, but restarts resent only {resent}"
    );
    assert!(
        confirmed_calls > 0 && !accepted.is_empty(),
        "the workload did nothing"
    );
    assert!(daemon.sigterm().success());
    drop(answerer);
}
