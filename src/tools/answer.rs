//! `faxbridge answer`: receive faxes over SIP into a directory.
//!
//! A SIP endpoint on `--listen` accepts calls to any number from any
//! address, answers with G.711 (or, with `--t38`, takes T.38 from the
//! initial INVITE or a re-INVITE), and writes each fax to
//! `DIR/<Call-ID>.tif`. With `--once` the tool exits after the first call,
//! with status 0 only if the fax was received completely.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::info;

use super::{ToolError, local_ip_towards, open_sip_config};
use crate::fax::{FaxJob, FaxSettings};
use crate::media::fax_call::{FaxCallConfig, FaxCallReport, MediaSockets, answer_call};
use crate::sip::{IncomingCall, SipEndpoint};

/// What `answer` does.
#[derive(Debug, Clone)]
pub struct AnswerOptions {
    /// SIP listen address (UDP and TCP). Port 0 picks a free port.
    pub listen: SocketAddr,
    /// Directory for received faxes (created if missing).
    pub out_dir: PathBuf,
    /// Media behaviour: T.38 acceptance and preference, our own re-INVITE,
    /// redundancy, watchdog, fax settings.
    pub call: FaxCallConfig,
}

/// A running answering endpoint.
pub struct Answerer {
    endpoint: SipEndpoint,
    calls: mpsc::Receiver<IncomingCall>,
    opts: AnswerOptions,
}

/// A file name for a Call-ID: letters, digits and `.-_@` kept, anything
/// else (path separators included) replaced by `_`, at most 120 bytes.
fn file_stem(call_id: &str) -> String {
    let mut s: String = call_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@') {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    if s.is_empty() || s.starts_with('.') {
        s.insert(0, '_');
    }
    s
}

async fn receive(
    call: IncomingCall,
    out_dir: &Path,
    listen: SocketAddr,
    cfg: &FaxCallConfig,
) -> Result<FaxCallReport, ToolError> {
    let path = out_dir.join(format!("{}.tif", file_stem(&call.call_id)));
    let ip = if listen.ip().is_unspecified() {
        local_ip_towards(call.summary.remote_media.unwrap_or(call.source).ip())
    } else {
        listen.ip()
    };
    let sockets = MediaSockets::bind(ip).await?;
    info!(call_id = %call.call_id, file = %path.display(), "receiving");
    Ok(answer_call(call, FaxJob::Receive(path), sockets, cfg).await?)
}

impl Answerer {
    /// Start the endpoint; calls are answered by [`Answerer::answer_next`].
    pub async fn start(opts: AnswerOptions) -> Result<Answerer, ToolError> {
        std::fs::create_dir_all(&opts.out_dir).map_err(|source| ToolError::Io {
            path: opts.out_dir.clone(),
            source,
        })?;
        let (endpoint, calls) = SipEndpoint::start(&open_sip_config(opts.listen)).await?;
        Ok(Answerer {
            endpoint,
            calls,
            opts,
        })
    }

    /// The bound SIP address (UDP; TCP listens on the same port when it
    /// was free).
    pub fn sip_addr(&self) -> Option<SocketAddr> {
        self.endpoint.udp_addr()
    }

    /// Wait for the next call and receive the fax it carries.
    pub async fn answer_next(&mut self) -> Result<FaxCallReport, ToolError> {
        let call = self.calls.recv().await.ok_or(ToolError::NoCall)?;
        receive(call, &self.opts.out_dir, self.opts.listen, &self.opts.call).await
    }

    /// Answer calls as they come, several at a time, handing each result
    /// to `report`; returns when the endpoint stops.
    pub async fn serve<F>(mut self, report: F)
    where
        F: Fn(Result<FaxCallReport, ToolError>) + Send + Sync + 'static,
    {
        let report = Arc::new(report);
        let opts = Arc::new(self.opts.clone());
        while let Some(call) = self.calls.recv().await {
            let (report, opts) = (report.clone(), opts.clone());
            tokio::spawn(async move {
                report(receive(call, &opts.out_dir, opts.listen, &opts.call).await);
            });
        }
    }

    /// End calls in progress and stop listening.
    pub async fn shutdown(self) {
        self.endpoint.shutdown().await;
    }
}

/// Start an endpoint, receive one fax, stop.
pub async fn answer_one(opts: AnswerOptions) -> Result<FaxCallReport, ToolError> {
    let mut answerer = Answerer::start(opts).await?;
    let result = answerer.answer_next().await;
    answerer.shutdown().await;
    result
}

/// Command-line arguments of `faxbridge answer`.
#[derive(Debug, clap::Args)]
pub struct AnswerArgs {
    /// SIP address to listen on (UDP and TCP).
    #[arg(long, default_value = "0.0.0.0:5060")]
    pub listen: SocketAddr,
    /// Directory for received faxes, one `<Call-ID>.tif` per call.
    #[arg(long = "out")]
    pub out: PathBuf,
    /// Accept T.38: take it from the initial INVITE when offered, and
    /// accept re-INVITEs to T.38.
    #[arg(long)]
    pub t38: bool,
    /// Re-INVITE to T.38 ourselves as soon as a G.711 call is up (implies
    /// --t38).
    #[arg(long)]
    pub t38_reinvite: bool,
    /// Exit after the first call, with status 0 only if the fax was received.
    #[arg(long)]
    pub once: bool,
    /// UDPTL redundancy depth (earlier IFPs repeated in each datagram).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(0..=15))]
    pub redundancy: u8,
    /// End a call after this many seconds without fax progress.
    #[arg(long, default_value_t = 60)]
    pub watchdog: u64,
    /// Our fax identity (CSI): digits, spaces and '+'.
    #[arg(long, default_value = "")]
    pub ident: String,
}

impl AnswerArgs {
    /// The options these arguments describe.
    pub fn options(&self) -> AnswerOptions {
        let t38 = self.t38 || self.t38_reinvite;
        AnswerOptions {
            listen: self.listen,
            out_dir: self.out.clone(),
            call: FaxCallConfig {
                fax: FaxSettings {
                    ident: self.ident.clone(),
                    ..FaxSettings::default()
                },
                t38,
                prefer_t38: t38,
                t38_reinvite: self.t38_reinvite,
                redundancy: self.redundancy,
                watchdog: Duration::from_secs(self.watchdog.max(1)),
                ..FaxCallConfig::default()
            },
        }
    }
}

/// `faxbridge answer`: print where we listen, then one line per call.
pub fn run_cli(args: AnswerArgs) -> Result<ExitCode, ToolError> {
    let opts = args.options();
    opts.call
        .fax
        .validate()
        .map_err(|e| ToolError::Call(crate::media::fax_call::FaxCallError::Fax(e)))?;
    let runtime = tokio::runtime::Runtime::new().map_err(ToolError::Runtime)?;
    runtime.block_on(async move {
        let mut answerer = Answerer::start(opts).await?;
        if let Some(addr) = answerer.sip_addr() {
            println!("listening on sip:{addr}");
        }
        if args.once {
            let result = answerer.answer_next().await;
            answerer.shutdown().await;
            let report = result?;
            println!("{report}");
            return Ok(if report.outcome.is_success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        tokio::select! {
            _ = answerer.serve(|r| match r {
                Ok(report) => println!("{report}"),
                Err(e) => println!("call failed: {e}"),
            }) => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok(ExitCode::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_ids_become_safe_file_names() {
        assert_eq!(file_stem("abc-1@127.0.0.1"), "abc-1@127.0.0.1");
        assert_eq!(file_stem("../../etc/passwd"), "_.._.._etc_passwd");
        assert_eq!(file_stem(""), "_");
        assert_eq!(file_stem(".hidden"), "_.hidden");
        assert_eq!(file_stem(&"x".repeat(500)).len(), 120);
    }
}
