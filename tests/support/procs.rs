//! Child processes of the real `faxbridge` binary for integration tests.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_faxbridge");

/// How long to wait for a line the daemon logs about something the test
/// already saw happen: the daemon may log it just after acting, and its
/// output reaches the test through a reader thread, both late on a loaded
/// machine. (A check that a line was *not* logged waits nothing.)
#[allow(dead_code)]
pub const LOG_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A child process killed on drop; its stdout lines are echoed to stderr
/// with a prefix, kept for [`Proc::lines`] and [`Proc::log_contains`], and
/// it is ready once it printed a line containing `marker` (kept: see
/// [`Proc::ready_line`] and [`Proc::addr`]).
pub struct Proc {
    child: Child,
    lines: Lines,
    all: Arc<Mutex<Vec<String>>>,
    ready: String,
}

/// The stdout lines of a [`Proc`] not yet looked at.
#[derive(Clone)]
pub struct Lines(Arc<Mutex<Receiver<String>>>);

impl Lines {
    /// Pass over every line printed so far.
    pub fn skip_past(&self) {
        let rx = self.0.lock().unwrap();
        while rx.try_recv().is_ok() {}
    }

    /// The next line containing `needle` (earlier lines are passed over),
    /// waiting up to `limit` for it.
    pub fn wait_for(&self, needle: &str, limit: Duration) -> Option<String> {
        let rx = self.0.lock().unwrap();
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let line = rx.recv_timeout(left).ok()?;
            if line.contains(needle) {
                return Some(line);
            }
        }
    }
}

/// The value of `key=` in a log line (a tracing field), e.g.
/// `field(line, "rtp")` → `127.0.0.1:40000`.
pub fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let prefix = format!("{key}=");
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(prefix.as_str()))
}

impl Proc {
    pub fn start(name: &'static str, cmd: &mut Command, marker: &'static str) -> Proc {
        let mut child = cmd
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let all = Arc::new(Mutex::new(Vec::new()));
        let kept = all.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                eprintln!("{name}: {line}");
                kept.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let lines = Lines(Arc::new(Mutex::new(rx)));
        let ready = lines
            .wait_for(marker, Duration::from_secs(30))
            .unwrap_or_else(|| panic!("{name} did not become ready"));
        Proc {
            child,
            lines,
            all,
            ready,
        }
    }

    /// The line that said it was ready (for the daemon, `faxbridge ready`
    /// with the bound addresses as fields `udp`, `tcp`, `tls`, `smtp` and
    /// `web`).
    pub fn ready_line(&self) -> &str {
        &self.ready
    }

    /// The address in field `key` of the ready line: where the daemon's
    /// listener `key` (`udp`, `tcp`, `tls`, `smtp`, `web`) is bound.
    pub fn addr(&self, key: &str) -> SocketAddr {
        field(&self.ready, key)
            .unwrap_or_else(|| panic!("no {key}= in the ready line: {}", self.ready))
            .parse()
            .unwrap_or_else(|e| panic!("{key}= in {}: {e}", self.ready))
    }

    /// The address after `sip:` in the ready line of `faxbridge answer`
    /// (`listening on sip:ADDR`).
    pub fn sip_addr(&self) -> SocketAddr {
        let (_, addr) = self
            .ready
            .split_once("sip:")
            .unwrap_or_else(|| panic!("no sip: in the ready line: {}", self.ready));
        addr.trim().parse().unwrap()
    }

    /// Whether a line the process printed (since it started) contains
    /// every one of `parts`, waiting up to `wait` for it.
    pub fn log_contains(&self, parts: &[&str], wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            if self
                .all
                .lock()
                .unwrap()
                .iter()
                .any(|l| parts.iter().all(|p| l.contains(p)))
            {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A copy of every line the process printed so far.
    pub fn log_snapshot(&self) -> Vec<String> {
        self.all.lock().unwrap().clone()
    }

    /// Lines the process printed so far.
    pub fn log_lines(&self) -> usize {
        self.all.lock().unwrap().len()
    }

    /// Its stdout lines after the ready marker.
    pub fn lines(&self) -> Lines {
        self.lines.clone()
    }

    /// How many lines the process printed so far contain every one of
    /// `parts`.
    pub fn log_count(&self, parts: &[&str]) -> usize {
        self.all
            .lock()
            .unwrap()
            .iter()
            .filter(|l| parts.iter().all(|p| l.contains(p)))
            .count()
    }

    pub fn sigterm(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().unwrap();
        std::mem::forget(self);
        status
    }
}

impl Proc {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: the process gets no chance to clean up.
    pub fn sigkill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::forget(self);
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `faxbridge run` with `config`.
pub fn start_daemon(config: &Path) -> Proc {
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "info");
    Proc::start("daemon", &mut cmd, "faxbridge ready")
}
