//! The database: one handle, one schema, SQLite by default, PostgreSQL for clusters.
//!
//! faxbridge keeps its durable state (received faxes, the mail outbox, later
//! the send queue) in one SQL database reached through sqlx's `Any` driver,
//! so every module has a single code path for both back ends. The schema
//! lives in `migrations/` as portable SQL (TEXT, BIGINT, `$n` placeholders,
//! times as epoch milliseconds) and is embedded in the binary and applied
//! at open.
//!
//! The default is a SQLite file in the spool (`spool/faxbridge.db`) in WAL
//! mode with `synchronous = FULL`: a transaction that has returned is on the
//! disk and survives power loss, which the spool's "durable before visible"
//! rule relies on (WAL alone with `NORMAL` may lose the last transactions).

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};

/// File name of the default SQLite database inside the spool directory.
pub const DEFAULT_DB_FILE: &str = "faxbridge.db";

/// The schema, embedded from `migrations/` at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Why the database could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or opened.
    #[error(
        "cannot open the database {target}: {source}; check that the directory exists and is \
         writable (SQLite) or that the server is reachable and the URL correct (PostgreSQL)"
    )]
    Open {
        /// The file or URL (without password).
        target: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// Another daemon already keeps its state in this PostgreSQL database.
    #[error(
        "another faxbridge daemon already uses the database {target}; until nodes can share \
         one database, give each daemon its own [store] url (or stop the other daemon)"
    )]
    InUse {
        /// The URL (without password).
        target: String,
    },
    /// Another process holds the SQLite database's write lock.
    #[error(
        "the database {path} is locked by another process (another faxbridge on the same \
         spool, or a tool holding it open for writing); stop that process, then start again"
    )]
    Locked {
        /// The database file.
        path: String,
    },
    /// The SQLite database cannot be written.
    #[error(
        "the database {path} cannot be written ({reason}); make its directory writable by the \
         user faxbridge runs as, or move [general] spool_dir to a writable filesystem"
    )]
    ReadOnly {
        /// The database file.
        path: String,
        /// What SQLite said.
        reason: String,
    },
    /// The database path cannot be written as a SQLite URL.
    #[error(
        "the database path {0} contains '?', '#' or '%', which cannot be used in a SQLite URL; \
         choose a spool directory without these characters"
    )]
    BadPath(PathBuf),
    /// Applying the embedded schema failed.
    #[error(
        "cannot apply the database schema: {0}; if the database was written by a newer \
         faxbridge, upgrade this one or restore a matching backup"
    )]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// `[store]`: where the daemon keeps its state.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE` for a PostgreSQL
    /// database (the state of a cluster's nodes), or `sqlite:///PATH` for a
    /// SQLite file elsewhere; absent (the default) for the SQLite file
    /// `faxbridge.db` in the spool directory.
    pub url: Option<String>,
}

impl StoreConfig {
    /// Open the configured database and apply the schema: the URL's, or the
    /// SQLite file in `spool_dir`.
    pub async fn open(&self, spool_dir: &Path) -> Result<Store, StoreError> {
        match &self.url {
            Some(url) => Store::connect(url).await,
            None => Store::open_in_spool(spool_dir).await,
        }
    }

    /// The database, for logs and `faxbridge migrate` (password hidden).
    pub fn describe(&self, spool_dir: &Path) -> String {
        match &self.url {
            Some(url) => redact(url),
            None => spool_dir.join(DEFAULT_DB_FILE).display().to_string(),
        }
    }
}

impl crate::problem::Validate for StoreConfig {
    fn problems(&self) -> Vec<crate::problem::Problem> {
        match self.url.as_deref().map(check_url) {
            Some(Err(problem)) => vec![crate::problem::Problem::new(
                "store.url",
                problem,
                "write postgres://USER:PASSWORD@HOST:5432/DATABASE, or leave store.url out \
                 for the SQLite file in the spool",
            )],
            _ => Vec::new(),
        }
    }
}

/// Whether `url` is a database URL the store can open: PostgreSQL with a
/// host and a database named, or SQLite with a path. Only its form is
/// checked; whether the server answers is found at start.
pub fn check_url(url: &str) -> Result<(), String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let rest = &url[url.find("://").map_or(0, |i| i + 3)..];
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        let host = authority.rsplit('@').next().unwrap_or("");
        if host.is_empty() || host.starts_with(':') {
            return Err(format!("{} names no server host", redact(url)));
        }
        let options: sqlx::postgres::PgConnectOptions = url
            .parse()
            .map_err(|e| format!("{} is not a PostgreSQL URL: {e}", redact(url)))?;
        if options.get_database().is_none_or(str::is_empty) {
            return Err(format!(
                "{} names no database (add /DATABASE after the host)",
                redact(url)
            ));
        }
        Ok(())
    } else if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.trim_start_matches("//");
        if path.split('?').next().unwrap_or("").is_empty() {
            return Err(format!("{url} names no SQLite file"));
        }
        url.parse::<sqlx::sqlite::SqliteConnectOptions>()
            .map(|_| ())
            .map_err(|e| format!("{url} is not a SQLite URL: {e}"))
    } else {
        Err(format!(
            "{} is neither a PostgreSQL (postgres://) nor a SQLite (sqlite://) URL",
            redact(url)
        ))
    }
}

/// A handle on the database, cheap to clone (a connection pool).
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// The URL (without password), for errors.
    target: String,
}

/// A daemon's hold on its PostgreSQL database: a session advisory lock on
/// a connection of its own, released when this is dropped or the process
/// ends (the server drops the session).
#[derive(Debug)]
pub struct DaemonHold {
    _conn: Option<sqlx::AnyConnection>,
}

/// The advisory lock key of a daemon's hold ("faxbrdg" in ASCII).
const DAEMON_LOCK_KEY: i64 = 0x0066_6178_6272_6467;

impl Store {
    /// Open (creating if needed) the default SQLite database in `spool_dir`
    /// and apply the schema.
    pub async fn open_in_spool(spool_dir: &Path) -> Result<Store, StoreError> {
        Store::open_sqlite(&spool_dir.join(DEFAULT_DB_FILE)).await
    }

    /// Open (creating if needed) a SQLite database file in WAL mode with
    /// `synchronous = FULL`, and apply the schema.
    pub async fn open_sqlite(path: &Path) -> Result<Store, StoreError> {
        let text = path.to_string_lossy();
        if text.contains(['?', '#', '%']) {
            return Err(StoreError::BadPath(path.to_path_buf()));
        }
        Store::connect(&format!("sqlite://{text}?mode=rwc")).await
    }

    /// Open a database by URL (`sqlite://…` or `postgres://…`) and apply the
    /// schema. PostgreSQL needs the crate's `postgres` driver compiled in.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let target = redact(url);
        let open = |source: sqlx::Error| match sqlite_fault(&source, &target) {
            Some(fault) => fault,
            None => StoreError::Open {
                target: target.clone(),
                source,
            },
        };
        let options: AnyConnectOptions = url.parse().map_err(open)?;
        let sqlite = url.starts_with("sqlite:");
        if sqlite {
            // WAL is a property of the file: set it once, before the pool's
            // connections race for it (switching needs an exclusive lock).
            let mut conn = options.connect().await.map_err(open)?;
            conn.execute("PRAGMA journal_mode = WAL")
                .await
                .map_err(open)?;
            conn.close().await.map_err(open)?;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(if sqlite { 4 } else { 8 })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if sqlite {
                        // Per connection: a committed transaction is fsynced.
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(open)?;
        if sqlite {
            // Prove the file can be written before anything is changed: a
            // lock held elsewhere or a read-only file is said plainly, not
            // found half-way through recovery.
            let probe = async {
                let mut conn = pool.acquire().await?;
                conn.execute("BEGIN IMMEDIATE").await?;
                conn.execute("ROLLBACK").await?;
                Ok::<(), sqlx::Error>(())
            };
            if let Err(e) = probe.await {
                return Err(open(e));
            }
        }
        MIGRATOR.run(&pool).await?;
        Ok(Store { pool, target })
    }

    /// Hold the database for this daemon alone. Nodes cannot share one
    /// database yet (nothing claims work with leases), so a second daemon
    /// on the same PostgreSQL database is refused with [`StoreError::InUse`]
    /// rather than let two take the same jobs and mails. SQLite needs no
    /// hold here: its file lives in the daemon's own spool. Tools that read
    /// or queue (`jobs`, `send`, `migrate`) do not take it.
    pub async fn hold_for_daemon(&self) -> Result<DaemonHold, StoreError> {
        use sqlx::Row;
        if self.target.starts_with("sqlite:") {
            return Ok(DaemonHold { _conn: None });
        }
        let open = |source: sqlx::Error| StoreError::Open {
            target: self.target.clone(),
            source,
        };
        let mut conn = self.pool.acquire().await.map_err(open)?.detach();
        let held: bool = sqlx::query("SELECT pg_try_advisory_lock($1)")
            .bind(DAEMON_LOCK_KEY)
            .fetch_one(&mut conn)
            .await
            .and_then(|row| row.try_get(0))
            .map_err(open)?;
        if held {
            Ok(DaemonHold { _conn: Some(conn) })
        } else {
            Err(StoreError::InUse {
                target: self.target.clone(),
            })
        }
    }

    /// The connection pool, for modules that keep their tables here.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The schema's version (the newest migration applied) and how many
    /// migrations are applied.
    pub async fn schema_version(&self) -> Result<(i64, i64), sqlx::Error> {
        use sqlx::Row;
        let row = sqlx::query(
            "SELECT COALESCE(MAX(version), 0), COUNT(*) FROM _sqlx_migrations WHERE success",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// A cheap query that proves the database answers (health checks).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Close every connection (waits for queries in progress).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A SQLite error that means "locked elsewhere" (SQLITE_BUSY, 5) or "cannot
/// write" (SQLITE_READONLY, 8; SQLITE_CANTOPEN, 14; SQLITE_IOERR, 10), with
/// the file named.
fn sqlite_fault(e: &sqlx::Error, target: &str) -> Option<StoreError> {
    let sqlx::Error::Database(db) = e else {
        return None;
    };
    let path = target
        .strip_prefix("sqlite://")
        .unwrap_or(target)
        .split('?')
        .next()
        .unwrap_or(target)
        .to_string();
    let code = db.code()?;
    // Extended result codes carry the primary code in their low byte.
    let primary = code.parse::<u32>().ok()? & 0xff;
    match primary {
        5 | 6 => Some(StoreError::Locked { path }),
        8 | 10 | 14 => Some(StoreError::ReadOnly {
            path,
            reason: db.message().to_string(),
        }),
        _ => None,
    }
}

/// The URL with any password replaced, for error messages and logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://fax:secret@db.example/fax"),
            "postgres://fax:***@db.example/fax"
        );
        assert_eq!(redact("sqlite:///var/x.db"), "sqlite:///var/x.db");
    }

    #[test]
    fn database_urls_are_checked_for_form() {
        for good in [
            "postgres://fax:secret@db.example:5432/fax",
            "postgresql://fax@10.0.0.5/faxbridge",
            "postgres://fax:secret@db.example/fax?sslmode=require",
            "sqlite:///var/lib/faxbridge/state.db",
            "sqlite:///var/lib/faxbridge/state.db?mode=rwc",
        ] {
            assert_eq!(check_url(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("mysql://fax@db/fax", "neither a PostgreSQL"),
            ("db.example/fax", "neither a PostgreSQL"),
            ("postgres://fax:secret@db.example", "names no database"),
            ("postgres://fax:secret@db.example/", "names no database"),
            ("postgres:///fax", "names no server host"),
            ("postgres://fax:secret@:5432/fax", "names no server host"),
            ("sqlite://", "names no SQLite file"),
        ] {
            let e = check_url(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
            assert!(!e.contains("secret"), "{bad}: password shown: {e}");
        }
    }

    #[test]
    fn the_store_section_names_the_key_and_a_fix() {
        use crate::problem::Validate;
        assert!(StoreConfig::default().problems().is_empty());
        let c = StoreConfig {
            url: Some("postgres://fax:pw@db/".into()),
        };
        let p = c.problems();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].key, "store.url");
        assert!(p[0].fix.contains("postgres://"), "{}", p[0].fix);
        assert_eq!(
            c.describe(Path::new("/var/spool/faxbridge")),
            "postgres://fax:***@db/"
        );
        assert_eq!(
            StoreConfig::default().describe(Path::new("/var/spool/faxbridge")),
            "/var/spool/faxbridge/faxbridge.db"
        );
    }

    #[tokio::test]
    async fn sqlite_is_wal_with_full_sync_and_schema() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_spool(dir.path()).await.unwrap();
        let mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(store.pool())
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        assert_eq!(mode.to_lowercase(), "wal");
        let sync: i64 = sqlx::query("PRAGMA synchronous")
            .fetch_one(store.pool())
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        assert_eq!(sync, 2, "synchronous must be FULL (2)");
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM mail_outbox")
            .fetch_one(store.pool())
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        assert_eq!(n, 0);
        store.close().await;
        // Re-opening applies no migration twice.
        Store::open_in_spool(dir.path()).await.unwrap();
    }

    #[tokio::test]
    async fn bad_path_is_refused() {
        let err = Store::open_sqlite(Path::new("/tmp/a?b.db"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("a?b.db"), "{err}");
    }
}
