//! A real SMTP server for tests: aiosmtpd (PyPI) running `smtp_sink.py`,
//! which saves every accepted message to a directory and can answer 451 or
//! 550 on demand. The first test to need it creates a Python venv in
//! `target/test-venv` and installs aiosmtpd there (once; later runs reuse it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// The venv's python with aiosmtpd importable; created on first use.
pub fn sink_python() -> &'static Path {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let target = target_dir();
        std::fs::create_dir_all(&target).unwrap();
        let venv = target.join("test-venv");
        let py = venv.join("bin/python");
        let ready = || {
            Command::new(&py)
                .args(["-c", "import aiosmtpd"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        // Another test binary may be building the venv at the same time.
        let lock = std::fs::File::create(target.join("test-venv.lock")).unwrap();
        lock.lock().unwrap();
        if !ready() {
            let base = if Path::new("/usr/bin/python3").exists() {
                "/usr/bin/python3"
            } else {
                "python3"
            };
            let ok = Command::new(base)
                .args(["-m", "venv", "--clear"])
                .arg(&venv)
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok,
                "cannot create {} (install Debian python3-venv)",
                venv.display()
            );
            let ok = Command::new(&py)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "aiosmtpd",
                ])
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok && ready(),
                "cannot install aiosmtpd into {}",
                venv.display()
            );
        }
        lock.unlock().unwrap();
        py
    })
}

/// A running aiosmtpd sink; killed on drop.
pub struct Sink {
    child: Child,
    dir: PathBuf,
    /// The port it listens on.
    pub port: u16,
}

impl Sink {
    /// A sink on a port the system picks (see [`Sink::port`]).
    pub fn listen(dir: &Path, extra: &[&str]) -> Sink {
        Sink::start(0, dir, extra)
    }

    pub fn start(port: u16, dir: &Path, extra: &[&str]) -> Sink {
        Sink::try_start(port, dir, extra).expect("the SMTP sink did not start")
    }

    /// Start the sink; `None` when it could not listen (e.g. port taken).
    pub fn try_start(port: u16, dir: &Path, extra: &[&str]) -> Option<Sink> {
        use std::io::BufRead;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let mut child = Command::new(sink_python())
            .arg(script)
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dir)
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start smtp_sink.py");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(bound) = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
        else {
            eprintln!("sink did not start on port {port}: {line:?}");
            let _ = child.kill();
            let _ = child.wait();
            return None;
        };
        Some(Sink {
            child,
            dir: dir.to_path_buf(),
            port: bound,
        })
    }

    /// The message bytes once at least `n` messages are saved, waiting up
    /// to `limit` (a failed assertion after that).
    pub fn wait_for_messages(&self, n: usize, limit: std::time::Duration) -> Vec<Vec<u8>> {
        let start = std::time::Instant::now();
        loop {
            let msgs = self.messages();
            if msgs.len() >= n {
                return msgs.into_iter().map(|(m, _)| m).collect();
            }
            assert!(
                start.elapsed() < limit,
                "expected {n} message(s), got {} after {limit:?}",
                msgs.len()
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    /// Saved messages, in arrival order: (message bytes, envelope JSON).
    pub fn messages(&self) -> Vec<(Vec<u8>, String)> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|p| {
                let json = std::fs::read_to_string(p.with_extension("json")).unwrap_or_default();
                (std::fs::read(&p).unwrap(), json)
            })
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP port free on 127.0.0.1 a moment ago (bound, read, released):
/// racy when tests run in parallel, so only for a peer whose port must be
/// known before it listens (SIPp, which cannot listen on port 0 and say
/// where; a relay that comes up after the daemon was told its port).
/// Everything else listens on port 0 and reports where it is.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
