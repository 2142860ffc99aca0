//! `faxbridge bench bridge`: how many bridged G.711 calls the analogue
//! bridge carries at once, with the call classifier listening to each.
//!
//! The benchmark starts the real daemon (this binary, `faxbridge run`) as a
//! child process with a configuration of its own: ATA units of 24 FXS
//! ports (Mediatrix 3624-sized) on loopback addresses `127.0.1.x`, every
//! port a `phone` with a number in `[[bridge.lines]]`, and a trunk on
//! `127.0.2.1`. In this process one SIP endpoint per unit plays the ATA and
//! one endpoint plays the trunk, which answers every call. `--calls` calls
//! are placed, one per port, from the port side through the bridge to the
//! trunk; both legs then send real RTP (PCMA, 160 octets every 20 ms,
//! synthetic speech: voiced and unvoiced segments through vowel formants,
//! with pauses) for `--seconds`, after which the port hangs up.
//!
//! The load side is kept cheap: one tokio task per leg, the speech encoded
//! once and shared, so that the daemon is what is measured. While the calls
//! run the daemon's CPU time and resident memory are sampled from `/proc`.
//!
//! Reported, per run:
//! - calls set up, completed and failed; call set-up time p50/p99/max;
//! - daemon CPU in the steady window (every call up, none ended yet): ms
//!   per call-second and % of one core, beside the classifier's own cost
//!   per call-second measured in this process on the same audio (both
//!   directions decoded from G.711 and fed, as the relay does);
//! - daemon RSS at rest and at peak, and the increase per call;
//! - RTP packets sent by each side and received by the other (loss);
//! - the classifier's labels, read from the daemon's PCI-DSS call history.
//!
//! The load side runs in this process on the same two cores, so the
//! figures are a lower bound of what the daemon alone would sustain.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::Row;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::bridge::media::party_media;
use crate::fax::G711Law;
use crate::media::classifier::{CallClassifier, Direction, Label};
use crate::media::rtp::RtpSender;
use crate::sip::{ActiveCall, CallEvent, DialRequest, IncomingCall, SipConfig, SipEndpoint};
use crate::store::Store;

/// Samples (and RTP payload octets) per 20 ms packet at 8 kHz.
const BLOCK: usize = 160;
/// RTP packet interval.
const PTIME: Duration = Duration::from_millis(20);
/// FXS ports per simulated ATA unit (a Mediatrix 3624 has 24).
const PORTS_PER_UNIT: u32 = 24;
/// Seconds of speech generated per direction; calls loop over it.
const SPEECH_SECS: f64 = 12.0;
/// Longest wait for one call's set-up or teardown.
const SIGNALLING_WAIT: Duration = Duration::from_secs(30);
/// The trunk number every port dials.
const DIALLED: &str = "01632960300";

/// Command-line arguments of `faxbridge bench bridge`.
#[derive(Debug, Clone, clap::Args)]
pub struct BridgeArgs {
    /// Concurrent bridged calls to place (one per ATA port).
    #[arg(long, default_value_t = 100)]
    pub calls: u32,
    /// Seconds of two-way audio per call before the port hangs up.
    #[arg(long, default_value_t = 30)]
    pub seconds: u32,
    /// Milliseconds between two call starts.
    #[arg(long, default_value_t = 10)]
    pub spacing_ms: u64,
    /// Directory for the daemon's spool (default: a temporary one, removed).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
}

/// Why the benchmark could not run.
pub type BridgeBenchError = super::LoadBenchError;

use super::io;

/// One sample of the daemon's resource use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Seconds since the benchmark's clock started.
    pub at: f64,
    /// Daemon CPU time (user + system) so far, seconds.
    pub cpu: f64,
    /// Daemon resident memory, KiB.
    pub rss_kib: u64,
}

/// CPU seconds the daemon spent between `from` and `to` (seconds on the
/// benchmark's clock), interpolating linearly between samples; `None` when
/// the samples do not cover the interval.
pub fn cpu_between(samples: &[Sample], from: f64, to: f64) -> Option<f64> {
    let at = |t: f64| -> Option<f64> {
        let i = samples.iter().position(|s| s.at >= t)?;
        let b = samples[i];
        if b.at == t || i == 0 {
            return (b.at == t).then_some(b.cpu);
        }
        let a = samples[i - 1];
        Some(a.cpu + (b.cpu - a.cpu) * (t - a.at) / (b.at - a.at))
    };
    (to > from).then_some(())?;
    Some(at(to)? - at(from)?)
}

/// The `q` quantile (0..=1, nearest rank) of sorted durations.
pub fn quantile(sorted: &[Duration], q: f64) -> Option<Duration> {
    let n = sorted.len();
    (n > 0).then(|| sorted[((n as f64 - 1.0) * q.clamp(0.0, 1.0)).round() as usize])
}

/// Everything one run measured.
#[derive(Debug, Clone, Default)]
pub struct BridgeReport {
    /// Calls placed.
    pub calls: u32,
    /// Seconds of audio per call.
    pub seconds: u32,
    /// Calls answered end to end (port got 200 OK through the bridge).
    pub set_up: u32,
    /// Calls that carried audio for the whole time and hung up cleanly.
    pub completed: u32,
    /// Calls that failed, with the reason, grouped.
    pub failures: Vec<(String, u32)>,
    /// Set-up times (INVITE to 200 OK at the port), sorted.
    pub setup_times: Vec<Duration>,
    /// Length of the steady window (every call up, none ended), seconds.
    pub steady_secs: f64,
    /// Calls up during the steady window.
    pub steady_calls: u32,
    /// Daemon CPU seconds during the steady window.
    pub steady_cpu: f64,
    /// Daemon CPU seconds over the whole run (set-up to last BYE).
    pub total_cpu: f64,
    /// Sum of all calls' audio time, seconds.
    pub call_seconds: f64,
    /// Classifier alone, ms of CPU per call-second (both directions).
    pub classifier_ms_per_call_second: f64,
    /// Daemon RSS before the calls, KiB.
    pub rss_idle_kib: u64,
    /// Daemon RSS at its highest during the calls, KiB.
    pub rss_peak_kib: u64,
    /// RTP packets sent by the ports / received by the trunk.
    pub up_sent: u64,
    /// See `up_sent`.
    pub up_received: u64,
    /// RTP packets sent by the trunk / received by the ports.
    pub down_sent: u64,
    /// See `down_sent`.
    pub down_received: u64,
    /// Calls per classifier label in the daemon's call history.
    pub labels: Vec<(String, u32)>,
    /// Load average (1 min) when the calls started.
    pub load_average: String,
}

impl BridgeReport {
    /// Daemon CPU per call-second in the steady window, ms.
    pub fn ms_per_call_second(&self) -> f64 {
        let cs = self.steady_secs * f64::from(self.steady_calls);
        if cs <= 0.0 {
            return 0.0;
        }
        self.steady_cpu * 1000.0 / cs
    }

    /// Daemon CPU in the steady window as % of one core.
    pub fn core_percent(&self) -> f64 {
        if self.steady_secs <= 0.0 {
            return 0.0;
        }
        self.steady_cpu * 100.0 / self.steady_secs
    }

    /// RSS increase at peak per call, KiB.
    pub fn rss_per_call_kib(&self) -> f64 {
        if self.calls == 0 {
            return 0.0;
        }
        self.rss_peak_kib.saturating_sub(self.rss_idle_kib) as f64 / f64::from(self.calls)
    }

    /// Fraction of packets lost, both directions together.
    pub fn loss(&self) -> f64 {
        let sent = self.up_sent + self.down_sent;
        if sent == 0 {
            return 0.0;
        }
        1.0 - (self.up_received + self.down_received) as f64 / sent as f64
    }

    /// How many cores the daemon would need for `calls` at the steady cost.
    pub fn cores_for(&self, calls: u32) -> f64 {
        self.ms_per_call_second() * f64::from(calls) / 1000.0
    }

    /// One row of the BENCHMARKS.md table.
    pub fn table_row(&self) -> String {
        let ms = |d: Option<Duration>| d.map_or("-".into(), |d| d.as_millis().to_string());
        let labels = self
            .labels
            .iter()
            .map(|(l, n)| format!("{n} {l}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "| {} | {} | {}/{}/{} | {}/{}/{} | {:.3} | {:.0} % | {:.3} | {:.0} | {:.3} % | {} | {} |",
            self.calls,
            self.load_average,
            self.set_up,
            self.completed,
            self.calls - self.completed,
            ms(quantile(&self.setup_times, 0.5)),
            ms(quantile(&self.setup_times, 0.99)),
            ms(self.setup_times.last().copied()),
            self.ms_per_call_second(),
            self.core_percent(),
            self.classifier_ms_per_call_second,
            self.rss_per_call_kib(),
            self.loss() * 100.0,
            if labels.is_empty() {
                "none".into()
            } else {
                labels
            },
            self.seconds,
        )
    }
}

impl std::fmt::Display for BridgeReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Option<Duration>| d.map_or(0, |d| d.as_millis());
        writeln!(
            f,
            "{} calls × {} s (load average {}): {} set up, {} completed, {} failed",
            self.calls,
            self.seconds,
            self.load_average,
            self.set_up,
            self.completed,
            self.calls - self.completed
        )?;
        for (why, n) in &self.failures {
            writeln!(f, "  failed ×{n}: {why}")?;
        }
        writeln!(
            f,
            "  set-up time p50 {} ms, p99 {} ms, max {} ms",
            ms(quantile(&self.setup_times, 0.5)),
            ms(quantile(&self.setup_times, 0.99)),
            ms(self.setup_times.last().copied())
        )?;
        writeln!(
            f,
            "  steady window {:.1} s with {} calls up: daemon CPU {:.2} s = {:.3} ms per call-second, \
             {:.0} % of one core; classifier alone {:.3} ms per call-second",
            self.steady_secs,
            self.steady_calls,
            self.steady_cpu,
            self.ms_per_call_second(),
            self.core_percent(),
            self.classifier_ms_per_call_second
        )?;
        writeln!(
            f,
            "  whole run: daemon CPU {:.2} s over {:.0} call-seconds",
            self.total_cpu, self.call_seconds
        )?;
        writeln!(
            f,
            "  daemon RSS idle {:.1} MiB, peak {:.1} MiB: {:.0} KiB per call",
            self.rss_idle_kib as f64 / 1024.0,
            self.rss_peak_kib as f64 / 1024.0,
            self.rss_per_call_kib()
        )?;
        writeln!(
            f,
            "  RTP port→trunk {}/{} received, trunk→port {}/{} received: loss {:.3} %",
            self.up_received,
            self.up_sent,
            self.down_received,
            self.down_sent,
            self.loss() * 100.0
        )?;
        let labels = self
            .labels
            .iter()
            .map(|(l, n)| format!("{l} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        writeln!(
            f,
            "  classifier labels: {}",
            if labels.is_empty() { "none" } else { &labels }
        )?;
        writeln!(f, "  table row: {}", self.table_row())
    }
}

pub use crate::media::synth::speech;

/// Speech encoded as PCMA payloads of 160 octets.
fn pcma_frames(samples: &[i16]) -> Vec<[u8; BLOCK]> {
    samples
        .chunks_exact(BLOCK)
        .map(|b| {
            let mut f = [0u8; BLOCK];
            G711Law::ALaw.encode_into(b, &mut f);
            f
        })
        .collect()
}

/// The classifier's CPU cost per call-second: `secs` seconds of each
/// direction decoded from PCMA and fed, as the relay does, timed on this
/// thread. Returns ms per call-second.
pub fn classifier_cost(
    up: &[[u8; BLOCK]],
    down: &[[u8; BLOCK]],
    secs: u32,
) -> Result<f64, BridgeBenchError> {
    let blocks = secs as usize * 50;
    let mut c = CallClassifier::new()
        .map_err(|e| BridgeBenchError::Other(format!("starting the classifier: {e}")))?;
    let mut pcm = [0i16; BLOCK];
    let start = thread_cpu();
    for i in 0..blocks {
        G711Law::ALaw.decode_into(&up[i % up.len()], &mut pcm);
        c.feed(Direction::CallerToCallee, &pcm);
        G711Law::ALaw.decode_into(&down[i % down.len()], &mut pcm);
        c.feed(Direction::CalleeToCaller, &pcm);
    }
    let label = c.classification().label;
    let spent = thread_cpu().saturating_sub(start);
    if label != Label::Voice {
        return Err(BridgeBenchError::Other(format!(
            "the classifier labelled the benchmark's speech {label}, not voice"
        )));
    }
    Ok(spent.as_secs_f64() * 1000.0 / f64::from(secs.max(1)))
}

/// CPU time of the calling thread, from `/proc/thread-self/stat` (clock
/// ticks) — coarse, so the classifier is timed over many seconds of audio.
fn thread_cpu() -> Duration {
    proc_cpu("/proc/thread-self/stat").unwrap_or_default()
}

fn proc_cpu(path: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name (which may contain spaces) start after
    // the last ')'; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / clock_ticks() as f64,
    ))
}

/// Resident memory of a process in KiB, from `/proc/PID/status`.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Clock ticks per second for `/proc` CPU times (`getconf CLK_TCK`).
fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100)
    })
}

/// The daemon child, killed if the benchmark stops early.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Address of simulated ATA unit `u` (0-based).
fn unit_ip(u: u32) -> String {
    format!("127.0.1.{}", u + 1)
}

/// SIP user of port `p` (1-based) on unit `u`.
fn sip_user(u: u32, p: u32) -> String {
    format!("3{:02}{:02}", u + 1, p)
}

const TRUNK_IP: &str = "127.0.2.1";

/// The daemon's configuration for `units` units of [`PORTS_PER_UNIT`]
/// phone ports, each with a line number.
fn daemon_config(spool: &std::path::Path, port: u16, trunk_port: u16, units: u32) -> String {
    let mut c = format!(
        "[general]\nspool_dir = \"{}\"\nlog = \"warn\"\n\n\
         [sip]\nlisten = \"127.0.0.1:{port}\"\n\
         [[sip.peers]]\nname = \"ata\"\naddresses = [\"127.0.1.0/24\"]\n\
         [[sip.peers]]\nname = \"trunk\"\naddresses = [\"{TRUNK_IP}/32\"]\n\n\
         [outgoing]\nuri = \"sip:{{number}}@{TRUNK_IP}:{trunk_port}\"\n\n\
         [ata.monitor]\ninterval_secs = 3600\n\n\
         [[ata.buildings]]\nname = \"Bench\"\nsubnets = [\"127.0.1.0/24\"]\n\
         emergency_cli = \"+441632960999\"\n",
        spool.display()
    );
    for u in 0..units {
        c.push_str(&format!(
            "\n[[ata.units]]\nname = \"ata-{u}\"\naddress = \"{}\"\n\
             model = \"Mediatrix 3624\"\nbuilding = \"Bench\"\n",
            unit_ip(u)
        ));
        for p in 1..=PORTS_PER_UNIT {
            c.push_str(&format!(
                "[[ata.ports]]\nunit = \"ata-{u}\"\nnumber = {p}\nsip_user = \"{}\"\n\
                 role = \"phone\"\nowner = \"Bench\"\n\
                 [[bridge.lines]]\nunit = \"ata-{u}\"\nport = {p}\nnumber = \"+4416329{:02}{:03}\"\n",
                sip_user(u, p),
                u + 10,
                p
            ));
        }
    }
    c
}

async fn endpoint(
    listen: &str,
) -> Result<(SipEndpoint, mpsc::Receiver<IncomingCall>), BridgeBenchError> {
    let text = format!(
        "listen = \"{listen}\"\ntransports = [\"udp\"]\n\
         [[peers]]\nname = \"lo\"\naddresses = [\"127.0.0.0/8\"]\n\
         [routing]\ndefault_route = \"in\"\n"
    );
    let cfg: SipConfig = toml::from_str(&text)
        .map_err(|e| BridgeBenchError::Other(format!("load endpoint configuration: {e}")))?;
    SipEndpoint::start(&cfg)
        .await
        .map_err(|e| BridgeBenchError::Other(format!("starting the SIP endpoint on {listen}: {e}")))
}

fn audio_sdp(addr: SocketAddr) -> Vec<u8> {
    format!(
        "v=0\r\no=- 77 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n",
        ip = addr.ip(),
        port = addr.port()
    )
    .into_bytes()
}

fn media_of(sdp: &[u8]) -> Option<SocketAddr> {
    let sd = crate::sdp::parse(std::str::from_utf8(sdp).ok()?).ok()?;
    party_media(&sd).ok()?.rtp
}

/// Counters shared by all legs.
#[derive(Default)]
struct Counters {
    up_sent: AtomicU64,
    up_received: AtomicU64,
    down_sent: AtomicU64,
    down_received: AtomicU64,
}

/// What the port side of one call saw.
struct CallOutcome {
    setup: Option<Duration>,
    /// Audio start and end at the port, seconds on the benchmark clock.
    media: Option<(f64, f64)>,
    failure: Option<String>,
}

/// One RTP leg: sends `frames` to `to` from `sock` every 20 ms for
/// `send_for`, and counts what arrives, until `until` resolves; packets
/// are counted into (sent, received).
async fn run_leg<F: std::future::Future<Output = ()>>(
    sock: &UdpSocket,
    to: SocketAddr,
    frames: &[[u8; BLOCK]],
    ssrc: u32,
    send_for: Duration,
    (sent, received): (&AtomicU64, &AtomicU64),
    until: F,
) {
    let mut tx = RtpSender::new(ssrc, 1, 0, 8);
    let mut tick = tokio::time::interval(PTIME);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let start = Instant::now();
    let mut buf = [0u8; 512];
    let mut i = (ssrc as usize) % frames.len();
    let mut sending = true;
    tokio::pin!(until);
    loop {
        tokio::select! {
            _ = &mut until => break,
            r = sock.recv_from(&mut buf) => {
                if r.is_ok() {
                    received.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ = tick.tick(), if sending => {
                if start.elapsed() >= send_for {
                    sending = false;
                    continue;
                }
                let pkt = tx.audio_frame(&frames[i % frames.len()]);
                i += 1;
                if sock.send_to(&pkt, to).await.is_ok() {
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

/// The trunk: answers every call and sends speech back until BYE.
async fn trunk(
    mut calls: mpsc::Receiver<IncomingCall>,
    frames: Arc<Vec<[u8; BLOCK]>>,
    counters: Arc<Counters>,
    send_for: Duration,
) {
    let mut n = 0u32;
    while let Some(incoming) = calls.recv().await {
        n += 1;
        let frames = frames.clone();
        let counters = counters.clone();
        tokio::spawn(async move {
            let Some(relay) = media_of(&incoming.offer) else {
                incoming.reject(488);
                return;
            };
            let Ok(sock) = UdpSocket::bind((TRUNK_IP, 0)).await else {
                incoming.reject(503);
                return;
            };
            let Ok(local) = sock.local_addr() else {
                incoming.reject(503);
                return;
            };
            let Ok(call) = incoming.accept(audio_sdp(local)) else {
                return;
            };
            let mut call = call;
            let ended = async move {
                loop {
                    match call.next_event().await {
                        Some(CallEvent::Ended(_)) | None => break,
                        Some(_) => {}
                    }
                }
            };
            run_leg(
                &sock,
                relay,
                &frames,
                0x7700_0000 + n,
                send_for,
                (&counters.down_sent, &counters.down_received),
                ended,
            )
            .await;
        });
    }
}

/// One call from port `index`: dial through the bridge, send speech for
/// `send_for`, drain, hang up.
#[allow(clippy::too_many_arguments)]
async fn port_call(
    ata: Arc<SipEndpoint>,
    index: u32,
    faxbridge: SocketAddr,
    frames: Arc<Vec<[u8; BLOCK]>>,
    counters: Arc<Counters>,
    send_for: Duration,
    clock: Instant,
    failed_early: Arc<AtomicBool>,
) -> CallOutcome {
    let fail = |why: String| CallOutcome {
        setup: None,
        media: None,
        failure: Some(why),
    };
    let unit = index / PORTS_PER_UNIT;
    let port = index % PORTS_PER_UNIT + 1;
    let sock = match UdpSocket::bind((unit_ip(unit), 0)).await {
        Ok(s) => s,
        Err(e) => return fail(format!("binding a media socket: {e}")),
    };
    let Ok(local) = sock.local_addr() else {
        return fail("media socket has no address".into());
    };
    let started = Instant::now();
    let dialing = match ata
        .dial(DialRequest {
            target: format!("sip:{DIALLED}@{faxbridge}"),
            from_user: sip_user(unit, port),
            offer: audio_sdp(local),
            account: None,
        })
        .await
    {
        Ok(d) => d,
        Err(e) => return fail(format!("INVITE not sent: {e}")),
    };
    let call: ActiveCall = match tokio::time::timeout(SIGNALLING_WAIT, dialing.outcome()).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return fail(format!("call refused: {e}")),
        Err(_) => return fail("no answer within 30 s".into()),
    };
    let setup = started.elapsed();
    let Some(relay) = media_of(&call.remote_sdp) else {
        let _ = call.handle.hangup().await;
        return fail("the bridge's answer has no audio address".into());
    };
    let handle = call.handle.clone();
    let mut call = call;
    let media_start = clock.elapsed().as_secs_f64();
    let ended_early = Arc::new(AtomicBool::new(false));
    // Send for `send_for`, keep receiving 400 ms more (the trunk's last
    // packets in flight), then hang up; or stop if the call ends first.
    let until = {
        let ended_early = ended_early.clone();
        async move {
            let timer = tokio::time::sleep(send_for + Duration::from_millis(400));
            let ended = async {
                loop {
                    match call.next_event().await {
                        Some(CallEvent::Ended(_)) | None => break,
                        Some(_) => {}
                    }
                }
            };
            tokio::select! {
                _ = timer => {}
                _ = ended => ended_early.store(true, Ordering::Relaxed),
            }
        }
    };
    run_leg(
        &sock,
        relay,
        &frames,
        0x5500_0000 + index,
        send_for,
        (&counters.up_sent, &counters.up_received),
        until,
    )
    .await;
    let media_end = clock.elapsed().as_secs_f64();
    if ended_early.load(Ordering::Relaxed) {
        failed_early.store(true, Ordering::Relaxed);
        return CallOutcome {
            setup: Some(setup),
            media: Some((media_start, media_end)),
            failure: Some("the call ended before the port hung up".into()),
        };
    }
    let failure = match tokio::time::timeout(SIGNALLING_WAIT, handle.hangup()).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!("BYE failed: {e}")),
        Err(_) => Some("BYE not answered within 30 s".into()),
    };
    CallOutcome {
        setup: Some(setup),
        media: Some((media_start, media_end)),
        failure,
    }
}

/// Run the benchmark once.
pub async fn run_bridge(args: &BridgeArgs) -> Result<BridgeReport, BridgeBenchError> {
    if args.calls == 0 || args.seconds == 0 {
        return Err(BridgeBenchError::Other(
            "--calls and --seconds must be at least 1".into(),
        ));
    }
    if args.calls > 250 * PORTS_PER_UNIT {
        return Err(BridgeBenchError::Other(format!(
            "--calls is at most {} (250 ATA units on 127.0.1.x)",
            250 * PORTS_PER_UNIT
        )));
    }
    let mut _cleanup = None;
    let dir = match &args.work_dir {
        Some(d) => d.clone(),
        None => {
            let d =
                std::env::temp_dir().join(format!("faxbridge-bench-bridge-{}", std::process::id()));
            _cleanup = Some(super::WorkDir(d.clone()));
            d
        }
    };
    std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;

    // The audio, and the classifier's own cost on it, in this run.
    let up = Arc::new(pcma_frames(&speech(SPEECH_SECS, 3, 3000.0)));
    let down = Arc::new(pcma_frames(&speech(SPEECH_SECS, 53, 2100.0)));
    let classifier_ms = tokio::task::spawn_blocking({
        let (up, down) = (up.clone(), down.clone());
        move || classifier_cost(&up, &down, 300)
    })
    .await
    .map_err(|e| BridgeBenchError::Other(format!("classifier measurement: {e}")))??;

    // Daemon and load side.
    let units = args.calls.div_ceil(PORTS_PER_UNIT);
    let free = |ip: &str| -> Result<u16, BridgeBenchError> {
        let s = std::net::UdpSocket::bind((ip, 0)).map_err(io("finding a free port"))?;
        Ok(s.local_addr().map_err(io("finding a free port"))?.port())
    };
    let port = free("127.0.0.1")?;
    let trunk_port = free(TRUNK_IP)?;
    let (_trunk_ep, trunk_calls) = endpoint(&format!("{TRUNK_IP}:{trunk_port}")).await?;
    let spool = dir.join("spool");
    let config = dir.join("faxbridge.toml");
    std::fs::write(&config, daemon_config(&spool, port, trunk_port, units))
        .map_err(io("writing the daemon configuration"))?;
    let exe = std::env::current_exe().map_err(io("finding the faxbridge binary"))?;
    let child = Command::new(exe)
        .args(["run", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(io("starting the daemon"))?;
    let daemon = Daemon(child);
    let pid = daemon.0.id();
    let start = Instant::now();
    while std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
        if start.elapsed() > Duration::from_secs(30) {
            return Err(BridgeBenchError::Other(
                "the daemon did not start in 30 s".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut atas = Vec::new();
    for u in 0..units {
        atas.push(Arc::new(endpoint(&format!("{}:0", unit_ip(u))).await?.0));
    }
    // Let start-up work (store, recovery) finish before measuring.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_idle = rss_kib(pid).unwrap_or(0);
    let load_average = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_default();

    let clock = Instant::now();
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        let stat = format!("/proc/{pid}/stat");
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while sampling.load(Ordering::Relaxed) {
                samples.push(Sample {
                    at: clock.elapsed().as_secs_f64(),
                    cpu: proc_cpu(&stat).unwrap_or_default().as_secs_f64(),
                    rss_kib: rss_kib(pid).unwrap_or(0),
                });
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            samples.push(Sample {
                at: clock.elapsed().as_secs_f64(),
                cpu: proc_cpu(&stat).unwrap_or_default().as_secs_f64(),
                rss_kib: rss_kib(pid).unwrap_or(0),
            });
            samples
        })
    };

    let counters = Arc::new(Counters::default());
    let send_for = Duration::from_secs(u64::from(args.seconds));
    let trunk_task = tokio::spawn(trunk(trunk_calls, down.clone(), counters.clone(), send_for));
    let fb: SocketAddr = SocketAddr::from(([127, 0, 0, 1], port));
    let failed_early = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for i in 0..args.calls {
        tasks.push(tokio::spawn(port_call(
            atas[(i / PORTS_PER_UNIT) as usize].clone(),
            i,
            fb,
            up.clone(),
            counters.clone(),
            send_for,
            clock,
            failed_early.clone(),
        )));
        tokio::time::sleep(Duration::from_millis(args.spacing_ms)).await;
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        match t.await {
            Ok(o) => outcomes.push(o),
            Err(e) => outcomes.push(CallOutcome {
                setup: None,
                media: None,
                failure: Some(format!("call task failed: {e}")),
            }),
        }
    }
    let run_end = clock.elapsed().as_secs_f64();
    // Let the trunk legs see their BYEs.
    tokio::time::sleep(Duration::from_millis(500)).await;
    sampling.store(false, Ordering::Relaxed);
    let samples = sampler.await.unwrap_or_default();
    trunk_task.abort();

    // Summaries.
    let mut setup_times: Vec<Duration> = outcomes.iter().filter_map(|o| o.setup).collect();
    setup_times.sort();
    let mut failures: Vec<(String, u32)> = Vec::new();
    for why in outcomes.iter().filter_map(|o| o.failure.clone()) {
        match failures.iter_mut().find(|(w, _)| *w == why) {
            Some((_, n)) => *n += 1,
            None => failures.push((why, 1)),
        }
    }
    let media: Vec<(f64, f64)> = outcomes.iter().filter_map(|o| o.media).collect();
    let steady_from = media.iter().map(|m| m.0).fold(0.0, f64::max);
    let steady_to = media.iter().map(|m| m.1).fold(f64::INFINITY, f64::min);
    let (steady_secs, steady_cpu) = match cpu_between(&samples, steady_from, steady_to) {
        Some(cpu) => (steady_to - steady_from, cpu),
        None => (0.0, 0.0),
    };
    let first_sample = samples.first().map_or(0.0, |s| s.at);
    let total_cpu = cpu_between(&samples, first_sample, run_end).unwrap_or(0.0);
    let rss_peak = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let completed = outcomes.iter().filter(|o| o.failure.is_none()).count() as u32;

    // The classifier's verdicts, from the daemon's call history.
    let store = Store::open_in_spool(&spool)
        .await
        .map_err(|e| BridgeBenchError::Other(format!("opening the daemon's store: {e}")))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let labels = loop {
        let rows =
            sqlx::query("SELECT label, COUNT(*) AS n FROM pci_call GROUP BY label ORDER BY label")
                .fetch_all(store.pool())
                .await
                .map_err(|e| BridgeBenchError::Other(format!("reading the call history: {e}")))?;
        let labels: Vec<(String, u32)> = rows
            .iter()
            .map(|r| {
                (
                    r.try_get::<String, _>("label").unwrap_or_default(),
                    r.try_get::<i64, _>("n").unwrap_or(0) as u32,
                )
            })
            .collect();
        let total: u32 = labels.iter().map(|l| l.1).sum();
        if total >= setup_times.len() as u32 || Instant::now() > deadline {
            break labels;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    store.close().await;
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    drop(daemon);

    Ok(BridgeReport {
        calls: args.calls,
        seconds: args.seconds,
        set_up: setup_times.len() as u32,
        completed,
        failures,
        setup_times,
        steady_secs,
        steady_calls: media.len() as u32,
        steady_cpu,
        total_cpu,
        call_seconds: media.iter().map(|m| m.1 - m.0).sum(),
        classifier_ms_per_call_second: classifier_ms,
        rss_idle_kib: rss_idle,
        rss_peak_kib: rss_peak,
        up_sent: counters.up_sent.load(Ordering::Relaxed),
        up_received: counters.up_received.load(Ordering::Relaxed),
        down_sent: counters.down_sent.load(Ordering::Relaxed),
        down_received: counters.down_received.load(Ordering::Relaxed),
        labels,
        load_average,
    })
}

/// Entry point of `faxbridge bench bridge`.
pub fn run_cli(args: &BridgeArgs) -> Result<(), BridgeBenchError> {
    let runtime = tokio::runtime::Runtime::new().map_err(io("starting the runtime"))?;
    let report = runtime.block_on(run_bridge(args))?;
    print!("{report}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(at: f64, cpu: f64) -> Sample {
        Sample {
            at,
            cpu,
            rss_kib: 0,
        }
    }

    #[test]
    fn cpu_is_interpolated_between_samples() {
        let samples = [s(0.0, 0.0), s(1.0, 0.5), s(2.0, 1.5)];
        assert!((cpu_between(&samples, 0.5, 1.5).unwrap() - 0.75).abs() < 1e-9);
        assert!((cpu_between(&samples, 0.0, 2.0).unwrap() - 1.5).abs() < 1e-9);
        // Outside the samples, or an empty window: no figure.
        assert_eq!(cpu_between(&samples, 0.5, 2.5), None);
        assert_eq!(cpu_between(&samples, -1.0, 1.0), None);
        assert_eq!(cpu_between(&samples, 1.0, 1.0), None);
    }

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let d: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&d, 0.5), Some(Duration::from_millis(51)));
        assert_eq!(quantile(&d, 0.99), Some(Duration::from_millis(99)));
        assert_eq!(quantile(&d, 1.0), Some(Duration::from_millis(100)));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn report_figures() {
        let r = BridgeReport {
            calls: 100,
            steady_secs: 10.0,
            steady_calls: 100,
            steady_cpu: 5.0,
            rss_idle_kib: 10_000,
            rss_peak_kib: 30_000,
            up_sent: 1000,
            up_received: 990,
            down_sent: 1000,
            down_received: 1000,
            ..BridgeReport::default()
        };
        assert!((r.ms_per_call_second() - 5.0).abs() < 1e-9);
        assert!((r.core_percent() - 50.0).abs() < 1e-9);
        assert!((r.rss_per_call_kib() - 200.0).abs() < 1e-9);
        assert!((r.loss() - 0.005).abs() < 1e-9);
        assert!((r.cores_for(500) - 2.5).abs() < 1e-9);
    }

    #[test]
    fn generated_config_is_valid_and_has_every_port() {
        let text = daemon_config(std::path::Path::new("/tmp/spool"), 5070, 5080, 3);
        let cfg = crate::config::Config::parse(&text).unwrap();
        if let Err(problems) = cfg.validate() {
            panic!("{problems:?}");
        }
        assert_eq!(cfg.bridge.lines.len(), 3 * PORTS_PER_UNIT as usize);
        assert_eq!(sip_user(2, 24), "30324");
    }

    #[test]
    fn the_benchmark_speech_is_heard_as_voice() {
        let up = pcma_frames(&speech(SPEECH_SECS, 3, 3000.0));
        let down = pcma_frames(&speech(SPEECH_SECS, 53, 2100.0));
        assert!(classifier_cost(&up, &down, 12).unwrap() >= 0.0);
    }
}
