//! Durable files: the one way faxbridge puts a file on disk so that a crash
//! or power cut leaves either the old file or the complete new one, never a
//! torn one.
//!
//! A file is written to a temporary name beside its final one
//! (`.<name>.<pid>.<n>.tmp`, so leftovers are easy to find and remove),
//! fsynced, renamed into place, and then the directory is fsynced so the
//! rename itself survives (POSIX makes a rename durable only once the
//! directory entry is on disk). This is the spool's "durable before visible"
//! rule; the spool's call records, the mail outbox and rendered documents all
//! use it.
//!
//! The other way round, [`read_bounded`] reads a configuration-time file (the
//! config itself, certificates, keys, tokens) with a size limit, so that a
//! path pointing at `/dev/zero` or a huge log file gives an error instead of
//! a daemon that hangs at start or eats all memory.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The largest configuration-time file [`read_bounded`] callers accept: far
/// beyond any config, PEM bundle (the system one is about 200 KiB) or token.
pub const CONFIG_FILE_LIMIT: u64 = 4 << 20;

/// Reads all of `path` if it holds at most `limit` bytes; a larger (or
/// endless) file is an `InvalidData` error naming the limit.
pub fn read_bounded(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut data = Vec::new();
    File::open(path)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut data)?;
    if data.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {limit} bytes; is it the right file?"),
        ));
    }
    Ok(data)
}

/// How carefully an output file is put on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Temporary file, fsync of the file, rename, fsync of the directory:
    /// a crash at any point leaves the old file or the complete new one. The
    /// daemon's path.
    #[default]
    Durable,
    /// Temporary file and rename only: a reader never sees a partial file
    /// and a failed write leaves an existing file untouched, but after a
    /// power cut the new file may be missing. Enough for a command-line
    /// conversion whose user can run it again; each fsync waits for the
    /// disk (0.3 ms to several ms).
    Atomic,
}

/// A durable write that failed: what was being done, to which file.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}: {source}", path.display())]
pub struct WriteError {
    /// `create`, `write`, `fsync`, `rename into place` or `fsync directory`.
    pub action: &'static str,
    /// The file (or directory) concerned.
    pub path: PathBuf,
    /// What the system said.
    #[source]
    pub source: io::Error,
}

impl From<WriteError> for io::Error {
    fn from(e: WriteError) -> io::Error {
        io::Error::new(e.source.kind(), e.to_string())
    }
}

/// Write `bytes` to `path` durably.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_with(path, Durability::Durable, |w| w.write_all(bytes))
}

/// Write `path` through a temporary file renamed into place, with the fsyncs
/// `durability` asks for; `produce` writes the content through a buffered
/// writer. On error the temporary file is removed and `path` is untouched.
pub fn write_with<T>(
    path: &Path,
    durability: Durability,
    produce: impl FnOnce(&mut BufWriter<File>) -> io::Result<T>,
) -> Result<T, WriteError> {
    static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);
    let durable = durability == Durability::Durable;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_string());
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    fn fail(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> WriteError {
        let path = path.to_path_buf();
        move |source| WriteError {
            action,
            path,
            source,
        }
    }
    let result = (|| {
        let f = File::create(&tmp).map_err(fail("create", &tmp))?;
        let mut w = BufWriter::with_capacity(64 * 1024, f);
        let value = produce(&mut w).map_err(fail("write", &tmp))?;
        let f = w
            .into_inner()
            .map_err(|e| fail("write", &tmp)(e.into_error()))?;
        if durable {
            f.sync_all().map_err(fail("fsync", &tmp))?;
        }
        drop(f);
        std::fs::rename(&tmp, path).map_err(fail("rename into place", path))?;
        if durable {
            sync_dir(&dir).map_err(fail("fsync directory", &dir))?;
        }
        Ok(value)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// fsync a file written by someone else (the fax engine's TIFF) so its
/// content survives a power cut.
pub fn sync_file(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// fsync a directory, so that entries created, renamed or removed in it
/// survive a power cut.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// True for a temporary file [`write_with`] left behind after a crash.
pub fn is_leftover(file_name: &str) -> bool {
    file_name.starts_with('.') && file_name.ends_with(".tmp")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_replaced_whole_and_no_temporary_file_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("record");
        write(&path, b"first").unwrap();
        write(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["record"]);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_leftover() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("doc");
        write(&path, b"old").unwrap();
        let err = write_with(&path, Durability::Atomic, |w| {
            w.write_all(b"half")?;
            Err::<(), _>(io::Error::other("renderer failed"))
        })
        .unwrap_err();
        assert_eq!(err.action, "write");
        assert!(is_leftover(
            &err.path.file_name().unwrap().to_string_lossy()
        ));
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_missing_directory_is_named_in_the_error() {
        let err = write(Path::new("/nonexistent-faxbridge-dir/x"), b"x").unwrap_err();
        assert_eq!(err.action, "create");
        assert!(
            err.to_string().contains("/nonexistent-faxbridge-dir/"),
            "{err}"
        );
    }

    #[test]
    fn read_bounded_refuses_endless_and_large_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("small");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read_bounded(&path, 5).unwrap(), b"12345");
        let e = read_bounded(&path, 4).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("larger than 4 bytes"), "{e}");
        let e = read_bounded(Path::new("/dev/zero"), 1 << 10).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            read_bounded(&dir.path().join("missing"), 10)
                .unwrap_err()
                .kind(),
            io::ErrorKind::NotFound
        );
    }
}
