//! Built-in benchmarks behind `faxbridge bench …`: each measures one part of
//! the daemon on this machine and prints a table for BENCHMARKS.md.

pub mod channels;
pub mod docs;
pub mod engine;
pub mod intake;
