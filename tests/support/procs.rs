//! Child processes of the real `faxbridge` binary for integration tests.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_faxbridge");

/// A child process killed on drop; its stdout lines are echoed to stderr
/// with a prefix and kept ([`Proc::log_contains`]), and `ready` is
/// signalled on the first line containing `marker`.
pub struct Proc {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
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
        let lines = Arc::new(Mutex::new(Vec::new()));
        let kept = lines.clone();
        std::thread::spawn(move || {
            let mut ready = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                eprintln!("{name}: {line}");
                kept.lock().unwrap().push(line.clone());
                if line.contains(marker)
                    && let Some(tx) = ready.take()
                {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{name} did not become ready"));
        Proc { child, lines }
    }

    /// Whether a line the process printed contains every one of `parts`,
    /// waiting up to `wait` for it.
    pub fn log_contains(&self, parts: &[&str], wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            if self
                .lines
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

    /// Lines the process printed so far.
    pub fn log_lines(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    /// Lines printed so far that contain `part`.
    pub fn log_count(&self, part: &str) -> usize {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(part))
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
