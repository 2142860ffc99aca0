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

#[cfg(test)]
mod tests {
    use super::*;

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
