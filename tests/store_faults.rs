//! The database and the spool when the disk says no at start: a SQLite
//! file locked by another process, and a spool on a read-only filesystem.
//! The daemon stops with a clear error naming the file and the fix, and
//! changes nothing; once the cause is gone it starts normally.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod support;
use support::config::DaemonConfig;
use support::procs::{BIN, start_daemon};

/// `faxbridge run` expected to fail: its exit status and stderr.
fn run_expecting_failure(config: &std::path::Path, limit: Duration) -> String {
    let mut child = Command::new(BIN)
        .args(["run", "--config"])
        .arg(config)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success(), "the daemon started");
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("the daemon neither started nor stopped within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    err
}

/// A Python process holding SQLite's exclusive lock on `db` until killed.
fn hold_lock(db: &std::path::Path) -> Child {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(
            "import sqlite3, sys, time\n\
             c = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
             c.execute('BEGIN EXCLUSIVE')\n\
             print('locked', flush=True)\n\
             time.sleep(600)\n",
        )
        .arg(db)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    child
}

#[test]
fn a_locked_database_is_named_with_the_fix_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let config = DaemonConfig::new(dir.path()).write();
    // A first start makes the spool and the database; then another process
    // takes the write lock.
    let daemon = start_daemon(&config);
    assert!(daemon.sigterm().success());
    let db = dir.path().join("spool/faxbridge.db");
    let before = std::fs::read(&db).unwrap();
    let mut holder = hold_lock(&db);

    let err = run_expecting_failure(&config, Duration::from_secs(60));
    assert!(
        err.contains(&db.display().to_string()),
        "names the file: {err}"
    );
    assert!(err.contains("locked by another process"), "says why: {err}");
    assert!(err.contains("stop that process"), "says the fix: {err}");
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the database was changed"
    );

    // The lock gone, the daemon starts.
    let daemon = start_daemon(&config);
    assert!(daemon.sigterm().success());
}

#[test]
fn a_spool_on_a_read_only_filesystem_is_named_with_the_fix() {
    // A private mount namespace: a tmpfs that is made read-only after a
    // first start. Needs CAP_SYS_ADMIN (root, as the test machine runs).
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("fs");
    std::fs::create_dir_all(&mnt).unwrap();
    let config = DaemonConfig::new(&mnt).write_to("../faxbridge.toml");
    let script = format!(
        "set -e\n\
         mount -t tmpfs tmpfs {mnt}\n\
         (NO_COLOR=1 timeout -s TERM 5 {bin} run --config {config} >/dev/null 2>&1 || true)\n\
         test -f {mnt}/spool/faxbridge.db\n\
         mount -o remount,ro {mnt}\n\
         if NO_COLOR=1 RUST_LOG=warn {bin} run --config {config} 2>&1; then echo STARTED; fi\n",
        mnt = mnt.display(),
        bin = BIN,
        config = config.display(),
    );
    let probe = Command::new("unshare")
        .args(["-m", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !probe {
        eprintln!("SKIPPED: no mount namespaces here (unshare -m failed)");
        return;
    }
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the script failed: {text}");
    assert!(
        !text.contains("STARTED"),
        "started on a read-only spool: {text}"
    );
    let spool = mnt.join("spool");
    assert!(
        text.contains(&format!("spool {} is not writable", spool.display())),
        "names the spool: {text}"
    );
    assert!(text.contains("writable filesystem"), "says the fix: {text}");
}
