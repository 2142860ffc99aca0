//! A real PostgreSQL server (Debian's `postgresql-15`) for the store tests.
//!
//! One server per test binary, started on first use in a temporary
//! directory: `initdb` as the unprivileged `postgres` user (the server
//! refuses to run as root), trust authentication, listening on 127.0.0.1 at
//! a free port and on a socket in its own directory. Each test gets a fresh
//! database of its own. A watcher process stops the server and removes its
//! directory once the test binary has exited.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The running server of this test binary.
pub struct Server {
    port: u16,
    bin: PathBuf,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// Where Debian installs the server's programs.
fn bin_dir() -> Result<PathBuf, String> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("PostgreSQL is not installed (/usr/lib/postgresql: {e})"))?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found
        .pop()
        .ok_or_else(|| "no initdb under /usr/lib/postgresql/*/bin".to_string())
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what}: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start() -> Result<Server, String> {
    let bin = bin_dir()?;
    let dir = std::env::temp_dir().join(format!("faxbridge-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    run(
        Command::new("chown").arg("postgres:postgres").arg(&dir),
        "chown the server directory to postgres",
    )?;
    let data = dir.join("data");
    run(
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin.join("initdb"))
            .args(["--auth=trust", "--username=postgres", "--encoding=UTF8"])
            .args(["--locale=C", "-D"])
            .arg(&data),
        "initdb",
    )?;
    let port = free_port();
    let options = format!(
        "-k {} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off",
        dir.display()
    );
    run(
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .args(["-o", &options, "-l"])
            .arg(dir.join("server.log"))
            .args(["-w", "-t", "60", "start"]),
        "pg_ctl start",
    )?;
    // Stop the server and remove its files once this test binary is gone.
    let watcher = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
         runuser -u postgres -- {pg_ctl} -D {data} -m immediate stop >/dev/null 2>&1; \
         rm -rf {dir}",
        pid = std::process::id(),
        pg_ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        dir = dir.display(),
    );
    Command::new("setsid")
        .args(["sh", "-c", &watcher])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting the server's watcher: {e}"))?;
    Ok(Server { port, bin })
}

/// The server, started on first use; panics with the reason it could not
/// be started.
pub fn server() -> &'static Server {
    match SERVER.get_or_init(start) {
        Ok(s) => s,
        Err(e) => panic!("PostgreSQL for the tests: {e}"),
    }
}

impl Server {
    /// A URL for the server's maintenance database.
    fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Create a new, empty database and return its URL.
    pub fn fresh_database(&self) -> String {
        let name = format!(
            "t{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::Relaxed)
        );
        let psql = self.bin.join("psql");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match run(
                Command::new(&psql)
                    .arg(self.admin_url())
                    .args(["-v", "ON_ERROR_STOP=1", "-q", "-c"])
                    .arg(format!("CREATE DATABASE {name}")),
                "CREATE DATABASE",
            ) {
                Ok(()) => break,
                Err(e) if Instant::now() > deadline => panic!("{e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The server's log, for a failing test to show.
    pub fn log_path(&self) -> PathBuf {
        Path::new(&std::env::temp_dir())
            .join(format!("faxbridge-pg-{}", std::process::id()))
            .join("server.log")
    }
}
