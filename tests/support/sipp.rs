//! SIPp (Debian `sip-tester`) as an independent SIP peer: scenarios in
//! `tests/fixtures/sipp/` shaped like other vendors' messages, run as a
//! user agent server in the background or as a client to completion, with
//! every message traced to a file the test reads.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The scenario file `name` in `tests/fixtures/sipp/`.
pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sipp")
        .join(name)
}

fn sipp(scenario_name: &str, ip: &str, port: u16, calls: u32, trace: &Path) -> Command {
    let mut cmd = Command::new("sipp");
    cmd.arg("-sf")
        .arg(scenario(scenario_name))
        .args(["-i", ip, "-p", &port.to_string(), "-m", &calls.to_string()])
        .args(["-nostdin", "-trace_msg", "-message_file"])
        .arg(trace)
        .args(["-trace_err", "-error_file"])
        .arg(trace.with_extension("err"))
        // No media: the peers exchange SDP only.
        .args(["-mi", ip])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// A SIPp server (e.g. a trunk) running in the background; killed on drop.
pub struct Uas {
    child: Child,
    trace: PathBuf,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Uas {
    /// Serve `calls` calls of `scenario_name` on `ip:port`, tracing into
    /// `dir`.
    pub fn start(scenario_name: &str, ip: &str, port: u16, calls: u32, dir: &Path) -> Uas {
        let trace = dir.join(format!("uas-{ip}-{port}.log"));
        let child = sipp(scenario_name, ip, port, calls, &trace)
            .spawn()
            .expect("start sipp (Debian package sip-tester)");
        // SIPp binds at once; give it a moment before anyone sends.
        std::thread::sleep(Duration::from_millis(300));
        Uas {
            child,
            trace,
            addr: format!("{ip}:{port}").parse().unwrap(),
        }
    }

    /// Every message traced so far.
    pub fn messages(&self) -> String {
        std::fs::read_to_string(&self.trace).unwrap_or_default()
    }

    /// The INVITEs received so far, each as its text.
    pub fn invites(&self) -> Vec<String> {
        received(&self.messages(), "INVITE ")
    }

    /// Stop it now.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Uas {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The messages of a SIPp trace that were received and start with
/// `start_line` (`INVITE `, `SIP/2.0 403`).
pub fn received(trace: &str, start_line: &str) -> Vec<String> {
    trace
        .split("----------------------------------------------- ")
        .filter(|block| block.contains("message received"))
        .filter_map(|block| {
            let body = block.split_once('\n')?.1;
            let body = body.trim_start();
            let msg = body
                .lines()
                .skip_while(|l| !l.starts_with(start_line))
                .collect::<Vec<_>>()
                .join("\n");
            (!msg.is_empty()).then_some(msg)
        })
        .collect()
}

/// How a SIPp client run ended.
pub struct UacRun {
    /// SIPp's exit status: success when every call passed its scenario.
    pub status: ExitStatus,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Its message trace.
    pub messages: String,
    /// Its error trace (unexpected messages and why).
    pub errors: String,
}

/// Run one call of `scenario_name` from `ip:port` to `target`, calling
/// `service` with the scenario variables `vars` (`-set NAME VALUE`).
pub fn uac(
    scenario_name: &str,
    ip: &str,
    port: u16,
    target: SocketAddr,
    service: &str,
    vars: &[(&str, &str)],
    dir: &Path,
) -> UacRun {
    let trace = dir.join(format!("uac-{ip}-{port}-{service}.log"));
    let _ = std::fs::remove_file(&trace);
    let mut cmd = sipp(scenario_name, ip, port, 1, &trace);
    cmd.args(["-s", service, "-timeout", "40s", "-timeout_error"]);
    for (k, v) in vars {
        cmd.args(["-set", k, v]);
    }
    cmd.arg(target.to_string());
    let started = Instant::now();
    let status = cmd.status().expect("run sipp (Debian package sip-tester)");
    UacRun {
        status,
        elapsed: started.elapsed(),
        messages: std::fs::read_to_string(&trace).unwrap_or_default(),
        errors: std::fs::read_to_string(trace.with_extension("err")).unwrap_or_default(),
    }
}
