//! The daemon under systemd's notify protocol: `faxbridge run` started with
//! `NOTIFY_SOCKET` and `WATCHDOG_USEC` as systemd sets them for a
//! `Type=notify` unit with `WatchdogSec=`. The test plays systemd: it binds
//! the datagram socket and checks READY, the watchdog pings, the reload
//! and the stop notifications, in order.

use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::{Duration, Instant};

mod support;
use support::config::DaemonConfig;
use support::procs::{BIN, Proc};

fn try_next(socket: &UnixDatagram, deadline: Duration) -> Option<String> {
    socket.set_read_timeout(Some(deadline)).unwrap();
    let mut buf = [0u8; 1024];
    let n = socket.recv(&mut buf).ok()?;
    Some(String::from_utf8(buf[..n].to_vec()).unwrap())
}

fn next(socket: &UnixDatagram, deadline: Duration) -> String {
    try_next(socket, deadline).expect("no notification from the daemon in time")
}

/// The next notification that is not a watchdog ping.
fn next_state(socket: &UnixDatagram) -> String {
    loop {
        let m = next(socket, Duration::from_secs(20));
        if m != "WATCHDOG=1" {
            return m;
        }
    }
}

#[test]
fn ready_watchdog_reload_and_stop_are_notified() {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    let config = DaemonConfig::new(dir.path()).write();
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "info")
        .env("NOTIFY_SOCKET", &socket_path)
        // 400 ms: pings every 200 ms.
        .env("WATCHDOG_USEC", "400000");
    let daemon = Proc::start("daemon", &mut cmd, "faxbridge ready");

    let ready = next_state(&socket);
    assert!(
        ready.starts_with("READY=1\nSTATUS=taking calls on 127.0.0.1:"),
        "{ready:?}"
    );

    // Pings keep coming at half the watchdog interval.
    let start = Instant::now();
    let mut pings = 0;
    while pings < 5 {
        assert_eq!(next(&socket, Duration::from_secs(2)), "WATCHDOG=1");
        pings += 1;
    }
    let elapsed = start.elapsed();
    assert!(
        elapsed < Duration::from_millis(5 * 400),
        "5 pings took {elapsed:?}: slower than the 400 ms watchdog"
    );

    Command::new("kill")
        .args(["-HUP", &daemon.pid().to_string()])
        .status()
        .unwrap();
    assert_eq!(next_state(&socket), "RELOADING=1");
    assert_eq!(
        next_state(&socket),
        "READY=1\nSTATUS=configuration reloaded"
    );

    let status = daemon.sigterm();
    assert!(status.success(), "{status:?}");
    let mut stopping = None;
    while let Some(m) = try_next(&socket, Duration::from_millis(200)) {
        if m.starts_with("STOPPING=1") {
            stopping = Some(m);
        }
    }
    assert_eq!(
        stopping.as_deref(),
        Some("STOPPING=1\nSTATUS=finishing 0 calls in progress")
    );
}
