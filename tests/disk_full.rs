//! A full disk, with nothing accepted lost. The daemon runs with its spool
//! (and so its SQLite store and the rendered documents) on a 16 MiB tmpfs
//! in a private mount namespace (`unshare -m`), and the test fills that
//! tmpfs with a filler file through `/proc/<daemon>/root`:
//!
//! * below `[general] spool_min_free_mb`: a fax call is answered 503 and an
//!   email-to-fax message 452 4.3.1 (both retried by the sender), with one
//!   operator alert for the episode; once the filler is gone, a new fax is
//!   received and mailed and the retried message becomes one job;
//! * the disk filling up during a reception: the page that cannot be
//!   written is not confirmed to the sender (the call ends, the sending
//!   machine reports a failure), the page confirmed before it is mailed once
//!   space is back, and a message arriving meanwhile is refused 452 and
//!   leaves neither a job nor a document.
//!
//! Mount namespaces need CAP_SYS_ADMIN (root, as the test machine runs);
//! without them each test says SKIPPED and why.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use faxbridge::docs::Page;
use faxbridge::docs::tiff::{Compression, read_tiff, write_tiff};
use faxbridge::spool::FreeSpace;
use lettre::{Message, SmtpTransport, Transport};
use mail_parser::MessageParser;

mod support;
use support::config::DaemonConfig;
use support::fax::{assert_same_pixels, pages, pdf_pages};
use support::procs::{BIN, Proc};
use support::smtp::Sink;

/// Size of the tmpfs the spool lives on.
const TMPFS: &str = "16m";
/// The number faxed by mail.
const NUMBER: &str = "01223456789";
/// The alert of a disk-full episode, as the log says it.
const ALERT: &str = "ALERT: spool disk full";

struct Setup {
    // Dropped first: the sink stops before its directory goes.
    sink: Sink,
    _trunk: std::net::UdpSocket,
    _dir: tempfile::TempDir,
    root: PathBuf,
    /// The tmpfs mount point (inside the daemon's mount namespace).
    mnt: PathBuf,
    config: PathBuf,
}

/// Mount namespaces work here; otherwise says why the test is skipped.
fn namespaces_work() -> bool {
    let ok = Command::new("unshare")
        .args(["-m", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!(
            "SKIPPED: no mount namespaces here (unshare -m failed); the disk-full tests need CAP_SYS_ADMIN"
        );
    }
    ok
}

/// A test directory, the SMTP sink the daemon relays to, a trunk that
/// never answers, and the configuration: spool on the tmpfs, DID 100 to
/// route `lab`, email-to-fax for fax.example.ac.uk.
fn setup(min_free_mb: u64) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let sink_dir = root.join("sink");
    std::fs::create_dir_all(&sink_dir).unwrap();
    let sink = Sink::listen(&sink_dir, &[]);
    let mnt = root.join("fs");
    std::fs::create_dir_all(&mnt).unwrap();
    // Jobs are queued, never sent: the trunk is a socket that reads nothing.
    let trunk = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let config = DaemonConfig::new(&mnt)
        .set("general", &format!("spool_min_free_mb = {min_free_mb}"))
        .ident("+44 1632 960000")
        .did("100", "lab")
        .route("lab", &["Physics Lab <lab@example.org>"])
        .mail_from("Fax Service <fax@example.ac.uk>")
        .relay(sink.port)
        .trunk(&format!(
            "sip:{{number}}@127.0.0.1:{}",
            trunk.local_addr().unwrap().port()
        ))
        .email_intake("fax.example.ac.uk", "example.ac.uk")
        .write_to("../faxbridge.toml");
    Setup {
        sink,
        _trunk: trunk,
        _dir: dir,
        root,
        mnt,
        config,
    }
}

impl Setup {
    /// `faxbridge run` in a new mount namespace with a fresh tmpfs on the
    /// mount point (unshare execs the shell, which execs the daemon: one
    /// process id throughout).
    fn start(&self) -> Proc {
        let script = format!(
            "set -e\nmount -t tmpfs -o size={TMPFS} tmpfs {mnt}\nexec {bin} run --config {config}\n",
            mnt = self.mnt.display(),
            bin = BIN,
            config = self.config.display(),
        );
        let mut cmd = Command::new("unshare");
        cmd.args(["-m", "sh", "-c", &script])
            .env("RUST_LOG", "info");
        Proc::start("daemon", &mut cmd, "faxbridge ready")
    }
}

/// `path` (inside the tmpfs) as the test process reaches it: through the
/// daemon's root, in the daemon's mount namespace.
fn inside(daemon: &Proc, path: &Path) -> PathBuf {
    PathBuf::from(format!("/proc/{}/root", daemon.pid())).join(path.strip_prefix("/").unwrap())
}

/// Fill the filesystem of `dir` with `dir/filler` until only `leave` bytes
/// are free (0: until the write fails). Returns the bytes free after.
fn fill(dir: &Path, leave: u64) -> u64 {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("filler"))
        .unwrap();
    let chunk = vec![0x55u8; 64 * 1024];
    loop {
        let free = FreeSpace::of(dir).unwrap().available;
        if leave > 0 && free <= leave {
            return free;
        }
        let n = if leave > 0 {
            ((free - leave) as usize).min(chunk.len())
        } else {
            chunk.len()
        };
        match f.write(&chunk[..n]) {
            Ok(0) => return FreeSpace::of(dir).unwrap().available,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => {
                return FreeSpace::of(dir).unwrap().available;
            }
            Err(e) => panic!("filling {}: {e}", dir.display()),
        }
    }
}

/// Remove the filler: space is back.
fn unfill(dir: &Path) {
    std::fs::remove_file(dir.join("filler")).unwrap();
}

/// `faxbridge dial` to DID 100 at the daemon over G.711.
fn dial(daemon: &Proc, tiff: &Path) -> (bool, String) {
    let out = Command::new(BIN)
        .arg("dial")
        .arg(format!("sip:100@{}", daemon.addr("udp")))
        .arg(tiff)
        .args(["--g711", "--from", "01632960123"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run faxbridge dial");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The same, left running.
fn dial_in_background(daemon: &Proc, tiff: &Path) -> Child {
    Command::new(BIN)
        .arg("dial")
        .arg(format!("sip:100@{}", daemon.addr("udp")))
        .arg(tiff)
        .args(["--g711", "--from", "01632960123"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The email-to-fax message of the tests (one recipient).
fn message() -> Message {
    Message::builder()
        .from("j.smith@example.ac.uk".parse().unwrap())
        .to(format!("{NUMBER}@fax.example.ac.uk").parse().unwrap())
        .subject("Order 2026-1142")
        .message_id(Some("<order-2026-1142@example.ac.uk>".to_string()))
        .body("Please supply 20 boxes of pipette tips.\n".to_string())
        .unwrap()
}

fn smtp(daemon: &Proc) -> SmtpTransport {
    SmtpTransport::builder_dangerous("127.0.0.1")
        .port(daemon.addr("smtp").port())
        .timeout(Some(Duration::from_secs(60)))
        .build()
}

/// Send [`message`]; it must be refused for now with 452 4.3.1.
fn assert_refused_for_now(daemon: &Proc) {
    let err = smtp(daemon)
        .send(&message())
        .expect_err("the message is refused while the disk is full");
    let text = err.to_string();
    assert!(err.is_transient(), "a temporary refusal: {text}");
    assert!(
        text.contains("452") && text.contains("4.3.1"),
        "452 4.3.1: {text}"
    );
    assert!(
        text.contains("Insufficient system storage"),
        "says why: {text}"
    );
}

/// Jobs in `faxbridge jobs list` (run in the daemon's mount namespace;
/// the mail intake is the only source of jobs here).
fn jobs_for_number(setup: &Setup, daemon: &Proc) -> usize {
    let out = Command::new("nsenter")
        .args(["-t", &daemon.pid().to_string(), "-m", BIN, "jobs", "list"])
        .arg("--config")
        .arg(&setup.config)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("jobs:\n{list}");
    list.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count()
}

/// Documents rendered for mail (`spool/outgoing/*.tif`, temporary files
/// included).
fn outgoing_documents(spool: &Path) -> Vec<String> {
    std::fs::read_dir(spool.join("outgoing"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

fn write_pages(path: &Path, sent: &[Page]) {
    write_tiff(path, sent, Compression::Group4).unwrap();
}

#[test]
fn below_the_minimum_calls_get_503_and_mail_452_until_space_is_back() {
    if !namespaces_work() {
        return;
    }
    let s = setup(4);
    let daemon = s.start();
    let fs = inside(&daemon, &s.mnt);
    let spool = fs.join("spool");
    let tiff = s.root.join("send.tif");
    let sent = pages(120);
    write_pages(&tiff, &sent);

    // 2 MiB free of 16, the minimum is 4.
    let free = fill(&fs, 2 << 20);
    eprintln!("free after filling: {free} bytes");
    let (ok, text) = dial(&daemon, &tiff);
    assert!(!ok, "a fax was taken on a full disk: {text}");
    assert!(text.contains("503"), "503 for the call: {text}");
    assert_refused_for_now(&daemon);
    let (ok, text) = dial(&daemon, &tiff);
    assert!(!ok && text.contains("503"), "503 again: {text}");
    assert!(daemon.log_contains(&[ALERT, "spool_min_free_mb = 4"], Duration::from_secs(5)));
    assert_eq!(daemon.log_count(&[ALERT]), 1, "one alert for the episode");
    assert_eq!(
        jobs_for_number(&s, &daemon),
        0,
        "no job for a refused message"
    );
    assert!(outgoing_documents(&spool).is_empty(), "no document left");
    assert!(s.sink.messages().is_empty());

    // Space is back: everything resumes by itself.
    unfill(&fs);
    let started = Instant::now();
    let (ok, text) = dial(&daemon, &tiff);
    assert!(ok, "a fax after space came back: {text}");
    let mail = s.sink.wait_for_messages(1, Duration::from_secs(30));
    eprintln!("fax mailed {:?} after space came back", started.elapsed());
    let work = s.root.join("pdf");
    std::fs::create_dir_all(&work).unwrap();
    let got = pdf_pages(&mail[0], &work);
    assert_eq!(got.len(), sent.len());
    assert_same_pixels(&sent[0], &got[0], 1);
    assert!(daemon.log_contains(&["free space again"], Duration::from_secs(1)));

    // The mail server's retry of the refused message: accepted, one job.
    let reply = smtp(&daemon).send(&message()).expect("accepted now");
    assert_eq!(reply.code().to_string(), "250", "{reply:?}");
    assert_eq!(jobs_for_number(&s, &daemon), 1, "one job");
    assert_eq!(daemon.log_count(&[ALERT]), 1, "still one alert");
    assert!(daemon.sigterm().success());
}

#[test]
fn the_disk_filling_during_a_fax_keeps_the_confirmed_pages_and_refuses_the_rest() {
    if !namespaces_work() {
        return;
    }
    // No minimum: only the writes themselves find the disk full.
    let s = setup(0);
    let daemon = s.start();
    let fs = inside(&daemon, &s.mnt);
    let spool = fs.join("spool");
    let tiff = s.root.join("send.tif");
    // Long pages, so that the filler lands after page 1 is stored and
    // before page 2 ends.
    let sent = pages(1100);
    write_pages(&tiff, &sent);
    let sender = dial_in_background(&daemon, &tiff);

    let incoming = spool.join("incoming");
    let start = Instant::now();
    loop {
        let page_written = std::fs::read_dir(&incoming)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                e.path().extension().is_some_and(|x| x == "tif")
                    && read_tiff(&e.path()).is_ok_and(|p| !p.is_empty())
            });
        if page_written {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no page reached the spool"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let free = fill(&fs, 0);
    eprintln!("disk full after page 1 ({free} bytes free)");

    let out = sender.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("sender: {said}");
    assert!(
        !out.status.success(),
        "the sender was told every page arrived: {said}"
    );
    assert!(
        daemon.log_contains(
            &["could not be written to the spool", "not confirming it"],
            Duration::from_secs(10)
        ),
        "the withheld confirmation is logged"
    );
    assert!(daemon.log_contains(&[ALERT], Duration::from_secs(10)));

    // Mail meanwhile: refused for now, nothing left behind.
    assert_refused_for_now(&daemon);
    assert!(
        outgoing_documents(&spool).is_empty(),
        "no document left: {:?}",
        outgoing_documents(&spool)
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(s.sink.messages().is_empty(), "mailed on a full disk?");

    // Space is back: the page confirmed before the disk filled is mailed.
    unfill(&fs);
    let started = Instant::now();
    let mail = s.sink.wait_for_messages(1, Duration::from_secs(60));
    eprintln!("fax mailed {:?} after space came back", started.elapsed());
    let parsed = MessageParser::default().parse(&mail[0]).unwrap();
    assert_ne!(
        parsed.header_raw("X-Fax-Result").map(str::trim),
        Some("complete"),
        "the fax is not complete"
    );
    let text = parsed
        .body_text(0)
        .map(|t| t.into_owned())
        .unwrap_or_default();
    assert!(
        text.contains("could not be stored") && text.contains("not confirmed"),
        "the mail says what happened: {text}"
    );
    eprintln!("mail: {text}");
    assert!(!text.contains(".."), "one full stop: {text}");
    let work = s.root.join("pdf");
    std::fs::create_dir_all(&work).unwrap();
    let got = pdf_pages(&mail[0], &work);
    assert_eq!(got.len(), 1, "the page confirmed before the disk filled");
    assert_same_pixels(&sent[0], &got[0], 1);

    // The retried message: accepted, one job; one alert for the episode.
    assert_eq!(
        jobs_for_number(&s, &daemon),
        0,
        "no job for a refused message"
    );
    let reply = smtp(&daemon).send(&message()).expect("accepted now");
    assert_eq!(reply.code().to_string(), "250", "{reply:?}");
    assert_eq!(jobs_for_number(&s, &daemon), 1, "one job");
    assert_eq!(daemon.log_count(&[ALERT]), 1, "one alert for the episode");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(s.sink.messages().len(), 1, "mailed once");
    assert!(daemon.sigterm().success());
}
