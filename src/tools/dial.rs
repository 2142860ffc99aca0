//! `faxbridge dial`: send documents as a fax over a SIP call.
//!
//! The documents are rendered to a TIFF-F with [`crate::docs::convert_to_fax`]
//! unless a single fax TIFF is given, which is sent as it is. The call
//! starts on G.711 by default and accepts the far end's switch to T.38;
//! `--t38` offers T.38 beside G.711 in the INVITE (the answerer picks),
//! `--g711` refuses T.38 altogether, and `--t38-reinvite` switches to T.38
//! ourselves once the call is up. A `sips:` target, or one with
//! `;transport=tls`, is called over TLS; `--tls-ca` names the PEM trust
//! anchors that verify the far end's certificate.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use tracing::info;

use super::{ToolError, local_ip_towards, open_sip_config};
use crate::docs::{self, RenderOptions, Resolution};
use crate::fax::{FaxJob, FaxSettings};
use crate::media::fax_call::{FaxCallConfig, FaxCallReport, MediaSockets, place_call};
use crate::sdp::{Codec, OfferKind};
use crate::sip::SipEndpoint;
use crate::sip::acl::Account;

/// How the call uses T.38.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DialMode {
    /// Start on G.711; accept the far end's re-INVITE to T.38.
    #[default]
    Default,
    /// G.711 only; re-INVITEs to T.38 are refused with 488.
    G711,
    /// Offer T.38 (and G.711 as a fallback) in the initial INVITE.
    T38,
    /// Start on G.711 and re-INVITE to T.38 ourselves.
    T38Reinvite,
}

/// What `dial` does.
#[derive(Debug, Clone)]
pub struct DialOptions {
    /// SIP URI to call, e.g. `sip:2000@192.0.2.1:5060`.
    pub target: String,
    /// Documents to send, in order.
    pub files: Vec<PathBuf>,
    /// T.38 behaviour.
    pub mode: DialMode,
    /// User part of our From (the sending fax number).
    pub from_user: String,
    /// Digest credentials if the far end challenges.
    pub account: Option<Account>,
    /// How documents are rendered when they need converting.
    pub render: RenderOptions,
    /// Media behaviour (the T.38 fields are set from `mode`).
    pub call: FaxCallConfig,
}

impl DialOptions {
    /// The media configuration with `mode` applied.
    pub fn call_config(&self) -> FaxCallConfig {
        let mut c = self.call.clone();
        c.t38 = self.mode != DialMode::G711;
        c.prefer_t38 = self.mode == DialMode::T38;
        c.initial_offer = if self.mode == DialMode::T38 {
            OfferKind::AudioAndT38
        } else {
            OfferKind::Audio
        };
        c.t38_reinvite = self.mode == DialMode::T38Reinvite;
        c
    }
}

/// The document ready to send, removed afterwards when it was rendered.
struct Document {
    path: PathBuf,
    temporary: bool,
}

impl Drop for Document {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A single TIFF whose pages already are fax pages (1728/2048/2432 pixels
/// wide at a fax resolution) is sent as it is.
fn is_fax_tiff(path: &Path) -> bool {
    let Ok(pages) = docs::tiff::read_tiff(path) else {
        return false;
    };
    !pages.is_empty()
        && pages
            .iter()
            .all(|p| matches!(p.width, 1728 | 2048 | 2432) && p.resolution().is_some())
}

fn prepare_document(files: &[PathBuf], render: &RenderOptions) -> Result<Document, ToolError> {
    if let [only] = files
        && is_fax_tiff(only)
    {
        return Ok(Document {
            path: only.clone(),
            temporary: false,
        });
    }
    let path = std::env::temp_dir().join(format!(
        "faxbridge-dial-{}-{:08x}.tif",
        std::process::id(),
        rand::random::<u32>()
    ));
    let doc = Document {
        path,
        temporary: true,
    };
    let report = docs::convert_to_fax(files, &doc.path, render)?;
    info!(pages = report.pages, "document rendered for sending");
    Ok(doc)
}

/// The host of a SIP URI: `sip:user@host:port;params` → `host`.
fn uri_host(uri: &str) -> Option<&str> {
    let rest = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))?;
    let rest = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let rest = rest.split([';', '?', '>']).next()?;
    if let Some(v6) = rest.strip_prefix('[') {
        return v6.split(']').next();
    }
    rest.split(':').next().filter(|h| !h.is_empty())
}

async fn target_ip(target: &str) -> Result<IpAddr, ToolError> {
    let host = uri_host(target).ok_or_else(|| ToolError::Target(target.to_string()))?;
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ip);
    }
    tokio::net::lookup_host((host, 5060))
        .await
        .ok()
        .and_then(|mut a| a.next())
        .map(|a| a.ip())
        .ok_or_else(|| ToolError::Target(target.to_string()))
}

/// Our SIP endpoint for placing calls from `ip`; `tls_ca` (PEM) verifies
/// the far end of `sips:` and `;transport=tls` calls (`None`: the system
/// trust bundle).
async fn start_endpoint(
    ip: IpAddr,
    tls_ca: Option<PathBuf>,
) -> Result<
    (
        SipEndpoint,
        tokio::sync::mpsc::Receiver<crate::sip::IncomingCall>,
    ),
    ToolError,
> {
    let mut config = open_sip_config(SocketAddr::new(ip, 0));
    config.tls_ca = tls_ca;
    Ok(SipEndpoint::start(&config).await?)
}

/// Render the documents, call, send, hang up.
pub async fn dial_one(opts: DialOptions) -> Result<FaxCallReport, ToolError> {
    dial_one_verifying(opts, None).await
}

/// [`dial_one`], verifying the far end of a `sips:` or `;transport=tls`
/// call against the PEM trust anchors in `tls_ca` (`None`: the system
/// trust bundle). A far end whose certificate does not chain to them is
/// refused before any SIP is sent.
pub async fn dial_one_verifying(
    opts: DialOptions,
    tls_ca: Option<PathBuf>,
) -> Result<FaxCallReport, ToolError> {
    let ip = local_ip_towards(target_ip(&opts.target).await?);
    let doc = prepare_document(&opts.files, &opts.render)?;
    let (endpoint, _calls) = start_endpoint(ip, tls_ca).await?;
    let result = async {
        let sockets = MediaSockets::bind(ip).await?;
        place_call(
            &endpoint,
            &opts.target,
            &opts.from_user,
            opts.account.clone(),
            FaxJob::Send(doc.path.clone()),
            sockets,
            &opts.call_config(),
        )
        .await
    }
    .await;
    endpoint.shutdown().await;
    drop(doc);
    Ok(result?)
}

/// What a load run ([`dial_load`]) saw.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct LoadReport {
    /// Calls placed.
    pub calls: u32,
    /// Calls whose fax succeeded with every page confirmed.
    pub succeeded: u32,
    /// Failures grouped by reason (T.30 result or call error), with counts.
    pub failures: std::collections::BTreeMap<String, u32>,
    /// Wall time of each successful call (answer to hang-up), sorted.
    pub call_times: Vec<Duration>,
    /// Most calls in progress at once.
    pub peak_concurrent: u32,
    /// When each successful call ended (after the BYE), by the From user
    /// it was placed with.
    pub ended: Vec<(String, std::time::SystemTime)>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
}

impl LoadReport {
    /// The `q` quantile (0.0–1.0) of the successful calls' durations.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        if self.call_times.is_empty() {
            return None;
        }
        let i = ((self.call_times.len() as f64 - 1.0) * q.clamp(0.0, 1.0)).round() as usize;
        Some(self.call_times[i])
    }
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} calls, {} succeeded, {} failed; at most {} at once; {:.1} s in all",
            self.calls,
            self.succeeded,
            self.calls - self.succeeded,
            self.peak_concurrent,
            self.elapsed.as_secs_f64()
        )?;
        if let (Some(p50), Some(p99)) = (self.quantile(0.5), self.quantile(0.99)) {
            write!(
                f,
                "; call time p50 {:.1} s, p99 {:.1} s",
                p50.as_secs_f64(),
                p99.as_secs_f64()
            )?;
        }
        for (reason, n) in &self.failures {
            write!(f, "\n  {n} × {reason}")?;
        }
        Ok(())
    }
}

/// Load mode: `calls` fax calls to the same target from one SIP endpoint,
/// at most `concurrency` at once, starting one every `spacing` (an INVITE
/// storm would measure the far end's SIP parser, not its fax capacity).
/// The document is rendered once. Call `i` (from 0) is placed From
/// `<from_user><i as 5 digits>`, so the far end's records tell the calls
/// apart.
pub async fn dial_load(
    opts: DialOptions,
    calls: u32,
    concurrency: u32,
    spacing: Duration,
) -> Result<LoadReport, ToolError> {
    dial_load_verifying(opts, calls, concurrency, spacing, None).await
}

/// [`dial_load`] with the trust anchors of [`dial_one_verifying`].
pub async fn dial_load_verifying(
    opts: DialOptions,
    calls: u32,
    concurrency: u32,
    spacing: Duration,
    tls_ca: Option<PathBuf>,
) -> Result<LoadReport, ToolError> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    let ip = local_ip_towards(target_ip(&opts.target).await?);
    let doc = prepare_document(&opts.files, &opts.render)?;
    let (endpoint, _calls) = start_endpoint(ip, tls_ca).await?;
    let endpoint = Arc::new(endpoint);
    let slots = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1) as usize));
    let active = Arc::new(AtomicU32::new(0));
    let peak = Arc::new(AtomicU32::new(0));
    let call_config = opts.call_config();
    let start = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut next_start = tokio::time::Instant::now();
    for i in 0..calls {
        let permit = slots.clone().acquire_owned().await.expect("semaphore open");
        tokio::time::sleep_until(next_start).await;
        next_start += spacing;
        let endpoint = endpoint.clone();
        let (active, peak) = (active.clone(), peak.clone());
        let (target, from, account) = (
            opts.target.clone(),
            format!("{}{i:05}", opts.from_user),
            opts.account.clone(),
        );
        let (path, call_config) = (doc.path.clone(), call_config.clone());
        tasks.spawn(async move {
            let now = active.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let result = async {
                let sockets = MediaSockets::bind(ip).await?;
                place_call(
                    &endpoint,
                    &target,
                    &from,
                    account,
                    FaxJob::Send(path),
                    sockets,
                    &call_config,
                )
                .await
            }
            .await;
            active.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
            result.map(|r| (from, std::time::SystemTime::now(), r))
        });
    }
    let mut report = LoadReport {
        calls,
        ..LoadReport::default()
    };
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok((from, ended, r))) if r.outcome.is_success() => {
                report.succeeded += 1;
                report.call_times.push(r.elapsed);
                report.ended.push((from, ended));
            }
            Ok(Ok((_, _, r))) => {
                let reason = match &r.outcome.status {
                    crate::fax::FaxStatus::Failed { reason, .. } => reason.clone(),
                    crate::fax::FaxStatus::Success => "pages missing".to_string(),
                };
                *report.failures.entry(reason).or_default() += 1;
            }
            Ok(Err(e)) => *report.failures.entry(e.to_string()).or_default() += 1,
            Err(e) => {
                *report
                    .failures
                    .entry(format!("call task failed: {e}"))
                    .or_default() += 1
            }
        }
    }
    report.call_times.sort();
    report.peak_concurrent = peak.load(Ordering::SeqCst);
    report.elapsed = start.elapsed();
    endpoint.shutdown().await;
    drop(doc);
    Ok(report)
}

/// Command-line arguments of `faxbridge dial`.
#[derive(Debug, clap::Args)]
pub struct DialArgs {
    /// SIP URI to call, e.g. sip:2000@192.0.2.1:5060 (;transport=tcp for TCP).
    pub target: String,
    /// Documents to send: PDF, PNG, JPEG, GIF, TIFF or text.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Offer T.38 in the initial INVITE (G.711 as fallback).
    #[arg(long, group = "t38_mode")]
    pub t38: bool,
    /// G.711 only: refuse re-INVITEs to T.38.
    #[arg(long, group = "t38_mode")]
    pub g711: bool,
    /// Start on G.711 and re-INVITE to T.38 once the call is up.
    #[arg(long, group = "t38_mode")]
    pub t38_reinvite: bool,
    /// User part of our From URI (the sending fax number).
    #[arg(long = "from", default_value = "faxbridge")]
    pub from_user: String,
    /// Offer only this G.711 codec (default: PCMA, then PCMU).
    #[arg(long, value_enum)]
    pub codec: Option<CodecArg>,
    /// Render documents at standard resolution (204x98) instead of fine.
    #[arg(long)]
    pub standard: bool,
    /// UDPTL redundancy depth (earlier IFPs repeated in each datagram).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(0..=15))]
    pub redundancy: u8,
    /// End the call after this many seconds without fax progress.
    #[arg(long, default_value_t = 60)]
    pub watchdog: u64,
    /// Our fax identity (TSI): digits, spaces and '+'.
    #[arg(long, default_value = "")]
    pub ident: String,
    /// Load mode: place this many calls (the same document each time) and
    /// print a summary; status 0 only when every one succeeded.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub calls: u32,
    /// Load mode: at most this many calls at once (default: all of them).
    #[arg(long)]
    pub concurrency: Option<u32>,
    /// Load mode: milliseconds between two call starts. The default, 23, is not
    /// a multiple of the 20 ms packet clock, so the calls' clocks spread over
    /// the period as when calls arrive at random; a multiple of 20 makes
    /// every call tick in the same millisecond (the worst case).
    #[arg(long, default_value_t = 23)]
    pub spacing_ms: u64,
    /// PEM trust anchors for a `sips:` or `;transport=tls` target (default:
    /// the system bundle /etc/ssl/certs/ca-certificates.crt).
    #[arg(long, value_name = "PEM")]
    pub tls_ca: Option<PathBuf>,
    /// Send each G.711 packet up to this many milliseconds before or after
    /// its 20 ms slot (at random), as a network with jitter delivers them
    /// (at most 9, so packets are never reordered).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=9))]
    pub jitter_ms: u64,
    /// Load mode: also write the summary as JSON to this file (what
    /// `faxbridge bench channels` reads).
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
}

/// A G.711 law on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CodecArg {
    /// A-law.
    Pcma,
    /// μ-law.
    Pcmu,
}

impl DialArgs {
    /// The options these arguments describe.
    pub fn options(&self) -> DialOptions {
        let mode = if self.t38 {
            DialMode::T38
        } else if self.g711 {
            DialMode::G711
        } else if self.t38_reinvite {
            DialMode::T38Reinvite
        } else {
            DialMode::Default
        };
        DialOptions {
            target: self.target.clone(),
            files: self.files.clone(),
            mode,
            from_user: self.from_user.clone(),
            account: None,
            render: RenderOptions {
                resolution: if self.standard {
                    Resolution::Standard
                } else {
                    Resolution::Fine
                },
                ..RenderOptions::default()
            },
            call: FaxCallConfig {
                fax: FaxSettings {
                    ident: self.ident.clone(),
                    ..FaxSettings::default()
                },
                codecs: match self.codec {
                    Some(CodecArg::Pcma) => vec![Codec::Pcma],
                    Some(CodecArg::Pcmu) => vec![Codec::Pcmu],
                    None => vec![Codec::Pcma, Codec::Pcmu],
                },
                redundancy: self.redundancy,
                watchdog: Duration::from_secs(self.watchdog.max(1)),
                send_jitter: Duration::from_millis(self.jitter_ms),
                ..FaxCallConfig::default()
            },
        }
    }
}

/// `faxbridge dial`: print the T.30 result; status 0 only on success.
pub fn run_cli(args: DialArgs) -> Result<ExitCode, ToolError> {
    let opts = args.options();
    opts.call
        .fax
        .validate()
        .map_err(|e| ToolError::Call(crate::media::fax_call::FaxCallError::Fax(e)))?;
    let runtime = tokio::runtime::Runtime::new().map_err(ToolError::Runtime)?;
    if args.calls > 1 || args.report_json.is_some() {
        let report = runtime.block_on(dial_load_verifying(
            opts,
            args.calls,
            args.concurrency.unwrap_or(args.calls),
            Duration::from_millis(args.spacing_ms),
            args.tls_ca.clone(),
        ))?;
        println!("{report}");
        if let Some(path) = &args.report_json {
            let io = |source| ToolError::Io {
                path: path.clone(),
                source,
            };
            let json = serde_json::to_vec(&report).map_err(|e| io(std::io::Error::other(e)))?;
            std::fs::write(path, json).map_err(io)?;
        }
        return Ok(if report.succeeded == report.calls {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let report = runtime.block_on(dial_one_verifying(opts, args.tls_ca.clone()))?;
    println!("{report}");
    Ok(if report.outcome.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_sip_uris() {
        assert_eq!(uri_host("sip:2000@127.0.0.1:5060"), Some("127.0.0.1"));
        assert_eq!(
            uri_host("sip:2000@fax.example;transport=tcp"),
            Some("fax.example")
        );
        assert_eq!(uri_host("sip:[::1]:5080"), Some("::1"));
        assert_eq!(uri_host("sips:host"), Some("host"));
        assert_eq!(uri_host("tel:+441"), None);
        assert_eq!(uri_host("sip:2000@"), None);
    }

    #[test]
    fn modes_set_the_media_configuration() {
        let mut o = DialOptions {
            target: "sip:1@127.0.0.1".into(),
            files: vec![],
            mode: DialMode::G711,
            from_user: "f".into(),
            account: None,
            render: RenderOptions::default(),
            call: FaxCallConfig::default(),
        };
        let c = o.call_config();
        assert!(!c.t38 && !c.t38_reinvite && c.initial_offer == OfferKind::Audio);
        o.mode = DialMode::T38;
        let c = o.call_config();
        assert!(c.t38 && c.prefer_t38 && c.initial_offer == OfferKind::AudioAndT38);
        o.mode = DialMode::T38Reinvite;
        let c = o.call_config();
        assert!(c.t38 && c.t38_reinvite && c.initial_offer == OfferKind::Audio);
        o.mode = DialMode::Default;
        let c = o.call_config();
        assert!(c.t38 && !c.t38_reinvite && !c.prefer_t38);
    }
}
