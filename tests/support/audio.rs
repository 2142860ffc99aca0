//! Test signals: speech-like audio for the call classifier, the same
//! generator `faxbridge bench bridge` plays.

/// `secs` of speech-like audio from `seed`, scaled to `level` RMS.
pub fn speech(secs: f64, seed: u64, level: f64) -> Vec<i16> {
    faxbridge::media::synth::speech(secs, seed, level)
}
