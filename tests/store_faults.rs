//! The database and the spool when the disk says no at start: a SQLite
//! file locked by another process, and a spool on a read-only filesystem.
//! The daemon stops with a clear error naming the file and the fix, and
//! changes nothing; once the cause is gone it starts normally.
//!
//! Also the `[store]` section: `faxbridge migrate` on the default SQLite
//! file and on a real PostgreSQL server, `check-config` on a bad URL, and a
//! daemon whose PostgreSQL server is not there.

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

    // The pool keeps trying for its acquire timeout (30 s), then gives up.
    let err = run_expecting_failure(&config, Duration::from_secs(90));
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

/// `faxbridge migrate -c CONFIG`: its exit status and output.
fn migrate(config: &std::path::Path) -> (bool, String) {
    let out = Command::new(BIN)
        .args(["migrate", "--config"])
        .arg(config)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The number of migrations in the tree: what a fresh database must get.
fn migrations_in_tree() -> usize {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sql")
        })
        .count()
}

#[test]
fn migrate_applies_the_schema_once_on_sqlite_and_postgresql() {
    let want = migrations_in_tree();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = DaemonConfig::new(dir.path()).write_to("sqlite.toml");
    let url = support::postgres::server().fresh_database();
    let postgres = DaemonConfig::new(dir.path())
        .set("store", &format!("url = {}", support::config::quote(&url)))
        .write_to("postgres.toml");
    for (config, database) in [
        (
            &sqlite,
            dir.path().join("spool/faxbridge.db").display().to_string(),
        ),
        (&postgres, url.clone()),
    ] {
        for round in 0..2 {
            let (ok, out) = migrate(config);
            assert!(ok, "round {round}: {out}");
            assert!(
                out.contains(&database) && out.contains(&format!("{want} migrations applied")),
                "round {round}: {out}"
            );
        }
    }
    // The tables are on the server, not in the spool.
    let out = Command::new("psql")
        .arg(&url)
        .args(["-At", "-c", "SELECT COUNT(*) FROM received_fax"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
}

#[test]
fn a_bad_store_url_is_named_by_check_config_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let config = DaemonConfig::new(dir.path())
        .set("store", "url = \"mysql://fax:secret@db.example/fax\"")
        .write();
    let out = support::config::check_config(&config);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("store.url"), "{text}");
    assert!(text.contains("postgres://USER:PASSWORD@HOST"), "{text}");
    assert!(!text.contains("secret"), "password shown: {text}");
}

#[test]
fn a_postgresql_server_that_is_not_there_is_named_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = DaemonConfig::new(dir.path())
        .set(
            "store",
            &format!("url = \"postgres://fax:secret@127.0.0.1:{port}/fax\""),
        )
        .write();
    // The pool keeps trying for its acquire timeout (30 s), then gives up.
    let err = run_expecting_failure(&config, Duration::from_secs(90));
    assert!(
        err.contains(&format!("postgres://fax:***@127.0.0.1:{port}/fax")),
        "{err}"
    );
    assert!(err.contains("server is reachable"), "{err}");
    assert!(!err.contains("secret"), "password shown: {err}");
}
