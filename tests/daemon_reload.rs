//! SIGHUP reloads the DID routing table and the mail routes: a number the
//! daemon answered 404 for is routed and its fax mailed after the
//! configuration file gains it and the daemon gets SIGHUP.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod support;
use support::config::DaemonConfig;
use support::procs::{BIN, start_daemon};

/// The configuration: 100 routed to `lab`, and with `extra_route` 200 to
/// `office` as well.
fn write_config(root: &Path, extra_route: bool) -> PathBuf {
    let mut config = DaemonConfig::new(root);
    config.did("100", "lab").route("lab", &["lab@example.org"]);
    if extra_route {
        config
            .did("200", "office")
            .route("office", &["office@example.org"]);
    }
    config.write()
}

fn dial(port: u16, number: &str, doc: &Path) -> (bool, String) {
    let out = Command::new(BIN)
        .args(["dial", &format!("sip:{number}@127.0.0.1:{port}"), "--g711"])
        .arg(doc)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn sighup_reloads_did_routes_and_mailboxes() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let config = write_config(dir.path(), false);
    let doc = dir.path().join("note.txt");
    std::fs::write(&doc, "Routed after a reload.\n").unwrap();
    let daemon = start_daemon(&config);
    let port = daemon.addr("udp").port();

    let (ok, out) = dial(port, "200", &doc);
    assert!(
        !ok && out.contains("404"),
        "unknown number before the reload: {out}"
    );

    // The same file, still listening on port 0: the daemon keeps the
    // ports it bound.
    assert_eq!(write_config(dir.path(), true), config);
    Command::new("kill")
        .args(["-HUP", &daemon.pid().to_string()])
        .status()
        .unwrap();
    // The reload is done when the daemon logs it; give it a moment.
    std::thread::sleep(Duration::from_millis(500));

    let (ok, out) = dial(port, "200", &doc);
    assert!(ok, "routed after the reload: {out}");
    let new = spool.join("maildir/new");
    let start = Instant::now();
    loop {
        let mails: Vec<String> = std::fs::read_dir(&new)
            .map(|d| {
                d.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(m) = mails.first() {
            assert!(
                m.contains("office@example.org"),
                "mailed to the new route: {m}"
            );
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no mail for the new route"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(daemon.sigterm().success());
}
