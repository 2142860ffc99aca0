//! Fax-to-email end to end: the real `faxbridge run` daemon receives faxes
//! sent by `faxbridge dial` over loopback SIP/RTP/UDPTL and mails them, as
//! PDF, to a real SMTP server (aiosmtpd). The PDF's page images are
//! extracted with poppler's `pdfimages` at their native resolution and
//! compared pixel for pixel with the pages that were sent.
//!
//! Also: the daemon killed with SIGKILL in the middle of a reception loses
//! nothing; on restart the pages that arrived are mailed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use faxbridge::docs::Page;
use faxbridge::docs::tiff::{Compression, write_tiff};
use mail_parser::MessageParser;

mod support;
use support::config::DaemonConfig;
use support::fax::{assert_same_pixels, pages, pdf_pages};
use support::procs::{BIN, Proc, start_daemon};
use support::smtp::Sink;

struct Setup {
    // Dropped first: the sink stops before its directory goes.
    sink: Sink,
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: PathBuf,
}

fn setup() -> Setup {
    setup_with_store(None)
}

/// With `store`, the daemon keeps its state in that database (`[store] url`).
fn setup_with_store(store: Option<&str>) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let sink_dir = root.join("sink");
    std::fs::create_dir_all(&sink_dir).unwrap();
    let sink = Sink::listen(&sink_dir, &[]);
    let mut config = DaemonConfig::new(&root);
    config
        .ident("+44 1632 960000")
        .did("100", "lab")
        .route("lab", &["Physics Lab <lab@example.org>"])
        .mail_from("Fax Service <fax@example.org>")
        .relay(sink.port);
    if let Some(url) = store {
        config.set("store", &format!("url = {}", support::config::quote(url)));
    }
    let config = config.write();
    Setup {
        sink,
        _dir: dir,
        root,
        config,
    }
}

/// `faxbridge dial` to `did` at the daemon's SIP (UDP) address.
fn dial(daemon: &Proc, did: &str, tiff: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("dial")
        .arg(format!("sip:{did}@{}", daemon.addr("udp")))
        .arg(tiff)
        .args(["--from", "01632960123", "--ident", "+44 1632 960123"])
        .args(extra)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run faxbridge dial")
}

fn text_of(message: &[u8]) -> String {
    let msg = MessageParser::default().parse(message).unwrap();
    msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default()
}

fn run_case(extra: &[&str]) {
    run_case_on(extra, None);
}

fn run_case_on(extra: &[&str], store: Option<&str>) {
    let s = setup_with_store(store);
    let sink = &s.sink;
    let daemon = start_daemon(&s.config);
    let sent = pages(300);
    let tiff = s.root.join("send.tif");
    write_tiff(&tiff, &sent, Compression::Group4).unwrap();

    let out = dial(&daemon, "100", &tiff, extra);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "dial failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mail = sink.wait_for_messages(1, Duration::from_secs(30));
    let text = text_of(&mail[0]);
    assert!(
        text.contains("01632960123"),
        "caller number in mail: {text}"
    );
    assert!(
        text.contains("+44 1632 960123"),
        "remote CSI in mail: {text}"
    );
    let work = s.root.join("pdf");
    std::fs::create_dir_all(&work).unwrap();
    let got = pdf_pages(&mail[0], &work);
    assert_eq!(got.len(), 3, "pages in the PDF");
    for (i, (p, g)) in sent.iter().zip(&got).enumerate() {
        assert_same_pixels(p, g, i + 1);
    }
    assert!(
        daemon.sigterm().success(),
        "daemon exits cleanly on SIGTERM"
    );
}

#[test]
fn g711_fax_is_mailed_as_pdf() {
    run_case(&["--g711"]);
}

#[test]
fn g711_fax_is_mailed_as_pdf_with_the_state_in_postgresql() {
    let url = support::postgres::server().fresh_database();
    run_case_on(&["--g711"], Some(&url));
    // While one daemon keeps its state there, a second is refused.
    let s = setup_with_store(Some(&url));
    let first = start_daemon(&s.config);
    let second_dir = s.root.join("second");
    std::fs::create_dir_all(&second_dir).unwrap();
    let second = DaemonConfig::new(&second_dir)
        .set("store", &format!("url = {}", support::config::quote(&url)))
        .write();
    let out = Command::new(BIN)
        .args(["run", "--config"])
        .arg(&second)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a second daemon started: {err}");
    assert!(
        err.contains("another faxbridge daemon already uses"),
        "{err}"
    );
    assert!(first.sigterm().success());
    // The fax and its mail were recorded on the server, not in the spool.
    let out = Command::new("psql")
        .arg(&url)
        .args(["-At", "-c"])
        .arg(
            "SELECT f.state, f.pages_received, m.state FROM received_fax f \
             JOIN mail_outbox m ON m.fax_id = f.id",
        )
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "queued|3|sent",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn t38_in_initial_invite_is_mailed_as_pdf() {
    run_case(&["--t38"]);
}

#[test]
fn t38_reinvite_from_sender_is_mailed_as_pdf() {
    run_case(&["--t38-reinvite"]);
}

#[test]
fn unknown_number_is_refused_and_daemon_keeps_serving() {
    let s = setup();
    let sink = &s.sink;
    let daemon = start_daemon(&s.config);
    let tiff = s.root.join("send.tif");
    let sent = pages(120);
    write_tiff(&tiff, &sent, Compression::Group4).unwrap();
    let out = dial(&daemon, "999000", &tiff, &["--g711"]);
    assert!(!out.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("404"), "404 for an unknown number: {all}");
    // Garbage on the SIP port is dropped or answered; the next fax works.
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for junk in [&b"\x00\x01garbage"[..], b"INVITE sip:100@x SIP/2.0\r\n\r\n"] {
        sock.send_to(junk, daemon.addr("udp")).unwrap();
    }
    let out = dial(&daemon, "100", &tiff, &["--g711"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    sink.wait_for_messages(1, Duration::from_secs(30));
}

/// `faxbridge dial` sending `sent` over G.711 to DID 100, left running.
fn send_in_background(s: &Setup, daemon: &Proc, sent: &[Page]) -> std::process::Child {
    let tiff = s.root.join("send.tif");
    write_tiff(&tiff, sent, Compression::Group4).unwrap();
    Command::new(BIN)
        .arg("dial")
        .arg(format!("sip:100@{}", daemon.addr("udp")))
        .arg(&tiff)
        .args(["--g711", "--from", "01632960123"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn sigkill_during_reception_loses_no_pages() {
    let s = setup();
    let sink = &s.sink;
    let daemon = start_daemon(&s.config);
    // Long pages so that the kill lands after page 1 but before the end.
    let sent = pages(1100);
    let mut sender = send_in_background(&s, &daemon, &sent);

    // Wait until the first page has been written to the spool, then kill.
    let incoming = s.root.join("spool/incoming");
    let start = Instant::now();
    loop {
        let page_written = std::fs::read_dir(&incoming)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                e.path().extension().is_some_and(|x| x == "tif")
                    && faxbridge::docs::tiff::read_tiff(&e.path()).is_ok_and(|p| !p.is_empty())
            });
        if page_written {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "no page reached the spool"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    daemon.sigkill();
    let _ = sender.wait();
    assert!(
        sink.messages().is_empty(),
        "nothing mailed before the restart"
    );

    let daemon = start_daemon(&s.config);
    let mail = sink.wait_for_messages(1, Duration::from_secs(30));
    let text = text_of(&mail[0]);
    assert!(
        text.contains("interrupted"),
        "says the call was cut off: {text}"
    );
    let work = s.root.join("pdf");
    std::fs::create_dir_all(&work).unwrap();
    let got = pdf_pages(&mail[0], &work);
    assert!(!got.is_empty());
    assert_same_pixels(&sent[0], &got[0], 1);
    assert!(daemon.sigterm().success());
}

/// A kill after the receiver confirmed the last page (MCF to EOP) but
/// before the hang-up: the sender was told every page arrived, so the fax
/// mailed after the restart is complete, not "Incomplete".
#[test]
fn sigkill_after_the_last_page_is_confirmed_mails_a_complete_fax() {
    let s = setup();
    let sink = &s.sink;
    let daemon = start_daemon(&s.config);
    let sent = pages(300);
    let mut sender = send_in_background(&s, &daemon, &sent);
    // The MCF to the last page takes about a second of V.21 and the
    // sender's DCN another: the kill lands in between.
    assert!(
        daemon
            .lines()
            .wait_for(
                "every page confirmed to the sender",
                Duration::from_secs(120)
            )
            .is_some(),
        "the daemon never confirmed the last page"
    );
    daemon.sigkill();
    let _ = sender.wait();
    assert!(
        sink.messages().is_empty(),
        "the kill came after the fax was mailed: the test proves nothing"
    );

    let daemon = start_daemon(&s.config);
    let mail = sink.wait_for_messages(1, Duration::from_secs(30));
    let parsed = MessageParser::default().parse(&mail[0]).unwrap();
    assert_eq!(
        parsed.header_raw("X-Fax-Result").map(str::trim),
        Some("complete"),
        "a fax whose every page was confirmed is complete"
    );
    let subject = parsed.subject().unwrap_or_default().to_string();
    assert!(!subject.starts_with("Incomplete"), "{subject}");
    let text = text_of(&mail[0]);
    assert!(text.contains("Received all 3 page(s)"), "{text}");
    let work = s.root.join("pdf");
    std::fs::create_dir_all(&work).unwrap();
    let got = pdf_pages(&mail[0], &work);
    assert_eq!(got.len(), 3, "pages in the PDF");
    for (i, (want, got)) in sent.iter().zip(&got).enumerate() {
        assert_same_pixels(want, got, i + 1);
    }
    assert!(daemon.sigterm().success());
}
