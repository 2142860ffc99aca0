//! Test signals: speech-like audio for the call classifier, the same
//! generator `faxbridge bench bridge` plays.

pub use faxbridge::bench::bridge::speech;
