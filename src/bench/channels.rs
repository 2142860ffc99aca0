//! `faxbridge bench channels`: how many fax receptions the daemon sustains,
//! and what each costs, from one call to thousands.
//!
//! The benchmark starts the real daemon (this binary, `faxbridge run`) as a
//! child process with a configuration of its own (spool in a work
//! directory, faxes mailed to the local Maildir) and measures the raw
//! engine cost of one receiving end in the same run ([`super::engine`]).
//! Then, for each concurrency of `--calls` in turn, it starts the sender
//! as a separate process — `faxbridge dial` in load mode, placing N
//! concurrent calls of a 3-page fine text document (a typical business
//! fax) — which sends as deployed gateways do: G.711 in 20 ms packets
//! arriving within ±`--jitter-ms` (5) of their slot, or T.38 from the first
//! INVITE with UDPTL redundancy `--redundancy` (3) and one IFP per
//! datagram. While the sender runs, the daemon's CPU time, context
//! switches and resident memory are read from `/proc`; afterwards every
//! fax must be mailed, and the daemon's store says when each was handed to
//! the Maildir.
//!
//! Reported, per concurrency:
//! - calls placed and succeeded (all pages confirmed), peak concurrency;
//! - daemon CPU per channel-second (CPU time over the sum of all calls'
//!   durations), and its ratio to the raw engine cost;
//! - daemon wake-ups per second: voluntary and involuntary context switches
//!   of all its threads (`/proc/PID/task/*/status`) over the sender's run
//!   time;
//! - daemon RSS growth per concurrent channel (peak over the level's idle
//!   start);
//! - latency from each call's end (the sender's BYE done) to its email in
//!   the Maildir: p50 and p99.
//!
//! The sender runs on the same cores and spends about as much CPU as the
//! daemon: on a 2-core machine both compete, so the numbers are a lower
//! bound of what the daemon alone would sustain.

use std::collections::HashMap;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sqlx::Row;

use crate::store::Store;
use crate::tools::dial::LoadReport;

/// Command-line arguments of `faxbridge bench channels`.
#[derive(Debug, Clone, clap::Args)]
pub struct ChannelsArgs {
    /// Concurrent calls to place, one run per value: e.g. 1,20,100,500.
    #[arg(long, value_delimiter = ',', default_value = "100")]
    pub calls: Vec<u32>,
    /// Use T.38 (offered in the first INVITE) instead of G.711.
    #[arg(long)]
    pub t38: bool,
    /// Milliseconds between two call starts. The default, 23, is not
    /// a multiple of the 20 ms packet clock, so the calls' clocks spread over
    /// the period as when calls arrive at random; a multiple of 20 makes
    /// every call tick in the same millisecond (the worst case).
    #[arg(long, default_value_t = 23)]
    pub spacing_ms: u64,
    /// G.711: each packet arrives up to this many milliseconds before or
    /// after its 20 ms slot (at random).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=9))]
    pub jitter_ms: u64,
    /// T.38: UDPTL redundancy depth of the sender.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(0..=15))]
    pub redundancy: u8,
    /// Seconds of fax per transport for the raw engine measurement.
    #[arg(long, default_value_t = 60)]
    pub engine_seconds: u32,
    /// Directory for the daemon's spool (default: a temporary one, removed).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Longest wait for every fax of a run to be mailed after its calls
    /// ended.
    #[arg(long, default_value_t = 300)]
    pub mail_wait_secs: u64,
}

/// What one concurrency measured.
#[derive(Debug, Clone)]
pub struct LevelReport {
    /// Concurrent calls asked for.
    pub calls: u32,
    /// The sender's view.
    pub load: LoadReport,
    /// Daemon CPU time (user + system) while the sender ran.
    pub daemon_cpu: Duration,
    /// Context switches of all the daemon's threads while the sender ran.
    pub switches: u64,
    /// Wall time of the sender's run.
    pub wall: Duration,
    /// Sum of all successful calls' durations, in seconds.
    pub channel_seconds: f64,
    /// Daemon resident memory before the calls, KiB.
    pub rss_idle_kib: u64,
    /// Daemon resident memory at its highest during the calls, KiB.
    pub rss_peak_kib: u64,
    /// End of call → email in the Maildir, one per fax mailed, sorted.
    pub mail_latency: Vec<Duration>,
    /// Faxes of this run the daemon mailed.
    pub mailed: u32,
}

/// Everything one benchmark run measured.
#[derive(Debug, Clone)]
pub struct ChannelsReport {
    /// `G.711` or `T.38`.
    pub transport: &'static str,
    /// Raw engine cost, one receiving end, ms per second of fax.
    pub engine_ms_per_fax_second: f64,
    /// One per concurrency, in the order run.
    pub levels: Vec<LevelReport>,
}

impl LevelReport {
    /// Daemon CPU per channel-second, in ms.
    pub fn daemon_ms_per_channel_second(&self) -> f64 {
        if self.channel_seconds == 0.0 {
            return 0.0;
        }
        self.daemon_cpu.as_secs_f64() * 1000.0 / self.channel_seconds
    }

    /// Daemon wake-ups (context switches) per second of the run.
    pub fn wakeups_per_second(&self) -> f64 {
        if self.wall.is_zero() {
            return 0.0;
        }
        self.switches as f64 / self.wall.as_secs_f64()
    }

    /// RSS growth per concurrent channel, KiB.
    pub fn rss_per_channel_kib(&self) -> f64 {
        if self.load.peak_concurrent == 0 {
            return 0.0;
        }
        self.rss_peak_kib.saturating_sub(self.rss_idle_kib) as f64
            / f64::from(self.load.peak_concurrent)
    }

    fn latency(&self, q: f64) -> Option<Duration> {
        let n = self.mail_latency.len();
        (n > 0).then(|| self.mail_latency[((n as f64 - 1.0) * q).round() as usize])
    }
}

impl ChannelsReport {
    /// Daemon cost over raw engine cost at one level.
    pub fn ratio(&self, level: &LevelReport) -> f64 {
        level.daemon_ms_per_channel_second() / self.engine_ms_per_fax_second
    }
}

impl std::fmt::Display for ChannelsReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{}: raw engine, one receiving end: {:.3} ms per fax-second",
            self.transport, self.engine_ms_per_fax_second
        )?;
        writeln!(
            f,
            "| transport | calls | succeeded | mailed | daemon ms per channel-s | ratio to engine | wake-ups/s | RSS per channel | end of call → mail p50 / p99 |"
        )?;
        writeln!(f, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        for l in &self.levels {
            let ms = |d: Option<Duration>| d.map_or("–".into(), |d| d.as_millis().to_string());
            writeln!(
                f,
                "| {} | {} | {} | {} | {:.3} | {:.2}× | {:.0} | {:.0} KiB | {} / {} ms |",
                self.transport,
                l.calls,
                l.load.succeeded,
                l.mailed,
                l.daemon_ms_per_channel_second(),
                self.ratio(l),
                l.wakeups_per_second(),
                l.rss_per_channel_kib(),
                ms(l.latency(0.5)),
                ms(l.latency(0.99)),
            )?;
        }
        for l in &self.levels {
            if !l.load.failures.is_empty() {
                writeln!(f, "{} calls: failures {:?}", l.calls, l.load.failures)?;
            }
        }
        Ok(())
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

/// Context switches, voluntary and involuntary, of all the threads of a
/// process now (`/proc/PID/task/*/status`). Threads that ended are not
/// counted: the daemon's are long-lived (runtime workers, media clock).
fn context_switches(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .map(|status| {
            status
                .lines()
                .filter_map(|l| {
                    l.strip_prefix("voluntary_ctxt_switches:")
                        .or_else(|| l.strip_prefix("nonvoluntary_ctxt_switches:"))
                })
                .filter_map(|v| v.trim().parse::<u64>().ok())
                .sum::<u64>()
        })
        .sum()
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

/// Run the benchmark: every concurrency of `args.calls` against one daemon.
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
        .find(|r| r.transport.starts_with(transport))
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
             max_calls = 10000\n\
             [sip.routing]\ndefault_route = \"inbox\"\n\
             [routes.inbox]\nmailboxes = [\"Fax Inbox <fax@localhost>\"]\n\
             [media]\nprefer_t38 = true\n",
            spool.display()
        ),
    )
    .map_err(io("writing the daemon configuration"))?;
    let exe = std::env::current_exe().map_err(io("finding the faxbridge binary"))?;
    let child = Command::new(&exe)
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
    let store = Store::open_in_spool(&spool)
        .await
        .map_err(|e| ChannelsError::Other(format!("opening the daemon's store: {e}")))?;
    let mut levels = Vec::new();
    for (i, &calls) in args.calls.iter().enumerate() {
        let level = run_level(args, &exe, &doc, port, pid, &store, &dir, i, calls).await?;
        eprintln!(
            "{transport} {calls}: {} of {} succeeded, {} mailed",
            level.load.succeeded, level.load.calls, level.mailed
        );
        levels.push(level);
    }
    store.close().await;
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    Ok(ChannelsReport {
        transport,
        engine_ms_per_fax_second: engine_ms,
        levels,
    })
}

/// One concurrency: the sender process against the running daemon.
#[allow(clippy::too_many_arguments)]
async fn run_level(
    args: &ChannelsArgs,
    exe: &Path,
    doc: &Path,
    port: u16,
    pid: u32,
    store: &Store,
    dir: &Path,
    index: usize,
    calls: u32,
) -> Result<LevelReport, ChannelsError> {
    let ticks = clock_ticks();
    // Callers of this level are told apart by their From user's prefix.
    let from = format!("7{index}");
    let report_path = dir.join(format!("sender-{index}.json"));
    let mut sender = Command::new(exe);
    sender
        .arg("dial")
        .arg(format!("sip:100@127.0.0.1:{port}"))
        .arg(doc)
        .args(["--from", &from])
        .args(["--calls", &calls.to_string()])
        .args(["--concurrency", &calls.to_string()])
        .args(["--spacing-ms", &args.spacing_ms.to_string()])
        .args(["--redundancy", &args.redundancy.to_string()])
        .arg("--report-json")
        .arg(&report_path)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if args.t38 {
        sender.arg("--t38");
    } else {
        sender
            .arg("--g711")
            .args(["--jitter-ms", &args.jitter_ms.to_string()]);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_idle = rss_kib(pid).unwrap_or(0);
    let cpu_before = cpu_time(pid, ticks).unwrap_or_default();
    let switches_before = context_switches(pid);
    let started = Instant::now();
    let mut child = sender.spawn().map_err(io("starting the sender"))?;
    let mut peak = rss_idle;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(io("waiting for the sender"))? {
            break status;
        }
        peak = peak.max(rss_kib(pid).unwrap_or(0));
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let wall = started.elapsed();
    let cpu_after = cpu_time(pid, ticks).unwrap_or_default();
    let switches = context_switches(pid).saturating_sub(switches_before);
    let json = std::fs::read(&report_path).map_err(io(format!(
        "reading the sender's report (it exited with {status})"
    )))?;
    let load: LoadReport = serde_json::from_slice(&json)
        .map_err(|e| ChannelsError::Other(format!("the sender's report: {e}")))?;

    // Every fax of this level mailed: the outbox's own record of when.
    let deadline = Instant::now() + Duration::from_secs(args.mail_wait_secs);
    let ended: HashMap<&str, SystemTime> =
        load.ended.iter().map(|(u, t)| (u.as_str(), *t)).collect();
    let rows = loop {
        let rows = sqlx::query(
            "SELECT f.caller AS caller, m.sent_at_ms AS sent FROM mail_outbox m \
             JOIN received_fax f ON f.id = m.fax_id WHERE m.state = 'sent'",
        )
        .fetch_all(store.pool())
        .await
        .map_err(|e| ChannelsError::Other(format!("reading the daemon's outbox: {e}")))?;
        let ours: Vec<_> = rows
            .into_iter()
            .filter_map(|row| {
                let caller: String = row.try_get("caller").ok()?;
                let sent: i64 = row.try_get("sent").ok()?;
                let end = ended.get(caller.as_str())?;
                Some((*end, sent))
            })
            .collect();
        if ours.len() as u32 >= load.succeeded || Instant::now() > deadline {
            break ours;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut mail_latency: Vec<Duration> = rows
        .iter()
        .map(|(end, sent)| {
            let sent = UNIX_EPOCH + Duration::from_millis((*sent).max(0) as u64);
            sent.duration_since(*end).unwrap_or_default()
        })
        .collect();
    mail_latency.sort();
    let channel_seconds = load.call_times.iter().map(Duration::as_secs_f64).sum();
    Ok(LevelReport {
        calls,
        daemon_cpu: cpu_after.saturating_sub(cpu_before),
        switches,
        wall,
        channel_seconds,
        rss_idle_kib: rss_idle,
        rss_peak_kib: peak,
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
    fn own_thread_switches_are_counted() {
        let before = context_switches(std::process::id());
        std::thread::sleep(Duration::from_millis(5));
        assert!(context_switches(std::process::id()) > before);
    }

    #[test]
    fn ratio_and_quantiles() {
        let l = LevelReport {
            calls: 100,
            load: LoadReport {
                peak_concurrent: 100,
                ..LoadReport::default()
            },
            daemon_cpu: Duration::from_secs(2),
            switches: 5000,
            wall: Duration::from_secs(10),
            channel_seconds: 1000.0,
            rss_idle_kib: 1000,
            rss_peak_kib: 26_600,
            mail_latency: (1..=100).map(Duration::from_millis).collect(),
            mailed: 100,
        };
        let r = ChannelsReport {
            transport: "G.711",
            engine_ms_per_fax_second: 1.0,
            levels: vec![l.clone()],
        };
        assert!((l.daemon_ms_per_channel_second() - 2.0).abs() < 1e-9);
        assert!((r.ratio(&l) - 2.0).abs() < 1e-9);
        assert!((l.wakeups_per_second() - 500.0).abs() < 1e-9);
        assert!((l.rss_per_channel_kib() - 256.0).abs() < 1e-9);
        assert_eq!(l.latency(0.99), Some(Duration::from_millis(99)));
        assert_eq!(l.latency(0.5), Some(Duration::from_millis(51)));
        assert!(
            r.to_string()
                .contains("| G.711 | 100 | 0 | 100 | 2.000 | 2.00× | 500 | 256 KiB | 51 / 99 ms |"),
            "{r}"
        );
    }
}
