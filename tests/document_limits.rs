//! Hostile PDFs mailed to the running daemon over SMTP (lettre, a real
//! client): each is refused with the limit it broke named in plain words,
//! while the daemon's memory stays bounded and nothing keeps running after
//! a document is given up.
//!
//! * an attachment of about a megabyte whose content stream inflates to
//!   more than a gigabyte: refused at `max_decompressed_stream_bytes`
//!   (64 MiB) while the daemon and its worker processes stay under 300 MB,
//!   one at a time or two at once;
//! * a content stream of hundreds of millions of drawing operators:
//!   refused at `max_operators_per_page`;
//! * a PDF slow enough to pass its render time limit, mailed twenty times
//!   in a row: each refused at the limit, the daemon's threads and memory
//!   where they were, no worker process left, and a normal mail right
//!   after is handled within 5 s.
//!
//! Memory is read from `/proc/PID/status` (VmHWM, VmRSS) of the daemon,
//! and sampled every few milliseconds over the daemon and its children
//! (the document workers), added up.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lettre::message::{Attachment, MultiPart, SinglePart, header::ContentType};
use lettre::{Message, SmtpTransport, Transport};

mod support;
use support::config::{DaemonConfig, assert_valid};
use support::procs::{Proc, start_daemon};

const MB: u64 = 1_000_000;

/// One daemon at a time: the memory and thread figures are the daemon's
/// own, and the timing of the normal mail must not depend on another
/// test's hostile documents.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

struct Daemon {
    proc: Proc,
    smtp_port: u16,
    _dir: tempfile::TempDir,
}

/// The daemon with an SMTP listener for trusted senders on loopback, a
/// trunk nobody answers (queued jobs just wait), and `documents` added to
/// its `[documents]` section.
fn start(documents: &str) -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    let config = DaemonConfig::new(dir.path())
        .trunk("sip:{number}@127.0.0.1:9")
        .set("documents", documents)
        .email_intake("fax.example.ac.uk", "example.ac.uk")
        .write();
    assert_valid(&config);
    let proc = start_daemon(&config);
    Daemon {
        smtp_port: proc.addr("smtp").port(),
        proc,
        _dir: dir,
    }
}

/// A field of `/proc/PID/status` in bytes (or a plain count).
fn status(pid: u32, key: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim_start_matches(':').split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(0, |v| if key.starts_with("Vm") { v * 1024 } else { v })
}

/// The processes whose parent is `pid`.
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
        // pid (comm) state ppid ...: the command may hold spaces.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

/// Resident memory of `pid` and its children, added up.
fn tree_rss(pid: u32) -> u64 {
    status(pid, "VmRSS")
        + children(pid)
            .into_iter()
            .map(|c| status(c, "VmRSS"))
            .sum::<u64>()
}

/// Samples [`tree_rss`] and the number of worker processes every 5 ms
/// until dropped; keeps the highest of each.
struct PeakSampler {
    peak: Arc<AtomicU64>,
    workers: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PeakSampler {
    fn start(pid: u32) -> PeakSampler {
        let peak = Arc::new(AtomicU64::new(0));
        let workers = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, w, s) = (peak.clone(), workers.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(tree_rss(pid), Ordering::Relaxed);
                w.fetch_max(children(pid).len() as u64, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        PeakSampler {
            peak,
            workers,
            stop,
            thread: Some(thread),
        }
    }

    /// The highest RSS of the daemon and its workers together, and the
    /// most workers seen alive at once.
    fn finish(mut self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        (
            self.peak.load(Ordering::Relaxed),
            self.workers.load(Ordering::Relaxed),
        )
    }
}

/// Serialise PDF object bodies (object i+1) with a cross-reference table.
fn pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A one-page A4 PDF whose page content is `stream` (with `filter`).
fn one_page_pdf(stream: &[u8], filter: &str) -> Vec<u8> {
    let mut content = format!("<< /Length {} {filter} >>\nstream\n", stream.len()).into_bytes();
    content.extend_from_slice(stream);
    content.extend_from_slice(b"\nendstream");
    pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>".to_vec(),
        content,
    ])
}

/// `unit` repeated `times` times, deflated a megabyte at a time: the
/// decompressed stream is never held, only its compressed form.
fn deflated(unit: &[u8], times: usize) -> Vec<u8> {
    let per_piece = ((1 << 20) / unit.len()).max(1);
    let piece = unit.repeat(per_piece);
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let mut left = times;
    while left > 0 {
        let n = left.min(per_piece);
        e.write_all(&piece[..n * unit.len()]).unwrap();
        left -= n;
    }
    e.finish().unwrap()
}

/// A PDF whose page content inflates to 1.1 GiB of zeros (white space).
fn inflate_bomb() -> Vec<u8> {
    let z = deflated(&[0u8; 1024], 1100 * 1024);
    assert!(z.len() < 4 << 20, "the bomb is {} bytes", z.len());
    one_page_pdf(&z, "/Filter /FlateDecode")
}

/// A PDF with one content stream of 200 million drawing operators
/// (`0 0 m 1 1 l h n`: a path built and dropped, 50 million times).
fn operator_flood() -> Vec<u8> {
    let z = deflated(b"0 0 m 1 1 l h n\n", 50_000_000);
    assert!(z.len() < 4 << 20, "the flood is {} bytes", z.len());
    one_page_pdf(&z, "/Filter /FlateDecode")
}

/// A PDF of `paths` page-sized curved shapes, each its own path of a few
/// bytes and each costing the rasteriser the whole page: well within the
/// size and operator limits, and slow to render.
fn slow_pdf(paths: usize) -> Vec<u8> {
    use std::fmt::Write as _;
    let mut content = String::new();
    for i in 0..paths {
        let g = (i % 7) as f32 / 10.0 + 0.2;
        let d = i % 40;
        let _ = writeln!(
            content,
            "{g} g {d} 0 m 595 {d} 0 842 595 842 c 300 {d} l h f"
        );
    }
    one_page_pdf(content.as_bytes(), "")
}

/// The two-page sample PDF of the document fixtures.
fn normal_pdf() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docs/sample.pdf");
    std::fs::read(path).unwrap()
}

/// Mail `pdf` as `name` to a fax number; the SMTP reply's text on refusal.
fn mail(port: u16, subject: &str, name: &str, pdf: Vec<u8>) -> Result<(), String> {
    let message = Message::builder()
        .from("Jane Smith <j.smith@example.ac.uk>".parse().unwrap())
        .to("01223654321@fax.example.ac.uk".parse().unwrap())
        .subject(subject)
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain("Please fax the attached.".to_string()))
                .singlepart(
                    Attachment::new(name.to_string())
                        .body(pdf, ContentType::parse("application/pdf").unwrap()),
                ),
        )
        .unwrap();
    SmtpTransport::builder_dangerous("127.0.0.1")
        .port(port)
        .timeout(Some(Duration::from_secs(120)))
        .build()
        .send(&message)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The refusal of a mailed document, which must be permanent (5xx) and
/// say `words`, and must not carry library error text.
fn assert_refused(result: Result<(), String>, words: &[&str]) -> String {
    let reply = result.expect_err("the message is refused");
    assert!(reply.contains("552") || reply.contains("554"), "{reply}");
    for w in words {
        assert!(reply.contains(w), "{w:?} not in {reply:?}");
    }
    for internal in ["panicked", "os error", "Error {", "called `", "(kind:"] {
        assert!(!reply.contains(internal), "internal text in {reply:?}");
    }
    reply
}

#[test]
fn an_inflate_bomb_is_refused_and_memory_stays_bounded_one_or_two_at_a_time() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // One document's worth of memory for all document work: a second
    // hostile document waits for the first instead of doubling the peak.
    let d = start("max_document_memory_bytes = 268435456\nmemory_budget_bytes = 268435456");
    let pid = d.proc.pid();
    let bomb = inflate_bomb();
    eprintln!("inflate bomb: {} bytes of PDF", bomb.len());
    let base = status(pid, "VmRSS");

    let sampler = PeakSampler::start(pid);
    let result = mail(d.smtp_port, "bomb", "bomb.pdf", bomb.clone());
    let (one, _) = sampler.finish();
    let hwm_one = status(pid, "VmHWM");
    eprintln!(
        "one bomb: daemon VmHWM {} MB, daemon + workers peak {} MB (base {} MB): {result:?}",
        hwm_one / MB,
        one / MB,
        base / MB
    );
    assert_refused(
        result,
        &[
            "bomb.pdf",
            "expands to more than 64 MiB",
            "one part of a document",
        ],
    );
    assert!(hwm_one < 300 * MB, "daemon VmHWM {hwm_one}");
    assert!(one < 300 * MB, "daemon + workers {one}");

    let sampler = PeakSampler::start(pid);
    let replies: Vec<Result<(), String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|i| {
                let bomb = bomb.clone();
                s.spawn(move || mail(d.smtp_port, &format!("bomb {i}"), "bomb.pdf", bomb))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let (two, workers) = sampler.finish();
    let hwm_two = status(pid, "VmHWM");
    eprintln!(
        "two bombs at once: daemon VmHWM {} MB, daemon + workers peak {} MB, at most {workers} worker(s) at once",
        hwm_two / MB,
        two / MB
    );
    for r in replies {
        assert_refused(r, &["expands to more than 64 MiB"]);
    }
    assert!(hwm_two < 300 * MB, "daemon VmHWM {hwm_two}");
    assert!(two < 300 * MB, "daemon + workers {two}");
    // Not double: what two at once add over the daemon at rest stays well
    // under twice what one adds.
    let (add_one, add_two) = (one.saturating_sub(base), two.saturating_sub(base));
    assert!(
        add_two < add_one * 3 / 2 + 16 * MB,
        "one added {add_one}, two at once {add_two}"
    );
    assert!(children(pid).is_empty(), "a worker is left");
}

#[test]
fn a_flood_of_drawing_operators_is_refused_naming_the_limit() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let d = start("");
    let pid = d.proc.pid();
    let flood = operator_flood();
    eprintln!("operator flood: {} bytes of PDF", flood.len());
    let sampler = PeakSampler::start(pid);
    let started = Instant::now();
    let result = mail(d.smtp_port, "flood", "drawing.pdf", flood);
    let (peak, _) = sampler.finish();
    let hwm = status(pid, "VmHWM");
    eprintln!(
        "after {:?}: daemon VmHWM {} MB, daemon + workers peak {} MB: {result:?}",
        started.elapsed(),
        hwm / MB,
        peak / MB
    );
    assert_refused(
        result,
        &[
            "page 1 of drawing.pdf",
            "more than 1000000 drawing operations",
            "the limit for one page",
        ],
    );
    assert!(hwm < 300 * MB, "daemon VmHWM {hwm}");
    assert!(peak < 300 * MB, "daemon + workers {peak}");
}

#[test]
fn a_slow_pdf_mailed_twenty_times_leaves_nothing_running() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let d = start("render_timeout_secs = 1");
    let pid = d.proc.pid();
    let slow = slow_pdf(3_000);
    let refused = |result| {
        assert_refused(result, &["slow.pdf", "took longer than 1 s to render"]);
    };
    eprintln!(
        "at start: threads {}, VmRSS {} MB",
        status(pid, "Threads"),
        status(pid, "VmRSS") / MB
    );
    // Once first, so the daemon's pools are as they will stay.
    refused(mail(d.smtp_port, "slow", "slow.pdf", slow.clone()));
    mail(d.smtp_port, "warm", "sample.pdf", normal_pdf()).expect("a normal mail is accepted");
    std::thread::sleep(Duration::from_millis(500));
    let threads = status(pid, "Threads");
    let rss = status(pid, "VmRSS");

    let started = Instant::now();
    let results: Vec<_> = (0..20)
        .map(|i| mail(d.smtp_port, &format!("slow {i}"), "slow.pdf", slow.clone()))
        .collect();
    let took = started.elapsed();
    let threads_after = status(pid, "Threads");
    let rss_after = status(pid, "VmRSS");
    let left = children(pid);
    eprintln!(
        "20 slow mails in {took:?}: threads {threads} -> {threads_after}, \
         VmRSS {} -> {} MB, workers left {}, load {}",
        rss / MB,
        rss_after / MB,
        left.len(),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    for r in results {
        refused(r);
    }
    assert!(left.is_empty(), "workers still running: {left:?}");
    // The tokio blocking pool may start a thread or two more.
    assert!(
        threads_after <= threads + 2,
        "threads {threads} -> {threads_after}"
    );
    assert!(
        rss_after < rss + 64 * MB,
        "VmRSS {} -> {} MB",
        rss / MB,
        rss_after / MB
    );

    let started = Instant::now();
    let result = mail(d.smtp_port, "normal", "sample.pdf", normal_pdf());
    let handled = started.elapsed();
    eprintln!("normal mail handled in {handled:?}: {result:?}");
    result.expect("a normal mail right after is accepted");
    assert!(handled < Duration::from_secs(5), "{handled:?}");
    assert!(
        d.proc
            .log_contains(&["fax queued from mail", "pages=3"], Duration::from_secs(5)),
        "the normal mail was queued with its cover page and two pages"
    );
}
