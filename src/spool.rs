//! The receive spool: what survives a crash between "call answered" and
//! "fax recorded for mail".
//!
//! Postfix discipline: before a fax call is answered, a small call record
//! (`incoming/<id>.call`: caller, called number, route, start time) is
//! written, fsynced and renamed into place, and the directory is fsynced.
//! The engine then writes `incoming/<id>.tif`. When the call ends the TIFF is
//! fsynced and the fax is recorded in the outbox store; only then is the call
//! record removed. A daemon killed at any moment in between leaves a call
//! record whose fax the store does not know: [`interrupted_calls`] finds them
//! at start so the pages that did arrive are still mailed.
//!
//! A full disk is watched here too ([`SpaceGuard`]): new work (a fax call,
//! a fax mail) is refused for now while the spool's filesystem has less
//! than `[general] spool_min_free_mb` free, and a write that fails for want
//! of space says so, so that what was accepted is never lost half-written.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Everything known about a fax call when it is answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Fax id: spool file stem and mail `Message-ID` part.
    pub id: String,
    /// Calling number (SIP From user), empty when withheld.
    pub caller: String,
    /// Called number (DID).
    pub called: String,
    /// Route name chosen for the called number.
    pub route: String,
    /// When the call was answered, milliseconds since the Unix epoch.
    pub started_at_ms: u64,
    /// The last page was confirmed to the sender (MCF to EOP): the pages
    /// in the TIFF are the whole fax even if the call was cut off after.
    #[serde(default)]
    pub document_confirmed: bool,
}

impl CallRecord {
    /// A record for a call answered now. The id is made from the time and
    /// the SIP Call-ID, so it is unique and safe in file names.
    pub fn new(call_id: &str, caller: &str, called: &str, route: &str) -> CallRecord {
        let now = SystemTime::now();
        CallRecord {
            id: fax_id(now, call_id),
            caller: caller.to_string(),
            called: called.to_string(),
            route: route.to_string(),
            started_at_ms: now
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis() as u64,
            document_confirmed: false,
        }
    }

    /// When the call was answered.
    pub fn started_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.started_at_ms)
    }
}

/// A fax id: `YYYYMMDDTHHMMSS-<hash of Call-ID>`, letters, digits and `-`.
pub fn fax_id(at: SystemTime, call_id: &str) -> String {
    let secs = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let (y, mo, d, h, mi, s) = crate::clock::civil_from_unix(secs as i64);
    // FNV-1a: short, stable, no dependency; uniqueness comes from the Call-ID.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in call_id.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}-{hash:016x}")
}

/// The incoming directory of a spool.
pub fn incoming_dir(spool: &Path) -> PathBuf {
    spool.join("incoming")
}

/// Where the engine writes the pages of this call.
pub fn tiff_path(spool: &Path, id: &str) -> PathBuf {
    incoming_dir(spool).join(format!("{id}.tif"))
}

fn record_path(spool: &Path, id: &str) -> PathBuf {
    incoming_dir(spool).join(format!("{id}.call"))
}

/// Durably write the call record ([`crate::durable::write`]).
pub fn write_record(spool: &Path, record: &CallRecord) -> std::io::Result<()> {
    let text = toml::to_string(record).map_err(std::io::Error::other)?;
    Ok(crate::durable::write(
        &record_path(spool, &record.id),
        text.as_bytes(),
    )?)
}

/// Remove the call record once the fax is recorded in the store.
pub fn remove_record(spool: &Path, id: &str) -> std::io::Result<()> {
    match fs::remove_file(record_path(spool, id)) {
        Ok(()) => sync_dir(&incoming_dir(spool)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

use crate::durable::sync_dir;
pub use crate::durable::sync_file;

/// Call records left by calls that never reached the store, oldest first.
/// Unreadable records are reported with their path so an admin can look.
pub fn interrupted_calls(spool: &Path) -> std::io::Result<Vec<Result<CallRecord, PathBuf>>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(incoming_dir(spool))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "call") {
            let parsed = fs::read_to_string(&path)
                .ok()
                .and_then(|t| toml::from_str::<CallRecord>(&t).ok());
            found.push(parsed.ok_or(path));
        }
    }
    found.sort_by_key(|r| r.as_ref().map(|c| c.started_at_ms).unwrap_or(0));
    Ok(found)
}

/// Free space on a filesystem, as `statvfs` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreeSpace {
    /// Bytes an unprivileged writer may still use (`f_bavail`).
    pub available: u64,
    /// Size of the filesystem in bytes.
    pub total: u64,
}

impl FreeSpace {
    /// The free space of the filesystem holding `dir`.
    pub fn of(dir: &Path) -> std::io::Result<FreeSpace> {
        let st = rustix::fs::statvfs(dir).map_err(std::io::Error::from)?;
        Ok(FreeSpace {
            available: st.f_bavail.saturating_mul(st.f_frsize),
            total: st.f_blocks.saturating_mul(st.f_frsize),
        })
    }
}

/// What the free space means for new work and for a disk-full episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpaceState {
    /// Less than the minimum is free: refuse new work for now.
    Low,
    /// Enough to take new work, but not enough to call a disk-full episode
    /// over (under [`RESUME_FREE`] free, or the free space is unknown): a
    /// write may still fail, and says so itself.
    Tight,
    /// Plenty: new work is taken and a disk-full episode is over.
    Roomy,
}

/// Free space at which a disk-full episode is over even with a minimum of 0
/// (1 MiB: a few received pages and the database's journal).
pub const RESUME_FREE: u64 = 1 << 20;

/// The decision on new work: `free` (None when `statvfs` failed) against
/// `min_free` bytes. A minimum of 0 never refuses.
pub fn space_state(free: Option<FreeSpace>, min_free: u64) -> SpaceState {
    match free {
        Some(f) if f.available < min_free => SpaceState::Low,
        Some(f) if f.available >= min_free.max(RESUME_FREE) => SpaceState::Roomy,
        _ => SpaceState::Tight,
    }
}

/// How one observation changes a disk-full episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpisodeChange {
    /// Nothing new: the alert (if any) was raised already.
    Same,
    /// The disk just became full: raise the alert, once.
    Began,
    /// Space is back: log it; the next filling is a new episode.
    Ended,
}

/// The episode step from `was_full` on seeing `state`.
pub fn episode_change(was_full: bool, state: SpaceState) -> EpisodeChange {
    match (was_full, state) {
        (false, SpaceState::Low) => EpisodeChange::Began,
        (true, SpaceState::Roomy) => EpisodeChange::Ended,
        _ => EpisodeChange::Same,
    }
}

/// True when `e` says the filesystem (or the user's quota) is full.
pub fn is_storage_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull
        || e.kind() == std::io::ErrorKind::QuotaExceeded
        || matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
}

/// True when a database error says the disk is full (SQLite's
/// `SQLITE_FULL`, "database or disk is full", or an I/O error of that kind).
pub fn is_sqlite_full(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.code().is_some_and(|c| c == "13" || c.starts_with("13"))
                || d.message().contains("database or disk is full")
        }
        sqlx::Error::Io(io) => is_storage_full(io),
        _ => e.to_string().contains("database or disk is full"),
    }
}

/// The spool's free space, watched: new work is refused for now while it
/// is below the minimum, and an operator alert is raised once per episode
/// (when the disk fills; the end of the episode is logged). Clones share
/// one episode.
#[derive(Clone)]
pub struct SpaceGuard {
    inner: std::sync::Arc<GuardInner>,
}

struct GuardInner {
    dir: PathBuf,
    min_free: u64,
    full: std::sync::atomic::AtomicBool,
    alerts: Option<std::sync::Arc<dyn crate::alert::Alerts>>,
}

/// The spool has too little free space for new work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the spool {dir} has {available_mb} MiB free, less than [general] spool_min_free_mb = {min_mb}"
)]
pub struct LowSpace {
    /// The spool.
    pub dir: PathBuf,
    /// MiB free.
    pub available_mb: u64,
    /// The configured minimum.
    pub min_mb: u64,
}

impl std::fmt::Debug for SpaceGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpaceGuard")
            .field("dir", &self.inner.dir)
            .field("min_free", &self.inner.min_free)
            .finish()
    }
}

impl SpaceGuard {
    /// Watch the filesystem of `dir`, refusing new work below
    /// `min_free_mb` MiB; alerts go to `alerts` (the log only without).
    pub fn new(
        dir: &Path,
        min_free_mb: u64,
        alerts: Option<std::sync::Arc<dyn crate::alert::Alerts>>,
    ) -> SpaceGuard {
        SpaceGuard {
            inner: std::sync::Arc::new(GuardInner {
                dir: dir.to_path_buf(),
                min_free: min_free_mb.saturating_mul(1 << 20),
                full: std::sync::atomic::AtomicBool::new(false),
                alerts,
            }),
        }
    }

    /// Before taking new work: `Err` while less than the minimum is free.
    pub fn check(&self) -> Result<(), LowSpace> {
        let free = FreeSpace::of(&self.inner.dir).ok();
        match space_state(free, self.inner.min_free) {
            state @ (SpaceState::Tight | SpaceState::Roomy) => {
                self.observe(state, "");
                Ok(())
            }
            SpaceState::Low => {
                let low = LowSpace {
                    dir: self.inner.dir.clone(),
                    available_mb: free.map_or(0, |f| f.available >> 20),
                    min_mb: self.inner.min_free >> 20,
                };
                self.observe(SpaceState::Low, &low.to_string());
                Err(low)
            }
        }
    }

    /// A write for `what` failed with `e`: when the disk is full, the
    /// episode begins (one alert). True when it was a full disk.
    pub fn note_write_error(&self, what: &str, e: &std::io::Error) -> bool {
        let full = is_storage_full(e);
        if full {
            self.note_full(what, &e.to_string());
        }
        full
    }

    /// A write for `what` failed because the disk is full (`detail`).
    pub fn note_full(&self, what: &str, detail: &str) {
        self.observe(
            SpaceState::Low,
            &format!(
                "{what} failed on the spool {}: {detail}",
                self.inner.dir.display()
            ),
        );
    }

    fn observe(&self, state: SpaceState, detail: &str) {
        use std::sync::atomic::Ordering;
        let change = match state {
            SpaceState::Low => episode_change(self.inner.full.swap(true, Ordering::SeqCst), state),
            SpaceState::Roomy => {
                episode_change(self.inner.full.swap(false, Ordering::SeqCst), state)
            }
            SpaceState::Tight => EpisodeChange::Same,
        };
        match change {
            EpisodeChange::Same => {}
            EpisodeChange::Began => {
                let subject = format!("spool disk full ({})", self.inner.dir.display());
                let body = format!(
                    "{detail}. New fax calls are answered 503 and fax mail 452 (the senders retry) until space is freed; faxes already received are kept and mailed once there is room. Free space on the filesystem of {}; the daemon resumes by itself.",
                    self.inner.dir.display()
                );
                match &self.inner.alerts {
                    Some(a) => a.alert(&subject, &body),
                    None => {
                        crate::alert::count();
                        tracing::error!("ALERT: {subject}: {body}");
                    }
                }
            }
            EpisodeChange::Ended => tracing::info!(
                spool = %self.inner.dir.display(),
                "the spool has free space again; taking new faxes"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_work_is_refused_only_below_the_minimum() {
        const MB: u64 = 1 << 20;
        let free = |available| {
            Some(FreeSpace {
                available,
                total: 16 * MB,
            })
        };
        use SpaceState::*;
        // (free space, minimum, state)
        let table = [
            (free(0), 0, Tight),
            (free(MB - 1), 0, Tight),
            (free(MB), 0, Roomy),
            (free(0), MB, Low),
            (free(MB - 1), MB, Low),
            (free(MB), MB, Roomy),
            (free(10 * MB), 4 * MB, Roomy),
            (free(4 * MB), 4 * MB, Roomy),
            (free(2 * MB), 4 * MB, Low),
            (None, 4 * MB, Tight),
            (None, 0, Tight),
            (free(u64::MAX), u64::MAX, Roomy),
        ];
        for (free, min, want) in table {
            assert_eq!(space_state(free, min), want, "{free:?} against {min}");
        }
    }

    #[test]
    fn one_alert_per_episode() {
        use EpisodeChange::*;
        use SpaceState::*;
        let table = [
            (false, Roomy, Same),
            (false, Tight, Same),
            (false, Low, Began),
            (true, Low, Same),
            (true, Tight, Same),
            (true, Roomy, Ended),
        ];
        for (was, state, want) in table {
            assert_eq!(episode_change(was, state), want, "{was} on {state:?}");
        }
    }

    #[test]
    fn full_disks_are_recognised() {
        let enospc = std::io::Error::from_raw_os_error(libc::ENOSPC);
        assert!(is_storage_full(&enospc));
        assert!(is_storage_full(&std::io::Error::from_raw_os_error(
            libc::EDQUOT
        )));
        assert!(!is_storage_full(&std::io::Error::from_raw_os_error(
            libc::EACCES
        )));
        assert!(is_sqlite_full(&sqlx::Error::Io(enospc)));
        assert!(!is_sqlite_full(&sqlx::Error::RowNotFound));
    }

    #[test]
    fn the_guard_alerts_once_and_sees_space_come_back() {
        struct Count(std::sync::atomic::AtomicU32);
        impl crate::alert::Alerts for Count {
            fn alert(&self, _: &str, _: &str) {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let count = std::sync::Arc::new(Count(Default::default()));
        // A minimum no disk has: always low.
        let guard = SpaceGuard::new(dir.path(), u64::MAX >> 21, Some(count.clone()));
        assert!(guard.check().is_err());
        assert!(guard.check().is_err());
        guard.note_full("writing", "No space left on device");
        assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        // A guard without a minimum ends the episode when there is room
        // (a temporary directory has more than a MiB free).
        let relaxed = SpaceGuard {
            inner: std::sync::Arc::new(GuardInner {
                dir: dir.path().to_path_buf(),
                min_free: 0,
                full: std::sync::atomic::AtomicBool::new(true),
                alerts: Some(count.clone()),
            }),
        };
        assert!(relaxed.check().is_ok());
        assert!(
            relaxed.note_write_error("writing", &std::io::Error::from_raw_os_error(libc::ENOSPC))
        );
        assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn fax_id_is_dated_and_file_safe() {
        let at = UNIX_EPOCH + Duration::from_secs(1_795_000_000); // 2026-11-18T...
        let id = fax_id(at, "a84b4c76e66710@pc33.atlanta.example.com");
        assert!(id.starts_with("20261118T"), "{id}");
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        assert_ne!(id, fax_id(at, "another-call-id"));
    }

    #[test]
    fn records_survive_and_are_found_until_removed() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(incoming_dir(dir.path())).unwrap();
        let rec = CallRecord::new("call-1@host", "01611234567", "100", "inbox");
        write_record(dir.path(), &rec).unwrap();
        fs::write(incoming_dir(dir.path()).join("junk.call"), "not toml [").unwrap();
        let found = interrupted_calls(dir.path()).unwrap();
        assert_eq!(found.len(), 2);
        assert!(found.iter().any(|r| r.as_ref() == Ok(&rec)));
        assert!(found.iter().any(|r| r.is_err()));
        remove_record(dir.path(), &rec.id).unwrap();
        remove_record(dir.path(), &rec.id).unwrap();
        assert_eq!(interrupted_calls(dir.path()).unwrap().len(), 1);
    }
}
