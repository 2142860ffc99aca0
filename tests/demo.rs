//! `faxbridge demo`: a newcomer's first minute. The real binary starts the
//! daemon on the embedded default, faxes it the sample page over loopback
//! SIP and finds the PDF email in the local Maildir.

use std::process::Command;
use std::time::{Duration, Instant};

use mail_parser::{MessageParser, MimeHeaders};

mod support;
use support::procs::BIN;

fn demo(extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let out = Command::new(BIN)
        .args(["demo", "--exit", "--listen", "127.0.0.1:0", "--dir"])
        .arg(dir.path())
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "demo failed: {:?}", out.status);
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "the demo took {:?}; a newcomer should see the mail within a minute",
        start.elapsed()
    );

    let new = dir.path().join("spool/maildir/new");
    let mails: Vec<_> = std::fs::read_dir(&new)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        stdout.contains(&mails[0].display().to_string()),
        "the demo names the mail file"
    );
    let bytes = std::fs::read(&mails[0]).unwrap();
    let msg = MessageParser::default().parse(&bytes).unwrap();
    assert_eq!(
        msg.to().unwrap().first().unwrap().address().unwrap(),
        "fax@localhost"
    );
    let pdf = msg
        .attachments()
        .find(|a| a.content_type().is_some_and(|c| c.subtype() == Some("pdf")))
        .expect("a PDF attachment");
    let pdf_path = dir.path().join("fax.pdf");
    std::fs::write(&pdf_path, pdf.contents()).unwrap();
    let info = Command::new("pdfinfo").arg(&pdf_path).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    let pages = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .map(str::trim);
    assert_eq!(pages, Some("1"), "{info}");
}

#[test]
fn demo_mails_the_sample_fax_over_g711() {
    demo(&[]);
}

#[test]
fn demo_mails_the_sample_fax_over_t38() {
    demo(&["--t38"]);
}
