//! Email to fax intake: real MIME messages through the intake pipeline into
//! the SQLite job store and TIFF-F files in a temporary spool.
//!
//! The pipeline is driven as the SMTP listener drives it (the `MailHandler`
//! calls with a session from a trusted relay), and as a mail server's pipe
//! transport drives `faxbridge submit` (the real binary, checking its
//! sysexits status). Each refusal must say what is wrong, and a refused
//! message must leave neither a job nor a document behind.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use faxbridge::config::Config;
use faxbridge::docs::tiff::{Compression, read_tiff, write_tiff};
use faxbridge::docs::{Page, Resolution};
use faxbridge::intake::Intake;
use faxbridge::queue::JobStore;
use faxbridge::smtp::{MailHandler, ReceivedMessage, SessionInfo};
use faxbridge::store::Store;
use sqlx::Row;

mod support;
use support::procs::BIN;

const SENDER: &str = "j.smith@example.ac.uk";

/// The configuration of the tests: one fax domain, senders at
/// example.ac.uk through a relay on loopback that checks its senders, an
/// outgoing trunk, and small allowances for two listed senders.
fn config_text(spool: &Path, trunk: &str) -> String {
    format!(
        r#"
[general]
spool_dir = "{spool}"

[outgoing]
uri = "{trunk}"

[intake]
fax_domains = ["fax.example.ac.uk"]

[intake.senders]
allowed = ["example.ac.uk"]
trusted_relays = ["127.0.0.0/8"]
# The test relay lets its users send only as themselves, so the per-address
# allowances below apply to its mail.
relay_checks_senders = true

[[intake.quota.overrides]]
senders = ["one-an-hour@example.ac.uk"]
messages_per_hour = 1
pages_per_day = 0

[[intake.quota.overrides]]
senders = ["three-pages@example.ac.uk"]
messages_per_hour = 0
pages_per_day = 3
"#,
        spool = spool.display()
    )
}

struct Env {
    _dir: tempfile::TempDir,
    spool: PathBuf,
    intake: Intake,
    jobs: JobStore,
}

async fn env() -> Env {
    env_with("").await
}

/// [`env`] with `extra` appended to the configuration.
async fn env_with(extra: &str) -> Env {
    env_edited(|text| format!("{text}{extra}")).await
}

/// [`env`] with the configuration text changed by `edit`.
async fn env_edited(edit: impl FnOnce(String) -> String) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let config = Config::parse(&edit(config_text(&spool, "sip:{number}@127.0.0.1:5999"))).unwrap();
    config.validate().unwrap();
    faxbridge::daemon::prepare_spool(&spool).unwrap();
    let store = Store::open_in_spool(&spool).await.unwrap();
    let jobs = JobStore::new(store, config.queue.clone());
    let intake = Intake::new(config.intake_settings(), jobs.clone(), None);
    Env {
        _dir: dir,
        spool,
        intake,
        jobs,
    }
}

fn relay() -> SessionInfo {
    SessionInfo {
        peer: "127.0.0.1:40000".parse().unwrap(),
        helo: "relay.example.ac.uk".into(),
        tls: false,
        authenticated: None,
    }
}

fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (n, chunk) in data.chunks(3).enumerate() {
        if n > 0 && n % 19 == 0 {
            out.push_str("\r\n");
        }
        let v = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(v >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An attachment: content type, file name, raw bytes (sent as base64).
struct Att<'a> {
    content_type: &'a str,
    name: &'a str,
    data: &'a [u8],
}

/// A multipart/mixed message with a text body and attachments (or a plain
/// text message when there are none).
fn message(id: &str, subject: &str, to: &str, body: &str, atts: &[Att<'_>]) -> Vec<u8> {
    let mut m = format!(
        "Received: from pc.example.ac.uk by relay.example.ac.uk; Wed, 25 Nov 2026 13:00:00 +0000\r\n\
         From: Jane Smith <{SENDER}>\r\n\
         To: {to}\r\n\
         Subject: {subject}\r\n\
         Date: Wed, 25 Nov 2026 13:00:00 +0000\r\n\
         Message-ID: <{id}>\r\n\
         MIME-Version: 1.0\r\n"
    );
    if atts.is_empty() {
        m.push_str("Content-Type: text/plain; charset=utf-8\r\n\r\n");
        m.push_str(body);
        return m.into_bytes();
    }
    m.push_str("Content-Type: multipart/mixed; boundary=\"b0undary\"\r\n\r\n");
    m.push_str("--b0undary\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
    m.push_str(body);
    m.push_str("\r\n");
    for a in atts {
        m.push_str(&format!(
            "--b0undary\r\nContent-Type: {}; name=\"{}\"\r\n\
             Content-Disposition: attachment; filename=\"{}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            a.content_type,
            a.name,
            a.name,
            b64(a.data)
        ));
    }
    m.push_str("--b0undary--\r\n");
    m.into_bytes()
}

/// A two-page PDF made by the crate's own TIFF-to-PDF writer.
fn two_page_pdf() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let mut pages = Vec::new();
    for n in 0..2u32 {
        let mut p = Page::blank(1728, 1100, Resolution::Standard);
        for y in 100..300 + n * 100 {
            for x in 200..1500 {
                p.set(x, y, true);
            }
        }
        pages.push(p);
    }
    let tif = dir.path().join("doc.tif");
    write_tiff(&tif, &pages, Compression::Group4).unwrap();
    let pdf = dir.path().join("doc.pdf");
    faxbridge::docs::convert_to_pdf(&tif, &pdf).unwrap();
    std::fs::read(&pdf).unwrap()
}

/// A 300×150 PNG: a black frame on white.
fn png() -> Vec<u8> {
    let img = image::GrayImage::from_fn(300, 150, |x, y| {
        let edge = !(10..290).contains(&x) || !(10..140).contains(&y);
        image::Luma([if edge { 0 } else { 255 }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn received(recipients: &[&str], data: Vec<u8>) -> ReceivedMessage {
    ReceivedMessage {
        mail_from: SENDER.into(),
        recipients: recipients.iter().map(|s| s.to_string()).collect(),
        data,
    }
}

async fn job_count(jobs: &JobStore) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM fax_job")
        .fetch_one(jobs.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

/// Documents in the spool's outgoing directory (temporary files included).
fn outgoing_files(spool: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(spool.join("outgoing"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn black(page: &Page, rows: std::ops::Range<u32>) -> usize {
    let stride = page.stride();
    rows.map(|y| {
        page.bits[y as usize * stride..(y as usize + 1) * stride]
            .iter()
            .map(|b| b.count_ones() as usize)
            .sum::<usize>()
    })
    .sum()
}

#[tokio::test]
async fn pdf_and_png_to_two_recipients_become_two_jobs_once() {
    let env = env().await;
    let pdf = two_page_pdf();
    let png = png();
    let data = message(
        "contract-1@pc.example.ac.uk",
        "Signed contract",
        "01223123456@fax.example.ac.uk",
        "Please sign page 2 and fax it back.\r\n-- \r\nJane Smith\r\n",
        &[
            Att {
                content_type: "application/pdf",
                name: "contract.pdf",
                data: &pdf,
            },
            Att {
                content_type: "image/png",
                name: "stamp.png",
                data: &png,
            },
        ],
    );
    let rcpts = [
        "<01223123456@fax.example.ac.uk>",
        "<\"+44 1223 654321^standard^nocover\"@fax.example.ac.uk>",
    ];
    let session = relay();
    env.intake.check_sender(&session, SENDER).await.unwrap();
    for r in rcpts {
        env.intake
            .check_recipient(&session, SENDER, r)
            .await
            .unwrap();
    }
    let accepted = env
        .intake
        .accept(&session, received(&rcpts, data.clone()))
        .await
        .unwrap();
    assert_eq!(accepted.jobs.len(), 2);
    assert_ne!(accepted.jobs[0], accepted.jobs[1]);

    // Fine with a cover page: cover + 2 PDF pages + 1 picture page.
    let first = env.jobs.job(&accepted.jobs[0]).await.unwrap().job;
    assert_eq!(first.destination, "+441223123456");
    assert_eq!(first.pages_total, 4);
    assert_eq!(first.report_to.as_deref(), Some(SENDER));
    assert_eq!(first.subject, "Signed contract");
    assert_eq!(first.submitter, SENDER);
    let pages = read_tiff(Path::new(&first.document)).unwrap();
    assert_eq!(pages.len(), 4);
    assert!(
        pages
            .iter()
            .all(|p| p.resolution() == Some(Resolution::Fine))
    );
    assert!(pages.iter().all(|p| p.width == 1728));
    // The cover's "FAX" heading is in its first inch and a half.
    assert!(black(&pages[0], 147..294) > 2000, "no heading on the cover");

    // Standard, no cover: the three document pages only.
    let second = env.jobs.job(&accepted.jobs[1]).await.unwrap().job;
    assert_eq!(second.destination, "+441223654321");
    assert_eq!(second.pages_total, 3);
    let pages2 = read_tiff(Path::new(&second.document)).unwrap();
    assert_eq!(pages2.len(), 3);
    assert!(
        pages2
            .iter()
            .all(|p| p.resolution() == Some(Resolution::Standard))
    );
    // The PDF's first page: a black band 200 rows (at 98 dpi) down the page.
    assert!(black(&pages2[0], 0..90) < 100);
    assert!(black(&pages2[0], 110..290) > 100_000);
    assert_eq!(
        outgoing_files(&env.spool),
        {
            let mut v = vec![
                PathBuf::from(&first.document),
                PathBuf::from(&second.document),
            ];
            v.sort();
            v
        },
        "exactly the two documents, no temporary files"
    );

    // The same message again (a relay retrying after a lost reply, through
    // another hop): the same jobs, nothing new queued or written.
    let mut again =
        b"Received: from other.example.ac.uk by relay2; Wed, 25 Nov 2026 13:05:00 +0000\r\n"
            .to_vec();
    again.extend_from_slice(&data);
    let accepted2 = env
        .intake
        .accept(&session, received(&rcpts, again))
        .await
        .unwrap();
    assert_eq!(accepted2.jobs, accepted.jobs);
    assert_eq!(job_count(&env.jobs).await, 2);
    assert_eq!(outgoing_files(&env.spool).len(), 2);
}

#[tokio::test]
async fn a_text_only_message_is_faxed_after_a_cover_page() {
    let env = env().await;
    let body = "Dear Sir,\r\n\r\nPlease deliver the chairs to room 12 on Monday.\r\n\r\nJane\r\n";
    let data = message(
        "note-1@pc.example.ac.uk",
        "Delivery",
        "01223123456@fax.example.ac.uk",
        body,
        &[],
    );
    let accepted = env
        .intake
        .accept(&relay(), received(&["01223123456@fax.example.ac.uk"], data))
        .await
        .unwrap();
    let job = env.jobs.job(&accepted.jobs[0]).await.unwrap().job;
    assert_eq!(job.pages_total, 2);
    let pages = read_tiff(Path::new(&job.document)).unwrap();
    assert_eq!(pages.len(), 2);
    // The text page has ink: the body was rendered, not dropped.
    assert!(black(&pages[1], 0..pages[1].height) > 1_000);
}

#[tokio::test]
async fn refused_senders_and_numbers_are_refused_at_smtp_time() {
    let env = env().await;
    // An allowed address from a client that is no trusted relay.
    let outsider = SessionInfo {
        peer: "203.0.113.5:40000".parse().unwrap(),
        ..relay()
    };
    let r = env
        .intake
        .check_sender(&outsider, SENDER)
        .await
        .unwrap_err();
    assert_eq!((r.code, r.enhanced), (550, "5.7.1"));
    assert!(r.reason.contains("203.0.113.5"), "{}", r.reason);
    // An address outside the allowed list from the relay.
    let r = env
        .intake
        .check_sender(&relay(), "someone@example.com")
        .await
        .unwrap_err();
    assert!(
        r.reason.contains("not allowed to send faxes"),
        "{}",
        r.reason
    );
    // ... and the same sender's message is refused at DATA too.
    let data = message("x-1@x", "s", "01223123456@fax.example.ac.uk", "hello", &[]);
    let r = env
        .intake
        .accept(
            &relay(),
            ReceivedMessage {
                mail_from: "someone@example.com".into(),
                recipients: vec!["01223123456@fax.example.ac.uk".into()],
                data,
            },
        )
        .await
        .unwrap_err();
    assert_eq!((r.code, r.enhanced), (550, "5.7.1"));

    // Premium rate, emergency, not a fax domain.
    let r = env
        .intake
        .check_recipient(&relay(), SENDER, "<09011234567@fax.example.ac.uk>")
        .await
        .unwrap_err();
    assert_eq!((r.code, r.enhanced), (550, "5.7.1"));
    assert!(r.reason.contains("premium-rate"), "{}", r.reason);
    let r = env
        .intake
        .check_recipient(&relay(), SENDER, "<999@fax.example.ac.uk>")
        .await
        .unwrap_err();
    assert!(r.reason.contains("emergency"), "{}", r.reason);
    let r = env
        .intake
        .check_recipient(&relay(), SENDER, "<01223123456@example.ac.uk>")
        .await
        .unwrap_err();
    assert_eq!((r.code, r.enhanced), (550, "5.1.1"));
    assert_eq!(job_count(&env.jobs).await, 0);
}

#[tokio::test]
async fn card_numbers_damaged_and_empty_attachments_refuse_the_whole_message() {
    let env = env().await;
    let pdf = two_page_pdf();
    let to = ["01223123456@fax.example.ac.uk"];

    let card = message(
        "card-1@x",
        "Deposit",
        to[0],
        "Card for the deposit: 4111 1111 1111 1111, expiry 12/28.",
        &[Att {
            content_type: "application/pdf",
            name: "form.pdf",
            data: &pdf,
        }],
    );
    let r = env
        .intake
        .accept(&relay(), received(&to, card))
        .await
        .unwrap_err();
    assert_eq!((r.code, r.enhanced), (550, "5.7.1"));
    assert!(r.reason.contains("payment card number"), "{}", r.reason);
    assert!(r.reason.contains("ending **** 1111"), "{}", r.reason);
    assert!(
        !r.to_string().contains("4111 1111"),
        "the number is repeated"
    );

    // A PDF whose structure is damaged: the renderer cannot read it.
    let mut broken = b"%PDF-1.7\n".to_vec();
    broken.extend((0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let corrupt = message(
        "corrupt-1@x",
        "Contract",
        to[0],
        "See attached.",
        &[
            Att {
                content_type: "application/pdf",
                name: "fine.pdf",
                data: &pdf,
            },
            Att {
                content_type: "application/pdf",
                name: "contract-signed.pdf",
                data: &broken,
            },
        ],
    );
    let r = env
        .intake
        .accept(&relay(), received(&to, corrupt))
        .await
        .unwrap_err();
    assert_eq!(r.code / 100, 5, "{r:?}");
    assert!(r.reason.contains("contract-signed.pdf"), "{}", r.reason);
    assert!(r.reason.contains("damaged"), "{}", r.reason);

    // A PDF cut off on its way (the PDF reader alone would fax a blank page).
    let cut = message(
        "cut-1@x",
        "Contract",
        to[0],
        "See attached.",
        &[Att {
            content_type: "application/pdf",
            name: "contract.pdf",
            data: &pdf[..pdf.len() / 3],
        }],
    );
    let r = env
        .intake
        .accept(&relay(), received(&to, cut))
        .await
        .unwrap_err();
    assert_eq!((r.code, r.enhanced), (554, "5.6.0"));
    assert!(r.reason.contains("contract.pdf is damaged"), "{}", r.reason);
    assert!(r.reason.contains("cut off"), "{}", r.reason);

    // A base64 body with characters that are not base64.
    let bad_b64 = String::from_utf8(message(
        "b64-1@x",
        "Scan",
        to[0],
        "Scan attached.",
        &[Att {
            content_type: "application/pdf",
            name: "scan.pdf",
            data: &pdf,
        }],
    ))
    .unwrap()
    .replacen("\r\n\r\nJVBER", "\r\n\r\nJV!!BER", 1);
    let r = env
        .intake
        .accept(&relay(), received(&to, bad_b64.into_bytes()))
        .await
        .unwrap_err();
    assert_eq!((r.code, r.enhanced), (554, "5.6.0"));
    assert!(r.reason.contains("\"scan.pdf\""), "{}", r.reason);
    assert!(r.reason.contains("base64"), "{}", r.reason);

    // An attachment whose body is missing.
    let empty = message(
        "empty-1@x",
        "Scan",
        to[0],
        "Scan attached.",
        &[Att {
            content_type: "application/pdf",
            name: "scan.pdf",
            data: b"",
        }],
    );
    let r = env
        .intake
        .accept(&relay(), received(&to, empty))
        .await
        .unwrap_err();
    assert!(r.reason.contains("scan.pdf: is empty"), "{}", r.reason);

    // A message with nothing to fax.
    let nothing = message("nothing-1@x", "Hi", to[0], "-- \r\nJane\r\n", &[]);
    let r = env
        .intake
        .accept(&relay(), received(&to, nothing))
        .await
        .unwrap_err();
    assert!(r.reason.contains("nothing to fax"), "{}", r.reason);

    assert_eq!(job_count(&env.jobs).await, 0);
    assert!(
        outgoing_files(&env.spool).is_empty(),
        "documents left behind"
    );
}

#[tokio::test]
async fn allowances_are_counted_from_the_queue() {
    let env = env().await;
    let to = ["01223123456@fax.example.ac.uk"];
    let send = |from: &'static str, id: &str| ReceivedMessage {
        mail_from: from.into(),
        recipients: to.iter().map(|s| s.to_string()).collect(),
        data: message(id, "Note", to[0], "Short note.", &[]),
    };

    // One message an hour: the first goes, the second is deferred (4xx),
    // already at MAIL FROM; the first again is still recognised.
    let one = "one-an-hour@example.ac.uk";
    let first = env
        .intake
        .accept(&relay(), send(one, "q-1@x"))
        .await
        .unwrap();
    let r = env.intake.check_sender(&relay(), one).await.unwrap_err();
    assert_eq!((r.code, r.enhanced), (451, "4.7.1"));
    let r = env
        .intake
        .accept(&relay(), send(one, "q-2@x"))
        .await
        .unwrap_err();
    assert!(r.is_temporary());
    assert!(
        r.reason.contains("1 fax messages in the last hour"),
        "{}",
        r.reason
    );
    let again = env
        .intake
        .accept(&relay(), send(one, "q-1@x"))
        .await
        .unwrap();
    assert_eq!(again.jobs, first.jobs);

    // Three pages a day: a 2-page fax goes, the next 2 pages would pass the
    // allowance (deferred); a fax larger than the allowance is refused.
    let three = "three-pages@example.ac.uk";
    env.intake
        .accept(&relay(), send(three, "p-1@x"))
        .await
        .unwrap();
    let r = env
        .intake
        .accept(&relay(), send(three, "p-2@x"))
        .await
        .unwrap_err();
    assert_eq!((r.code, r.enhanced), (451, "4.7.1"));
    assert!(r.reason.contains("2 of today's 3"), "{}", r.reason);
    let two_recipients = ReceivedMessage {
        recipients: vec![
            "01223123456@fax.example.ac.uk".into(),
            "01223654321@fax.example.ac.uk".into(),
        ],
        ..send(three, "p-3@x")
    };
    let r = env
        .intake
        .accept(&relay(), two_recipients)
        .await
        .unwrap_err();
    assert_eq!((r.code, r.enhanced), (552, "5.3.4"));
    assert_eq!(job_count(&env.jobs).await, 2);
}

/// Run `faxbridge submit` with `stdin`; returns (exit code, stdout, stderr).
fn submit(config: &Path, args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(BIN)
        .arg("submit")
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_submit_command_queues_or_exits_with_sysexits() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let config = dir.path().join("faxbridge.toml");
    std::fs::write(&config, config_text(&spool, "sip:{number}@127.0.0.1:5999")).unwrap();

    // Recipients from the To: header (the colleague is not a fax).
    let ok = message(
        "cli-1@x",
        "Delivery",
        "01223123456@fax.example.ac.uk, colleague@example.ac.uk",
        "Please deliver on Monday.",
        &[],
    );
    let (code, out, err) = submit(&config, &["--from", SENDER], &ok);
    assert_eq!(code, 0, "stderr: {err}");
    let ids: Vec<&str> = out.lines().collect();
    assert_eq!(ids.len(), 1, "{out}");
    // Submitting it again prints the same job.
    let (code, out2, _) = submit(&config, &["--from", SENDER], &ok);
    assert_eq!((code, out2.as_str()), (0, out.as_str()));

    // Card number: a policy refusal, 77, with the reason and the advice.
    let card = message(
        "cli-2@x",
        "Deposit",
        "01223123456@fax.example.ac.uk",
        "Card 5555 5555 5555 4444",
        &[],
    );
    let (code, out, err) = submit(&config, &["--from", SENDER], &card);
    assert_eq!(code, 77, "stderr: {err}");
    assert!(out.is_empty());
    assert!(err.contains("550 5.7.1"), "{err}");
    assert!(err.contains("last four digits"), "{err}");

    // Damaged attachment: bad data, 65. Explicit recipient, sender from From:.
    let corrupt = message(
        "cli-3@x",
        "Form",
        "someone@example.ac.uk",
        "Form attached.",
        &[Att {
            content_type: "application/pdf",
            name: "form.pdf",
            data: b"%PDF-1.4\nthis is not a PDF body\n%%EOF\n",
        }],
    );
    let (code, _, err) = submit(&config, &["--", "01223123456@fax.example.ac.uk"], &corrupt);
    assert_eq!(code, 65, "stderr: {err}");
    assert!(err.contains("form.pdf"), "{err}");

    // Not a fax address: 67.
    let (code, _, err) = submit(
        &config,
        &["--from", SENDER, "--to", "sales@example.ac.uk"],
        &ok,
    );
    assert_eq!(code, 67, "stderr: {err}");
    assert!(err.contains("not a fax domain"), "{err}");

    // No outgoing trunk configured: 78.
    let unconfigured = dir.path().join("no-trunk.toml");
    std::fs::write(&unconfigured, config_text(&spool, "")).unwrap();
    let (code, _, err) = submit(&unconfigured, &["--from", SENDER], &ok);
    assert_eq!(code, 78, "stderr: {err}");
    assert!(err.contains("[outgoing] uri"), "{err}");

    // Exactly one job in the store.
    let store = Store::open_in_spool(&spool).await.unwrap();
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM fax_job")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(n, 1);
}

/// Read one SMTP reply (all its lines); returns the last line.
async fn reply(r: &mut tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>) -> String {
    use tokio::io::AsyncBufReadExt;
    loop {
        let mut line = String::new();
        r.read_line(&mut line).await.unwrap();
        assert!(!line.is_empty(), "connection closed");
        if line.as_bytes().get(3) != Some(&b'-') {
            return line.trim_end().to_string();
        }
    }
}

/// The real SMTP listener with this pipeline as its handler: a refused
/// number is refused at RCPT TO with the reason, and the message to the
/// other recipient is queued before the 250 at the end of DATA.
#[tokio::test]
async fn mail_through_the_smtp_listener_is_queued() {
    use tokio::io::AsyncWriteExt;

    let env = env().await;
    let smtp = faxbridge::smtp::SmtpConfig {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        hostname: Some("fax.example.ac.uk".into()),
        ..Default::default()
    };
    let listener = faxbridge::smtp::SmtpListener::bind(&smtp).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(listener.run(Arc::new(env.intake.clone()), async move {
        let _ = stop_rx.await;
    }));

    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (rd, mut wr) = stream.into_split();
    let mut rd = tokio::io::BufReader::new(rd);
    assert!(reply(&mut rd).await.starts_with("220"));
    let mut say = async |line: &str| -> String {
        wr.write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
        reply(&mut rd).await
    };
    assert!(say("EHLO relay.example.ac.uk").await.starts_with("250"));
    assert!(
        say(&format!("MAIL FROM:<{SENDER}>"))
            .await
            .starts_with("250")
    );
    let premium = say("RCPT TO:<09011234567@fax.example.ac.uk>").await;
    assert!(premium.starts_with("550 5.7.1"), "{premium}");
    assert!(premium.contains("premium-rate"), "{premium}");
    assert!(
        say("RCPT TO:<01223123456^nocover@fax.example.ac.uk>")
            .await
            .starts_with("250")
    );
    assert!(say("DATA").await.starts_with("354"));
    let body = message(
        "smtp-1@pc.example.ac.uk",
        "By SMTP",
        "01223123456^nocover@fax.example.ac.uk",
        "Please call back.\r\n.Line starting with a dot.\r\n",
        &[],
    );
    let mut stuffed = String::from_utf8(body).unwrap().replace("\r\n.", "\r\n..");
    stuffed.push_str("\r\n.");
    let done = say(&stuffed).await;
    assert!(done.starts_with("250"), "{done}");
    assert!(say("QUIT").await.starts_with("221"));
    let _ = stop_tx.send(());
    server.await.unwrap();

    let rows = sqlx::query("SELECT id, pages_total, subject FROM fax_job")
        .fetch_all(env.jobs.pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let pages: i64 = rows[0].try_get("pages_total").unwrap();
    let subject: String = rows[0].try_get("subject").unwrap();
    assert_eq!((pages, subject.as_str()), (1, "By SMTP"));
}

/// A one-page PDF whose content stream is `ops` (Helvetica as /F1, not
/// embedded: one of the standard 14 fonts every reader has).
fn text_pdf(ops: &str) -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] \
         /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
            .to_string(),
        format!("<< /Length {} >>\nstream\n{ops}\nendstream", ops.len() + 1),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_string(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for o in offsets {
        tail.push_str(&format!("{o:010} 00000 n \n"));
    }
    tail.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    pdf.extend_from_slice(tail.as_bytes());
    pdf
}

/// The card-number guard reads the text inside PDF attachments (here a
/// test PAN whose groups are separated by pen moves, not space glyphs, as
/// many PDF producers write them) and plain-text attachments, and names the
/// attachment in the refusal; a listed sender may still send it; a PDF
/// with ordinary numbers passes.
#[tokio::test]
async fn card_numbers_inside_attachments_are_found_and_named() {
    let card_pdf = text_pdf(
        "BT /F1 12 Tf 72 760 Td (Invoice 2026-0042) Tj 0 -20 Td \
         [(Card: 4111) -600 (1111) -600 (1111) -600 (1111)] TJ ET",
    );
    // What the guard reads from it.
    let untimed = faxbridge::docs::RenderOptions {
        render_timeout: None,
        ..Default::default()
    };
    let text = faxbridge::docs::pdf_text(&card_pdf, "invoice.pdf", &untimed).unwrap();
    assert!(
        text.contains("Invoice 2026-0042\nCard: 4111 1111 1111 1111"),
        "{text:?}"
    );

    let env = env().await;
    let to = ["01223123456@fax.example.ac.uk"];
    let with_pdf = |id: &str, pdf: &[u8]| {
        message(
            id,
            "Invoice",
            to[0],
            "Please see the invoice attached.",
            &[Att {
                content_type: "application/pdf",
                name: "invoice.pdf",
                data: pdf,
            }],
        )
    };
    let r = env
        .intake
        .accept(&relay(), received(&to, with_pdf("pan-pdf@x", &card_pdf)))
        .await
        .unwrap_err();
    assert_eq!((r.code, r.enhanced), (550, "5.7.1"), "{r:?}");
    assert!(r.reason.contains("invoice.pdf, "), "{}", r.reason);
    assert!(r.reason.contains("ending **** 1111"), "{}", r.reason);
    assert!(
        !r.to_string().contains("4111 1111"),
        "the number is repeated"
    );

    let card_txt = message(
        "pan-txt@x",
        "Booking",
        to[0],
        "Details attached.",
        &[Att {
            content_type: "text/plain",
            name: "booking.txt",
            data: b"Guest: J. Smith\nCard 4111-1111-1111-1111 exp 12/28\n",
        }],
    );
    let r = env
        .intake
        .accept(&relay(), received(&to, card_txt))
        .await
        .unwrap_err();
    assert_eq!((r.code, r.enhanced), (550, "5.7.1"), "{r:?}");
    assert!(r.reason.contains("booking.txt, "), "{}", r.reason);
    assert_eq!(job_count(&env.jobs).await, 0);

    // Ordinary numbers in a PDF are not card numbers.
    let plain = text_pdf(
        "BT /F1 12 Tf 72 760 Td (Order 1234 5678 9012, total 4111.11, tel 01223 123456) Tj ET",
    );
    env.intake
        .accept(&relay(), received(&to, with_pdf("plain-pdf@x", &plain)))
        .await
        .expect("a PDF without a card number is faxed");
    assert_eq!(job_count(&env.jobs).await, 1);

    // A sender approved to handle card data may fax it.
    let env = env_with(&format!(
        "\n[intake.pci]\nallowed_senders = [\"{SENDER}\"]\n"
    ))
    .await;
    env.intake
        .accept(&relay(), received(&to, with_pdf("pan-pdf@x", &card_pdf)))
        .await
        .expect("a listed sender passes the guard");
    assert_eq!(job_count(&env.jobs).await, 1);
}

/// A relay that does not check its senders vouches for their domain only:
/// the card-number exemption and a per-address allowance listed for
/// SENDER do not apply to its mail, while the same sender logged in with
/// an account that lists the address gets both.
#[tokio::test]
async fn a_relay_that_does_not_check_senders_gets_no_per_sender_privileges() {
    let env = env_edited(|text| {
        text.replace(
            "relay_checks_senders = true",
            "relay_checks_senders = false\nauth_users = [\"jane\"]",
        )
            + &format!(
                r#"
[intake.pci]
allowed_senders = ["{SENDER}"]

[intake.smtp]
allow_plain_auth = true

[[intake.smtp.accounts]]
username = "jane"
password_hash = "pbkdf2-sha256$100000$0a1b2c3d4e5f6071$37AAD17F6B9872311D002DAAE7EFFBB95A25CF9A8A2EB113D1C2B9C10E556F18"
addresses = ["{SENDER}"]
"#
            )
    })
    .await;
    let to = ["01223123456@fax.example.ac.uk"];
    let card = |id: &str| {
        message(
            id,
            "Booking",
            to[0],
            "Card 4111 1111 1111 1111 exp 12/28, thanks.",
            &[],
        )
    };
    let r = env
        .intake
        .accept(&relay(), received(&to, card("relay-pan@x")))
        .await
        .unwrap_err();
    assert_eq!((r.code, r.enhanced), (550, "5.7.1"), "{r:?}");
    assert!(
        r.reason
            .contains(&format!("{SENDER} may send card numbers, but only when")),
        "{}",
        r.reason
    );
    assert!(r.advice.contains("relay_checks_senders"), "{}", r.advice);
    assert_eq!(job_count(&env.jobs).await, 0);

    let jane = SessionInfo {
        peer: "198.51.100.7:40000".parse().unwrap(),
        authenticated: Some("jane".into()),
        ..relay()
    };
    env.intake
        .accept(&jane, received(&to, card("auth-pan@x")))
        .await
        .expect("the account vouches for the address: the exemption applies");
    assert_eq!(job_count(&env.jobs).await, 1);
    // The account speaks for its own address only.
    let r = env
        .intake
        .check_sender(&jane, "boss@example.ac.uk")
        .await
        .unwrap_err();
    assert_eq!((r.code, r.enhanced), (550, "5.7.1"));
    assert!(
        r.reason.contains("may not send as boss@example.ac.uk"),
        "{}",
        r.reason
    );

    // one-an-hour@ has a per-address allowance of one message an hour; from
    // the relay it counts by domain, so the default of 20 applies.
    let one = "one-an-hour@example.ac.uk";
    for id in ["q-1@x", "q-2@x"] {
        env.intake
            .accept(
                &relay(),
                ReceivedMessage {
                    mail_from: one.into(),
                    recipients: to.iter().map(|s| s.to_string()).collect(),
                    data: message(id, "Note", to[0], "Short note.", &[]),
                },
            )
            .await
            .unwrap();
    }
    env.intake.check_sender(&relay(), one).await.unwrap();
}
