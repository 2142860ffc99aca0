//! `faxbridge bench channels`: how many fax receptions the daemon sustains.
//!
//! The benchmark starts the real daemon (this binary, `faxbridge run`) as a
//! child process with a configuration of its own (spool in a work
//! directory, faxes mailed to the local Maildir), then places `--calls`
//! concurrent fax calls to it with the load mode of `faxbridge dial`
//! (each a 3-page fine text document, G.711 or T.38 from the first INVITE).
//! While the calls run it samples the daemon's CPU time and resident memory
//! from `/proc`; afterwards it waits for every fax to be mailed and reads
//! from the daemon's store when each message was handed to the Maildir.
//!
//! Reported, per run:
//! - calls placed, succeeded, failed (by reason), peak concurrency;
//! - daemon CPU per channel-second (CPU time over the sum of all calls'
//!   durations), beside the raw engine cost of one receiving end measured
//!   in the same run ([`super::engine`]) and their ratio;
//! - daemon RSS at rest and at peak, and the peak increase per channel;
//! - latency from each call's end (the dialler's BYE done) to its email in
//!   the Maildir: p50, p99, max.
//!
//! The dialling side runs in this process and spends about as much CPU as
//! the daemon: on a 2-core machine both compete for the same cores, so the
//! numbers are a lower bound of what the daemon alone would sustain.

use std::collections::HashMap;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sqlx::Row;

use crate::fax::FaxSettings;
use crate::media::fax_call::FaxCallConfig;
use crate::store::Store;
use crate::tools::dial::{DialMode, DialOptions, LoadReport, dial_load};

/// Command-line arguments of `faxbridge bench channels`.
#[derive(Debug, Clone, clap::Args)]
pub struct ChannelsArgs {
    /// Concurrent calls to place.
    #[arg(long, default_value_t = 100)]
    pub calls: u32,
    /// Use T.38 (offered in the first INVITE) instead of G.711.
    #[arg(long)]
    pub t38: bool,
    /// Milliseconds between two call starts. The default, 23, is not
    /// a multiple of the 20 ms packet clock, so the calls' clocks spread over
    /// the period as when calls arrive at random; a multiple of 20 makes
    /// every call tick in the same millisecond (the worst case).
    #[arg(long, default_value_t = 23)]
    pub spacing_ms: u64,
    /// Seconds of fax per transport for the raw engine measurement.
    #[arg(long, default_value_t = 60)]
    pub engine_seconds: u32,
    /// Directory for the daemon's spool (default: a temporary one, removed).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Longest wait for every fax to be mailed after the calls ended.
    #[arg(long, default_value_t = 300)]
    pub mail_wait_secs: u64,
}

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct ChannelsReport {
    /// `G.711` or `T.38`.
    pub transport: &'static str,
    /// The dialler's view.
    pub load: LoadReport,
    /// Daemon CPU time (user + system) while the calls ran.
    pub daemon_cpu: Duration,
    /// Sum of all successful calls' durations, in seconds.
    pub channel_seconds: f64,
    /// Raw engine cost, one receiving end, ms per second of fax.
    pub engine_ms_per_fax_second: f64,
    /// Daemon resident memory before the calls, KiB.
    pub rss_idle_kib: u64,
    /// Daemon resident memory at its highest during the calls, KiB.
    pub rss_peak_kib: u64,
    /// End of call → email in the Maildir, one per fax mailed, sorted.
    pub mail_latency: Vec<Duration>,
    /// Faxes the daemon mailed.
    pub mailed: u32,
}

impl ChannelsReport {
    /// Daemon CPU per channel-second, in ms.
    pub fn daemon_ms_per_channel_second(&self) -> f64 {
        if self.channel_seconds == 0.0 {
            return 0.0;
        }
        self.daemon_cpu.as_secs_f64() * 1000.0 / self.channel_seconds
    }

    /// Daemon cost over raw engine cost.
    pub fn ratio(&self) -> f64 {
        self.daemon_ms_per_channel_second() / self.engine_ms_per_fax_second
    }

    fn latency(&self, q: f64) -> Option<Duration> {
        let n = self.mail_latency.len();
        (n > 0).then(|| self.mail_latency[((n as f64 - 1.0) * q).round() as usize])
    }
}

impl std::fmt::Display for ChannelsReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}: {}", self.transport, self.load)?;
        writeln!(
            f,
            "  daemon CPU {:.2} s over {:.0} channel-seconds = {:.3} ms per channel-second; \
             engine alone {:.3} ms per fax-second; ratio {:.2}×",
            self.daemon_cpu.as_secs_f64(),
            self.channel_seconds,
            self.daemon_ms_per_channel_second(),
            self.engine_ms_per_fax_second,
            self.ratio()
        )?;
        let per_channel = if self.load.peak_concurrent > 0 {
            self.rss_peak_kib.saturating_sub(self.rss_idle_kib) as f64
                / f64::from(self.load.peak_concurrent)
        } else {
            0.0
        };
        writeln!(
            f,
            "  daemon RSS idle {:.1} MiB, peak {:.1} MiB: {:.0} KiB per concurrent channel",
            self.rss_idle_kib as f64 / 1024.0,
            self.rss_peak_kib as f64 / 1024.0,
            per_channel
        )?;
        match (
            self.latency(0.5),
            self.latency(0.99),
            self.mail_latency.last(),
        ) {
            (Some(p50), Some(p99), Some(max)) => writeln!(
                f,
                "  end of call → email in the Maildir ({} faxes): p50 {} ms, p99 {} ms, max {} ms",
                self.mailed,
                p50.as_millis(),
                p99.as_millis(),
                max.as_millis()
            ),
            _ => writeln!(f, "  no fax was mailed"),
        }
    }
}

/// Why the benchmark could not run.
pub type ChannelsError = super::LoadBenchError;

use super::io;

/// The daemon child, killed if the benchmark stops early.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// CPU time (user + system) of a process, from `/proc/PID/stat`.
fn cpu_time(pid: u32, ticks_per_second: u64) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start
    // after the last ')'; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / ticks_per_second as f64,
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
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

fn free_port() -> Result<u16, ChannelsError> {
    let s = UdpSocket::bind("127.0.0.1:0").map_err(io("finding a free port"))?;
    Ok(s.local_addr().map_err(io("finding a free port"))?.port())
}

/// Whether someone (the daemon) has bound UDP `port` on loopback.
fn port_taken(port: u16) -> bool {
    UdpSocket::bind(("127.0.0.1", port)).is_err()
}

/// The 3-page document every call sends: a typical business fax, three
/// A4 pages of typed text at fine resolution.
fn document(dir: &Path) -> Result<PathBuf, ChannelsError> {
    let text_path = dir.join("three-pages.txt");
    let mut text = String::new();
    for page in 1..=3 {
        if page > 1 {
            text.push('\x0c');
        }
        text.push_str(&format!(
            "Purchase order 2026-{page:03}, page {page} of 3\n\n"
        ));
        for line in 0..45 {
            text.push_str(&format!(
                "{:>3}  Item {:05}  Laboratory supplies, quantity {:>3}, unit price {:>4}.{:02} GBP\n",
                line + 1,
                page * 1000 + line,
                (line * 7) % 50 + 1,
                (line * 13) % 900 + 10,
                (line * 17) % 100
            ));
        }
    }
    std::fs::write(&text_path, text).map_err(io("writing the test document"))?;
    let path = dir.join("three-pages.tif");
    let report = crate::docs::convert_to_fax(
        std::slice::from_ref(&text_path),
        &path,
        &crate::docs::RenderOptions::default(),
    )
    .map_err(|e| ChannelsError::Other(format!("rendering the test document: {e}")))?;
    if report.pages != 3 {
        return Err(ChannelsError::Other(format!(
            "the test document rendered to {} pages, not 3",
            report.pages
        )));
    }
    Ok(path)
}

/// Run the benchmark once.
pub async fn run_channels(args: &ChannelsArgs) -> Result<ChannelsReport, ChannelsError> {
    let mut _cleanup = None;
    let dir = match &args.work_dir {
        Some(d) => d.clone(),
        None => {
            let d = std::env::temp_dir()
                .join(format!("faxbridge-bench-channels-{}", std::process::id()));
            _cleanup = Some(super::WorkDir(d.clone()));
            d
        }
    };
    std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
    let transport = if args.t38 { "T.38" } else { "G.711" };

    // The engine alone, in this run, on this machine.
    let engine = tokio::task::spawn_blocking({
        let s = args.engine_seconds;
        move || super::engine::run_engine_bench(s)
    })
    .await
    .map_err(|e| ChannelsError::Other(format!("engine benchmark: {e}")))?
    .map_err(|e| ChannelsError::Other(format!("engine benchmark: {e}")))?;
    let engine_ms = engine
        .rows
        .iter()
        .find(|r| {
            r.transport
                .starts_with(if args.t38 { "T.38" } else { "G.711" })
        })
        .map(|r| r.receiver_ms_per_fax_second())
        .ok_or_else(|| ChannelsError::Other("engine benchmark gave no row".into()))?;

    let doc = document(&dir)?;
    let port = free_port()?;
    let spool = dir.join("spool");
    let config = dir.join("faxbridge.toml");
    std::fs::write(
        &config,
        format!(
            "[general]\nspool_dir = \"{}\"\nlog = \"warn\"\n\
             [sip]\nlisten = \"127.0.0.1:{port}\"\n\
             [[sip.peers]]\nname = \"load\"\naddresses = [\"127.0.0.0/8\"]\n\
             [sip.routing]\ndefault_route = \"inbox\"\n\
             [routes.inbox]\nmailboxes = [\"Fax Inbox <fax@localhost>\"]\n\
             [media]\nprefer_t38 = true\n",
            spool.display()
        ),
    )
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
    while !port_taken(port) {
        if start.elapsed() > Duration::from_secs(30) {
            return Err(ChannelsError::Other(
                "the daemon did not start in 30 s".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let start-up work (store, recovery) finish before measuring.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ticks = clock_ticks();
    let rss_idle = rss_kib(pid).unwrap_or(0);
    let cpu_before = cpu_time(pid, ticks).unwrap_or_default();

    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut peak = 0;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_kib(pid).unwrap_or(0));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            peak
        })
    };
    let opts = DialOptions {
        target: format!("sip:100@127.0.0.1:{port}"),
        files: vec![doc],
        mode: if args.t38 {
            DialMode::T38
        } else {
            DialMode::G711
        },
        from_user: "7".to_string(),
        account: None,
        render: Default::default(),
        call: FaxCallConfig {
            fax: FaxSettings::default(),
            watchdog: Duration::from_secs(60),
            ..FaxCallConfig::default()
        },
    };
    let load = dial_load(
        opts,
        args.calls,
        args.calls,
        Duration::from_millis(args.spacing_ms),
    )
    .await
    .map_err(|e| ChannelsError::Other(format!("placing the calls: {e}")))?;
    let cpu_after = cpu_time(pid, ticks).unwrap_or_default();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let rss_peak = sampler.await.unwrap_or(0);

    // Every fax mailed: the outbox's own record of when.
    let store = Store::open_in_spool(&spool)
        .await
        .map_err(|e| ChannelsError::Other(format!("opening the daemon's store: {e}")))?;
    let deadline = Instant::now() + Duration::from_secs(args.mail_wait_secs);
    let rows = loop {
        let rows = sqlx::query(
            "SELECT f.caller AS caller, m.sent_at_ms AS sent FROM mail_outbox m \
             JOIN received_fax f ON f.id = m.fax_id WHERE m.state = 'sent'",
        )
        .fetch_all(store.pool())
        .await
        .map_err(|e| ChannelsError::Other(format!("reading the daemon's outbox: {e}")))?;
        if rows.len() as u32 >= load.succeeded || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let ended: HashMap<&str, SystemTime> =
        load.ended.iter().map(|(u, t)| (u.as_str(), *t)).collect();
    let mut mail_latency = Vec::new();
    for row in &rows {
        let caller: String = row.try_get("caller").unwrap_or_default();
        let sent: Option<i64> = row.try_get("sent").ok();
        if let (Some(end), Some(sent)) = (ended.get(caller.as_str()), sent) {
            let sent = UNIX_EPOCH + Duration::from_millis(sent.max(0) as u64);
            mail_latency.push(sent.duration_since(*end).unwrap_or_default());
        }
    }
    mail_latency.sort();
    store.close().await;
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let channel_seconds = load.call_times.iter().map(Duration::as_secs_f64).sum();
    Ok(ChannelsReport {
        transport,
        daemon_cpu: cpu_after.saturating_sub(cpu_before),
        channel_seconds,
        engine_ms_per_fax_second: engine_ms,
        rss_idle_kib: rss_idle,
        rss_peak_kib: rss_peak,
        mailed: rows.len() as u32,
        mail_latency,
        load,
    })
}

/// Entry point of `faxbridge bench channels`.
pub fn run_cli(args: &ChannelsArgs) -> Result<(), ChannelsError> {
    let runtime = tokio::runtime::Runtime::new().map_err(io("starting the runtime"))?;
    let report = runtime.block_on(run_channels(args))?;
    print!("{report}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_times_and_memory_are_readable() {
        let pid = std::process::id();
        assert!(cpu_time(pid, clock_ticks()).is_some());
        assert!(rss_kib(pid).unwrap() > 0);
    }

    #[test]
    fn ratio_and_quantiles() {
        let r = ChannelsReport {
            transport: "G.711",
            load: LoadReport::default(),
            daemon_cpu: Duration::from_secs(2),
            channel_seconds: 1000.0,
            engine_ms_per_fax_second: 1.0,
            rss_idle_kib: 1000,
            rss_peak_kib: 2000,
            mail_latency: (1..=100).map(Duration::from_millis).collect(),
            mailed: 100,
        };
        assert!((r.daemon_ms_per_channel_second() - 2.0).abs() < 1e-9);
        assert!((r.ratio() - 2.0).abs() < 1e-9);
        assert_eq!(r.latency(0.99), Some(Duration::from_millis(99)));
        assert_eq!(r.latency(0.5), Some(Duration::from_millis(51)));
    }
}
