//! `faxbridge run`: the long-lived process.
//!
//! Start-up prepares the spool (created, writable, checked with a probe file
//! that is fsynced and removed), then the daemon waits for signals: SIGTERM or
//! SIGINT stop it, SIGHUP re-reads nothing yet but is acknowledged so that a
//! service manager's reload does not kill it.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use tokio::signal::unix::{SignalKind, signal};
use tracing::info;

use crate::config::Config;

/// Sub-directories of the spool, created at start.
pub const SPOOL_DIRS: [&str; 3] = ["incoming", "outgoing", "tmp"];

/// Run the daemon until SIGTERM or SIGINT.
pub async fn run(config: Config) -> anyhow::Result<()> {
    prepare_spool(&config.general.spool_dir)?;
    info!(spool = %config.general.spool_dir.display(), "faxbridge ready");

    let mut term = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing SIGINT handler")?;
    let mut hup = signal(SignalKind::hangup()).context("installing SIGHUP handler")?;
    loop {
        tokio::select! {
            _ = term.recv() => { info!("SIGTERM: shutting down"); break; }
            _ = int.recv() => { info!("SIGINT: shutting down"); break; }
            _ = hup.recv() => { info!("SIGHUP: nothing to reload"); }
        }
    }
    Ok(())
}

/// Create the spool directories and prove the spool is writable and syncable.
pub fn prepare_spool(spool: &Path) -> anyhow::Result<()> {
    for dir in SPOOL_DIRS {
        let path = spool.join(dir);
        std::fs::create_dir_all(&path)
            .with_context(|| format!("creating spool directory {}", path.display()))?;
    }
    let probe = spool.join("tmp").join(".write-probe");
    let mut f = std::fs::File::create(&probe)
        .with_context(|| format!("spool {} is not writable", spool.display()))?;
    f.write_all(b"probe")
        .and_then(|()| f.sync_all())
        .with_context(|| format!("spool {} cannot be synced to disk", spool.display()))?;
    std::fs::remove_file(&probe).ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spool_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("s");
        prepare_spool(&spool).unwrap();
        for d in SPOOL_DIRS {
            assert!(spool.join(d).is_dir());
        }
    }

    #[test]
    fn unwritable_spool_is_an_error() {
        let err = prepare_spool(Path::new("/proc/faxbridge-spool")).unwrap_err();
        assert!(format!("{err:#}").contains("/proc/faxbridge-spool"));
    }
}
