//! Built-in benchmarks behind `faxbridge bench …`: each measures one part of
//! the daemon on this machine and prints a table for BENCHMARKS.md.

pub mod bridge;
pub mod channels;
pub mod docs;
pub mod engine;
pub mod intake;

/// Why a load benchmark (`bench channels`, `bench bridge`) could not run.
#[derive(Debug, thiserror::Error)]
pub enum LoadBenchError {
    /// A file, socket or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The system error.
        source: std::io::Error,
    },
    /// Something else (daemon start, SIP endpoints, store, calls).
    #[error("{0}")]
    Other(String),
}

/// Maps an I/O error to [`LoadBenchError::Io`] saying what was being done.
pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> LoadBenchError {
    let what = what.into();
    move |source| LoadBenchError::Io { what, source }
}

/// A temporary directory removed however a benchmark ends.
pub(crate) struct WorkDir(pub(crate) std::path::PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
