//! `faxbridge bench intake`: how fast email becomes queued fax jobs.
//!
//! The SMTP listener and the intake pipeline run in this process over a
//! store in a temporary spool, exactly as in the daemon (the sending worker
//! is not started: jobs stay queued). Clients send `--messages` messages
//! over SMTP to 127.0.0.1, `--clients` at a time, each a short text body
//! with a PDF attachment of 1, 2 or 3 pages (in turn) to one fax number,
//! cover page on. Each message's latency is the time from the start of the
//! SMTP transaction to the server's 250 after the final dot — the 250 is
//! sent only once the job is committed, so it is intake-to-queued-job.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::Config;
use crate::docs::{Page, Paper, RenderOptions, Resolution};
use crate::intake::Intake;
use crate::queue::JobStore;
use crate::smtp::SmtpListener;
use crate::store::Store;

/// Command-line arguments of `faxbridge bench intake`.
#[derive(Debug, Clone, clap::Args)]
pub struct IntakeArgs {
    /// Messages to send.
    #[arg(long, default_value_t = 60)]
    pub messages: u32,
    /// SMTP clients sending at once.
    #[arg(long, default_value_t = 4)]
    pub clients: u32,
}

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct IntakeBenchError(String);

fn err(what: &str) -> impl FnOnce(String) -> IntakeBenchError + '_ {
    move |e| IntakeBenchError(format!("{what}: {e}"))
}

/// A PDF of `pages` pages of typed text (rendered, then embedded as fax
/// images: what a scanner-to-PDF or a print-to-PDF of a letter gives).
fn pdf(pages: u32) -> Result<Vec<u8>, IntakeBenchError> {
    let dir = std::env::temp_dir().join(format!("faxbridge-bench-intake-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| err("work directory")(e.to_string()))?;
    let text = dir.join(format!("letter-{pages}.txt"));
    let mut body = String::new();
    for p in 1..=pages {
        if p > 1 {
            body.push('\x0c');
        }
        for line in 0..40 {
            body.push_str(&format!(
                "Page {p}, line {line:>2}: the quick brown fox jumps over the lazy dog 0123456789\n"
            ));
        }
    }
    std::fs::write(&text, body).map_err(|e| err("writing text")(e.to_string()))?;
    let tiff = dir.join(format!("letter-{pages}.tif"));
    crate::docs::convert_to_fax(
        std::slice::from_ref(&text),
        &tiff,
        &RenderOptions {
            resolution: Resolution::Fine,
            paper: Paper::A4,
            ..RenderOptions::default()
        },
    )
    .map_err(|e| err("rendering")(e.to_string()))?;
    let rendered: Vec<Page> =
        crate::docs::tiff::read_tiff(&tiff).map_err(|e| err("reading")(e.to_string()))?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(crate::docs::pdf::pages_to_pdf_bytes(&rendered))
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct IntakeReport {
    /// Messages accepted (250 after DATA).
    pub accepted: u32,
    /// Messages refused or failed, with the first error.
    pub failed: u32,
    /// First failure, if any.
    pub first_error: Option<String>,
    /// Intake-to-queued latency per accepted message, sorted.
    pub latency: Vec<Duration>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Jobs found queued in the store afterwards.
    pub jobs: usize,
    /// Clients at once.
    pub clients: u32,
}

impl std::fmt::Display for IntakeReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let q = |p: f64| {
            let n = self.latency.len();
            if n == 0 {
                return 0;
            }
            self.latency[((n as f64 - 1.0) * p).round() as usize].as_millis()
        };
        writeln!(
            f,
            "{} messages accepted ({} failed) by {} clients in {:.1} s: {:.2} messages/s; {} jobs queued",
            self.accepted,
            self.failed,
            self.clients,
            self.elapsed.as_secs_f64(),
            f64::from(self.accepted) / self.elapsed.as_secs_f64(),
            self.jobs
        )?;
        writeln!(
            f,
            "  intake to queued job: p50 {} ms, p99 {} ms, max {} ms",
            q(0.5),
            q(0.99),
            self.latency.last().map_or(0, Duration::as_millis)
        )?;
        if let Some(e) = &self.first_error {
            writeln!(f, "  first failure: {e}")?;
        }
        Ok(())
    }
}

/// Run the benchmark once.
pub async fn run_intake(args: &IntakeArgs) -> Result<IntakeReport, IntakeBenchError> {
    crate::mail::install_crypto_provider();
    let spool: PathBuf = std::env::temp_dir().join(format!(
        "faxbridge-bench-intake-spool-{}",
        std::process::id()
    ));
    let _cleanup = super::WorkDir(spool.clone());
    let text = format!(
        "[general]\nspool_dir = \"{}\"\n[outgoing]\nuri = \"sip:{{number}}@192.0.2.1\"\n\
         [intake]\nfax_domains = [\"fax.example.ac.uk\"]\n\
         [intake.senders]\ntrusted_relays = [\"127.0.0.0/8\"]\nallowed = [\"example.ac.uk\"]\n\
         [intake.quota]\nmessages_per_hour = 0\npages_per_day = 0\n\
         [intake.smtp]\nlisten = \"127.0.0.1:0\"\n",
        spool.display()
    );
    let config = Config::parse(&text).map_err(err("configuration"))?;
    config
        .validate()
        .map_err(|p| IntakeBenchError(format!("configuration: {p:?}")))?;
    crate::daemon::prepare_spool(&spool).map_err(|e| err("spool")(e.to_string()))?;
    let store = Store::open_in_spool(&spool)
        .await
        .map_err(|e| err("store")(e.to_string()))?;
    let jobs = JobStore::new(store.clone(), config.queue.clone());
    // As in the daemon: PDF attachments in worker processes.
    let workers =
        crate::docs::render::worker::this_program().map(|exe| config.documents.workers(exe));
    let intake = Intake::with_workers(config.intake_settings(), jobs, None, workers);
    let listener = SmtpListener::bind(&config.intake.smtp)
        .await
        .map_err(|e| err("SMTP listener")(e.to_string()))?;
    let addr = listener
        .local_addr()
        .map_err(|e| err("SMTP listener")(e.to_string()))?;
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(listener.run(Arc::new(intake), async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    }));

    let pdfs = Arc::new([pdf(1)?, pdf(2)?, pdf(3)?]);
    let next = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let start = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..args.clients.max(1) {
        let (pdfs, next) = (pdfs.clone(), next.clone());
        let total = args.messages;
        clients.spawn(async move {
            let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
                .port(addr.port())
                .timeout(Some(Duration::from_secs(120)))
                .build();
            let mut results = Vec::new();
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if n >= total {
                    break;
                }
                let pages = (n % 3) as usize;
                let message = lettre::Message::builder()
                    .from("Jane Smith <jane.smith@example.ac.uk>".parse().unwrap())
                    .to(format!("0122376{n:04}@fax.example.ac.uk").parse().unwrap())
                    .subject(format!("Order {n}"))
                    .message_id(Some(format!("<bench-{n}@example.ac.uk>")))
                    .multipart(
                        MultiPart::mixed()
                            .singlepart(SinglePart::plain(
                                "Please see the attached order.".to_string(),
                            ))
                            .singlepart(Attachment::new(format!("order-{n}.pdf")).body(
                                pdfs[pages].clone(),
                                ContentType::parse("application/pdf").unwrap(),
                            )),
                    )
                    .expect("a valid message");
                let t = Instant::now();
                let r = transport.send(message).await;
                results.push(r.map(|_| t.elapsed()).map_err(|e| e.to_string()));
            }
            results
        });
    }
    let mut report = IntakeReport {
        accepted: 0,
        failed: 0,
        first_error: None,
        latency: Vec::new(),
        elapsed: Duration::ZERO,
        jobs: 0,
        clients: args.clients.max(1),
    };
    while let Some(done) = clients.join_next().await {
        for r in done.map_err(|e| err("client")(e.to_string()))? {
            match r {
                Ok(l) => {
                    report.accepted += 1;
                    report.latency.push(l);
                }
                Err(e) => {
                    report.failed += 1;
                    report.first_error.get_or_insert(e);
                }
            }
        }
    }
    report.elapsed = start.elapsed();
    report.latency.sort();
    let _ = stop_tx.send(true);
    let _ = server.await;
    report.jobs = sqlx::query("SELECT id FROM fax_job")
        .fetch_all(store.pool())
        .await
        .map(|r| r.len())
        .unwrap_or(0);
    store.close().await;
    Ok(report)
}

/// Entry point of `faxbridge bench intake`.
pub fn run_cli(args: &IntakeArgs) -> Result<(), IntakeBenchError> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| err("runtime")(e.to_string()))?;
    let report = runtime.block_on(run_intake(args))?;
    print!("{report}");
    Ok(())
}
