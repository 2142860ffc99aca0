//! Email to fax end to end: a real SMTP client (lettre) sends a message to
//! the `faxbridge run` daemon's SMTP listener; the intake renders it (cover
//! page and attachment) and queues a job; the queue worker calls the trunk,
//! where `faxbridge answer` receives the pages over loopback SIP/RTP; the
//! received pages must equal the rendered document pixel for pixel; and the
//! delivery report, with a PDF of what was sent, reaches a real SMTP server
//! (aiosmtpd) acting as the site's mail relay.
//!
//! Also: a recipient that policy refuses (premium rate) is refused at SMTP
//! time with the reason, and nothing is queued for it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use faxbridge::docs::tiff::read_tiff;
use lettre::message::{Attachment, MultiPart, SinglePart, header::ContentType};
use lettre::{Message, SmtpTransport, Transport};
use mail_parser::{MessageParser, MimeHeaders};

mod support;
use support::config::{DaemonConfig, assert_valid};
use support::fax::assert_same_pages;
use support::procs::{BIN, Proc, start_daemon};
use support::smtp::Sink;

struct Setup {
    sink: Sink,
    _dir: tempfile::TempDir,
    root: PathBuf,
    /// Written by [`Setup::write`].
    config: PathBuf,
}

/// A test directory and the SMTP sink the daemon relays to; no
/// configuration yet.
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let sink_dir = root.join("sink");
    std::fs::create_dir_all(&sink_dir).unwrap();
    let sink = Sink::listen(&sink_dir, &[]);
    Setup {
        sink,
        config: root.join("faxbridge.toml"),
        _dir: dir,
        root,
    }
}

impl Setup {
    /// Write the daemon's configuration, with the trunk on 127.0.0.1:`trunk_port`.
    fn write(&self, trunk_port: u16) {
        let config = DaemonConfig::new(&self.root)
            .ident("+44 1223 330000")
            .mail_from("Fax Service <fax@example.ac.uk>")
            .relay(self.sink.port)
            .trunk(&format!("sip:{{number}}@127.0.0.1:{trunk_port}"))
            .set("outgoing", "from_user = \"01223330000\"")
            .email_intake("fax.example.ac.uk", "example.ac.uk")
            .write();
        assert_eq!(config, self.config);
        assert_valid(&config);
    }
}

fn start_answerer(port: u16, out: &Path) -> Proc {
    let mut cmd = Command::new(BIN);
    cmd.args(["answer", "--listen", &format!("127.0.0.1:{port}"), "--out"])
        .arg(out)
        .args(["--ident", "+44 1223 654321"])
        .env("RUST_LOG", "warn");
    Proc::start("answer", &mut cmd, "listening on sip:")
}

fn jobs(setup: &Setup, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("jobs")
        .args(args)
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
    String::from_utf8(out.stdout).unwrap()
}

fn field(show: &str, key: &str) -> Option<String> {
    show.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().to_string())
}

fn invoice() -> String {
    let mut text = String::from("INVOICE 2026-1142\n\n");
    for n in 1..=20 {
        text.push_str(&format!(
            "{n:>3}  Pipette tips, box of 96    {:>3}.00 GBP\n",
            n * 3
        ));
    }
    text
}

/// An SMTP client of the daemon's listener.
fn smtp(daemon: &Proc) -> SmtpTransport {
    SmtpTransport::builder_dangerous("127.0.0.1")
        .port(daemon.addr("smtp").port())
        .timeout(Some(Duration::from_secs(60)))
        .build()
}

#[test]
fn mail_is_faxed_and_the_sender_gets_a_report() {
    let setup = setup();
    let out = setup.root.join("received");
    std::fs::create_dir_all(&out).unwrap();
    let answerer = start_answerer(0, &out);
    setup.write(answerer.sip_addr().port());
    let daemon = start_daemon(&setup.config);

    let message = Message::builder()
        .from("Jane Smith <jane.smith@example.ac.uk>".parse().unwrap())
        .to("01223 654321 <01223654321@fax.example.ac.uk>"
            .parse()
            .unwrap())
        .subject("Invoice 2026-1142")
        .message_id(Some("<inv-1142@example.ac.uk>".to_string()))
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(
                    "Please find our invoice attached.".to_string(),
                ))
                .singlepart(
                    Attachment::new("invoice.txt".to_string())
                        .body(invoice(), ContentType::TEXT_PLAIN),
                ),
        )
        .unwrap();
    let accepted = smtp(&daemon)
        .send(&message)
        .expect("the listener accepts the message");
    assert!(accepted.is_positive());

    // One job, from the mail, with a cover page and the invoice.
    let list = jobs(&setup, &["list"]);
    let id = list
        .lines()
        .find(|l| l.contains("+441223654321"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no job for the number in:\n{list}"))
        .to_string();
    let start = Instant::now();
    let show = loop {
        let show = jobs(&setup, &["show", &id]);
        let state = field(&show, "state").unwrap_or_default();
        if state == "done" {
            break show;
        }
        assert!(
            !matches!(state.as_str(), "failed" | "cancelled"),
            "job ended {state}:\n{show}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "job still {state}:\n{show}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let document = PathBuf::from(field(&show, "document").unwrap());
    let rendered = read_tiff(&document).unwrap();
    assert_eq!(rendered.len(), 2, "cover page + one page of invoice");

    let received: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tif"))
        .collect();
    assert_eq!(received.len(), 1);
    assert_same_pages(&rendered, &read_tiff(&received[0]).unwrap());

    // The report reaches the relay, for the sender, with the PDF.
    let start = Instant::now();
    let report = loop {
        let reports: Vec<Vec<u8>> = setup
            .sink
            .messages()
            .into_iter()
            .filter(|(_, rcpt)| rcpt.contains("jane.smith@example.ac.uk"))
            .map(|(bytes, _)| bytes)
            .collect();
        if let Some(r) = reports.into_iter().next() {
            break r;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no report reached the relay"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    let parsed = MessageParser::default().parse(&report).unwrap();
    let subject = parsed.subject().unwrap();
    assert!(
        subject.contains("1223654321") && subject.contains("delivered"),
        "{subject}"
    );
    let body = parsed.body_text(0).unwrap();
    assert!(body.contains("Invoice 2026-1142"), "{body}");
    assert!(
        body.contains("+44 1223 654321"),
        "the receiver's CSI: {body}"
    );
    let pdf = parsed
        .attachments()
        .find(|a| a.content_type().is_some_and(|c| c.subtype() == Some("pdf")))
        .expect("the report carries the PDF of what was sent");
    let pdf_path = setup.root.join("sent.pdf");
    std::fs::write(&pdf_path, pdf.contents()).unwrap();
    let info = Command::new("pdfinfo").arg(&pdf_path).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    let pages = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .map(str::trim);
    assert_eq!(pages, Some("2"), "{info}");
}

#[test]
fn refused_recipient_is_refused_at_smtp_time() {
    let setup = setup();
    // The trunk: never called here, and held so nothing else answers.
    let trunk = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    setup.write(trunk.local_addr().unwrap().port());
    let daemon = start_daemon(&setup.config);
    let message = Message::builder()
        .from("jane.smith@example.ac.uk".parse().unwrap())
        .to("09065551234@fax.example.ac.uk".parse().unwrap())
        .subject("Competition entry")
        .body("Please enter me.".to_string())
        .unwrap();
    let err = smtp(&daemon)
        .send(&message)
        .expect_err("premium rate is refused");
    let text = err.to_string();
    assert!(err.is_permanent(), "{text}");
    assert!(
        text.to_lowercase().contains("premium"),
        "the reason reaches the sender: {text}"
    );
    assert!(
        jobs(&setup, &["list"])
            .lines()
            .all(|l| !l.contains("09065551234")),
        "nothing queued"
    );
}
