//! `faxbridge send`: queue documents as a fax for the daemon to send.
//!
//! The documents are rendered to one TIFF-F in `<spool>/outgoing/` (written,
//! fsynced and renamed into place before anything refers to it), then a job
//! is queued in the store under the configured spool. The command returns
//! once the job is committed and prints its id; the running daemon's worker
//! finds the job at its next look at the queue (within a second by default)
//! and calls through the `[outgoing]` trunk (or straight to the ATA port
//! when the number is one of `[[bridge.lines]]`), retrying as
//! `[queue.retry]` says. `faxbridge jobs` follows it.
//!
//! A single TIFF whose pages already are fax pages is stored as it is (not
//! re-rendered), so what the far end prints is exactly that file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tracing::info;

use crate::clock::now_ms;
use crate::config::Config;
use crate::docs::{self, DocError, RenderOptions};
use crate::queue::{JobStore, NewJob, QueueError};
use crate::store::StoreError;

/// Why a queue command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum QueueToolError {
    /// `[outgoing] uri` is not set and the number is not one of our own
    /// ATA ports (`[[bridge.lines]]`), so no daemon could send the job.
    #[error(
        "no trunk configured: set [outgoing] uri = \"sip:{{number}}@TRUNK\" \
         in the configuration file (see config/faxbridge.example.toml); without it \
         only the numbers of [[bridge.lines]] ports can be sent to"
    )]
    NotConfigured,
    /// The documents could not be rendered.
    #[error("cannot prepare the fax document: {0}")]
    Docs(#[from] DocError),
    /// The spool could not be prepared.
    #[error("cannot use the spool: {0:#}")]
    Spool(anyhow::Error),
    /// The database could not be opened.
    #[error("cannot open the job store: {0}")]
    Store(#[from] StoreError),
    /// The queue refused the operation.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// A fax to queue.
#[derive(Debug, Clone)]
pub struct SendRequest {
    /// The number to dial.
    pub to: String,
    /// Documents, in order.
    pub files: Vec<PathBuf>,
    /// Who asked, for `faxbridge jobs`.
    pub submitter: String,
    /// Worker processes for PDFs (`None`: render in this process).
    pub workers: Option<std::sync::Arc<crate::docs::render::Workers>>,
}

/// The queued job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// The job's id.
    pub id: String,
    /// Pages in the document.
    pub pages: u32,
    /// The document in the spool.
    pub document: PathBuf,
}

/// Open the job store of `config`'s spool.
pub async fn open_jobs(config: &Config) -> Result<JobStore, QueueToolError> {
    crate::daemon::prepare_spool(&config.general.spool_dir).map_err(QueueToolError::Spool)?;
    let store = config.store.open(&config.general.spool_dir).await?;
    Ok(JobStore::new(store, config.queue.clone()))
}

/// A fresh idempotency key: one per `faxbridge send` invocation, so the
/// same documents sent twice on purpose make two jobs.
fn fresh_key() -> String {
    format!("send-{:011x}-{:016x}", now_ms(), rand::random::<u64>())
}

/// Pages of a single TIFF that already is a fax document, else `None`.
fn fax_tiff_pages(files: &[PathBuf]) -> Option<Vec<docs::Page>> {
    let [only] = files else { return None };
    let pages = docs::tiff::read_tiff(only).ok()?;
    (!pages.is_empty()
        && pages
            .iter()
            .all(|p| matches!(p.width, 1728 | 2048 | 2432) && p.resolution().is_some()))
    .then_some(pages)
}

/// Write the document to send at `output` (durably) and count its pages.
fn store_document(
    files: &[PathBuf],
    output: &Path,
    render: &RenderOptions,
) -> Result<u32, QueueToolError> {
    if let Some(pages) = fax_tiff_pages(files) {
        docs::tiff::write_tiff(output, &pages, docs::tiff::Compression::Group4)?;
        return Ok(pages.len() as u32);
    }
    let report = docs::convert_to_fax(files, output, render)?;
    Ok(report.pages as u32)
}

/// Render the documents into the spool and queue the job.
pub async fn send(config: &Config, req: &SendRequest) -> Result<Queued, QueueToolError> {
    // A port of our own ATAs is dialled directly, not through the trunk;
    // without a trunk nothing else can be reached.
    let route = config
        .send_routes()
        .sendable(&req.to)
        .map_err(|_| QueueToolError::NotConfigured)?;
    let jobs = open_jobs(config).await?;
    let spool = std::path::absolute(&config.general.spool_dir)
        .map_err(|e| QueueToolError::Spool(e.into()))?;
    let key = fresh_key();
    let document = spool.join("outgoing").join(format!("{key}.tif"));
    let render = RenderOptions {
        workers: req.workers.clone(),
        ..config.documents.render_options(config.documents.resolution)
    };
    let pages = store_document(&req.files, &document, &render)?;
    let job = NewJob {
        idempotency_key: key,
        destination: req.to.clone(),
        route,
        document: document.to_string_lossy().into_owned(),
        pages_total: pages,
        submitter: req.submitter.clone(),
        report_to: None,
        subject: String::new(),
        not_before: None,
    };
    let queued = match jobs.enqueue(&job, now_ms()).await {
        Ok(q) => q,
        Err(e) => {
            let _ = std::fs::remove_file(&document);
            return Err(e.into());
        }
    };
    info!(job = %queued.id, pages, to = %req.to, "fax queued");
    jobs.store().close().await;
    Ok(Queued {
        id: queued.id,
        pages,
        document,
    })
}

/// Command-line arguments of `faxbridge send`.
#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// The fax number to send to. The number of one of our own ATA ports
    /// (`[[bridge.lines]]`) is dialled straight at the port, not through
    /// the trunk.
    #[arg(long)]
    pub to: String,
    /// Documents to send: PDF, PNG, JPEG, GIF, TIFF or text.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Who is sending (shown by `faxbridge jobs`); default: the login name.
    #[arg(long = "from")]
    pub from: Option<String>,
    /// Configuration file (TOML): spool, `[outgoing]` trunk, `[bridge]`
    /// lines, `[documents]` limits (pages, size, render_timeout_secs).
    #[arg(short, long)]
    pub config: Option<PathBuf>,
}

/// `faxbridge send` with a loaded configuration: print the job id.
pub fn run_cli(args: SendArgs, config: &Config) -> Result<ExitCode, QueueToolError> {
    let submitter = args
        .from
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "local".to_string());
    // PDFs from the command line are rendered in worker processes, like
    // the daemon's: held to [documents]' memory and time limits.
    let workers =
        crate::docs::render::worker::this_program().map(|exe| config.documents.workers(exe));
    let req = SendRequest {
        to: args.to,
        files: args.files,
        submitter,
        workers,
    };
    let runtime = tokio::runtime::Runtime::new().map_err(QueueToolError::Runtime)?;
    let queued = runtime.block_on(send(config, &req))?;
    println!("{}", queued.id);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::{Page, Resolution};

    #[test]
    fn keys_are_fresh() {
        assert_ne!(fresh_key(), fresh_key());
    }

    #[test]
    fn fax_tiffs_are_kept_others_rendered() {
        let dir = tempfile::tempdir().unwrap();
        let tiff = dir.path().join("doc.tif");
        let mut page = Page::blank(1728, 50, Resolution::Standard);
        page.set(3, 3, true);
        docs::tiff::write_tiff(&tiff, &[page.clone(), page.clone()], Default::default()).unwrap();
        let out = dir.path().join("out.tif");
        let n =
            store_document(std::slice::from_ref(&tiff), &out, &RenderOptions::default()).unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            docs::tiff::read_tiff(&out).unwrap(),
            vec![page.clone(), page]
        );
        let text = dir.path().join("note.txt");
        std::fs::write(&text, "Hello\n").unwrap();
        let n = store_document(&[text], &out, &RenderOptions::default()).unwrap();
        assert_eq!(n, 1);
        assert_eq!(docs::tiff::read_tiff(&out).unwrap()[0].width, 1728);
    }

    #[tokio::test]
    async fn refuses_without_a_trunk() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.general.spool_dir = dir.path().join("spool");
        let req = SendRequest {
            to: "100".into(),
            files: vec![],
            submitter: "t".into(),
            workers: None,
        };
        assert!(matches!(
            send(&config, &req).await,
            Err(QueueToolError::NotConfigured)
        ));
    }
}
