//! Built-in benchmarks behind `faxbridge bench …`: each measures one part of
//! the daemon on this machine and prints a table for BENCHMARKS.md.

pub mod bridge;
pub mod channels;
pub mod docs;
pub mod engine;
pub mod intake;

/// A temporary directory removed however a benchmark ends.
pub(crate) struct WorkDir(pub(crate) std::path::PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
