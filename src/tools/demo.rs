//! `faxbridge demo`: the whole fax-to-email path on one machine, in a minute.
//!
//! The daemon starts on the embedded default configuration (SQLite store
//! and spool under `--dir`, SIP on 127.0.0.1, received faxes mailed to the
//! local Maildir `spool/maildir` because no relay is configured), then the
//! demo places a real fax call to it over loopback SIP and G.711 (or T.38)
//! with a sample page, waits for the email carrying the PDF to land in the
//! Maildir and says where it is. The daemon then keeps running, so the
//! newcomer can send their own documents with `faxbridge dial`, until
//! Ctrl-C; `--exit` stops it after the sample instead.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};

use super::dial::{DialMode, DialOptions, dial_one};
use crate::config::Config;
use crate::daemon::{Hooks, run_with};
use crate::docs::RenderOptions;
use crate::fax::FaxStatus;

/// How long the demo waits for the email after the call.
pub const MAIL_WAIT: Duration = Duration::from_secs(60);

/// Command-line arguments of `faxbridge demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Directory for the demo's spool, store and Maildir (created).
    #[arg(long, default_value = "faxbridge-demo")]
    pub dir: PathBuf,
    /// SIP address the daemon listens on.
    #[arg(long, default_value = "127.0.0.1:5060")]
    pub listen: SocketAddr,
    /// Send the sample over T.38 (offered in the first INVITE) instead of
    /// G.711 audio.
    #[arg(long)]
    pub t38: bool,
    /// Stop the daemon once the sample fax has been mailed.
    #[arg(long)]
    pub exit: bool,
}

/// The sample document: what faxbridge is, in a page of text.
const SAMPLE: &str = "\
faxbridge demo fax
==================

This page was rendered from text, sent as a real fax call (SIP, RTP or
T.38, and the T.30 protocol through SpanDSP) to the faxbridge daemon on
this machine, received, turned into a PDF with the fax pages embedded
unchanged, and mailed to the route's mailbox.

With no mail relay configured, mail goes to the Maildir under the spool:
open the newest file in spool/maildir/new with any mail reader, or look
at spool/mail/faxes/ for the PDF itself.

Next steps:
  faxbridge dial sip:100@127.0.0.1:5060 your-document.pdf
  faxbridge check-config config/faxbridge.example.toml
";

/// The embedded default configuration, with its spool under `dir` and SIP
/// on `listen`.
pub fn demo_config(dir: &Path, listen: SocketAddr) -> Config {
    let mut config = Config::embedded_default();
    config.general.spool_dir = dir.join("spool");
    config.sip.listen = listen;
    config
}

/// Newest message file in `maildir/new` written after `since`.
fn new_mail(maildir: &Path, since: std::time::SystemTime) -> Option<PathBuf> {
    std::fs::read_dir(maildir.join("new"))
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= since)
        })
        .map(|e| e.path())
        .max()
}

/// Run the demo; returns once the daemon stopped.
pub async fn run_demo(args: &DemoArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let dir = args
        .dir
        .canonicalize()
        .with_context(|| format!("using {}", args.dir.display()))?;
    let config = demo_config(&dir, args.listen);
    let maildir = config.general.spool_dir.join("maildir");
    let sample = dir.join("sample.txt");
    std::fs::write(&sample, SAMPLE).with_context(|| format!("writing {}", sample.display()))?;

    let (ready_tx, ready_rx) = oneshot::channel();
    let (stop_tx, stop_rx) = watch::channel(false);
    let daemon = tokio::spawn(run_with(
        config.clone(),
        None,
        Hooks {
            ready: Some(ready_tx),
            stop: Some(stop_rx),
        },
    ));
    let addr = match ready_rx.await {
        Ok(addr) => addr,
        Err(_) => {
            // The daemon ended before it was ready: its error says why
            // (most often the SIP port is taken by another daemon).
            return match daemon.await {
                Ok(Err(e)) => Err(e.context(format!(
                    "the demo daemon did not start (is something else listening on {}? try --listen 127.0.0.1:5070)",
                    args.listen
                ))),
                _ => Err(anyhow::anyhow!("the demo daemon stopped before it was ready")),
            };
        }
    };
    println!(
        "daemon ready: SIP on {addr}, spool {}",
        config.general.spool_dir.display()
    );

    let since = std::time::SystemTime::now();
    let target = format!("sip:100@{addr}");
    println!("sending {} to {target} …", sample.display());
    let report = dial_one(DialOptions {
        target: target.clone(),
        files: vec![sample.clone()],
        mode: if args.t38 {
            DialMode::T38
        } else {
            DialMode::G711
        },
        from_user: "demo".to_string(),
        account: None,
        render: RenderOptions::default(),
        call: config.media.call_config(&config.fax),
    })
    .await;
    let result = match report {
        Ok(report) => {
            println!("call finished: {report}");
            match &report.outcome.status {
                FaxStatus::Success => {
                    let start = Instant::now();
                    loop {
                        if let Some(mail) = new_mail(&maildir, since) {
                            println!("the fax arrived by email: {}", mail.display());
                            println!(
                                "(a MIME message with the PDF attached; the PDF alone is under {})",
                                config.general.spool_dir.join("mail/faxes").display()
                            );
                            break Ok(());
                        }
                        if start.elapsed() > MAIL_WAIT {
                            break Err(anyhow::anyhow!(
                                "no email in {} after {MAIL_WAIT:?}; see the daemon's log above",
                                maildir.join("new").display()
                            ));
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
                FaxStatus::Failed { reason, .. } => {
                    Err(anyhow::anyhow!("the sample fax failed: {reason}"))
                }
            }
        }
        Err(e) => Err(anyhow::anyhow!("the sample fax call failed: {e}")),
    };
    if args.exit || result.is_err() {
        let _ = stop_tx.send(true);
    } else {
        println!(
            "the daemon keeps running; send your own: faxbridge dial {target} FILE…  (Ctrl-C stops it)"
        );
    }
    daemon.await.context("the demo daemon panicked")??;
    result
}

/// Command-line edge of `faxbridge demo`.
pub fn run_cli(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(run_demo(&args))?;
    Ok(ExitCode::SUCCESS)
}
