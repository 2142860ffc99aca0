//! Fax signal detection on received G.711 audio: CNG, CED and the V.21
//! preamble, which tell a gateway that a call carries fax and may switch to
//! T.38.
//!
//! T.30 phase A and the start of phase B have three signals a listener can
//! recognise:
//!
//! * **CNG**, sent by the calling fax: 1100 Hz, 0.5 s on, 3 s off;
//! * **CED**, sent by the answering fax: 2100 Hz for 2.6–4 s (the same
//!   tone as the V.25 answer tone ANS);
//! * the **V.21 preamble** before every T.30 frame of either side: HDLC
//!   flags (0x7E) in V.21 channel 2 FSK, 1650 Hz for 1 and 1850 Hz for 0 at
//!   300 bit/s, sent for 1 s before the first frame.
//!
//! A gateway that re-INVITEs to T.38 (T.38 §D.2.3.2 lets either side do it)
//! reacts to the far end's signal: as the calling party it listens for CED
//! or the answerer's V.21 preamble (its DIS); as the answering party for
//! CNG or the caller's V.21 preamble. A 2100 Hz tone alone is ambiguous —
//! data modems answer with it too — but V.25/V.8 data modems send it with
//! phase reversals or 15 Hz amplitude modulation (ANS/PR, ANSam), which the
//! detector tells apart; those are not taken as fax, and the detector keeps
//! listening for a V.21 preamble, which only a fax sends.
//!
//! The DSP is SpanDSP's `modem_connect_tones` receiver (notch-filter tone
//! detectors with cadence checks, and a V.21 demodulator that requires
//! back-to-back flags), wrapped safely in `fax::spandsp`.

use std::fmt;

use crate::fax::{ConnectToneRx, FaxError, connect_tone};

/// The fax role of the far end, which decides the signals listened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FarEnd {
    /// The far end is the calling fax (we answer): listen for CNG and its
    /// V.21 preamble (DCS after our DIS).
    Calling,
    /// The far end is the answering fax (we called): listen for CED and its
    /// V.21 preamble (DIS).
    Answering,
}

/// A fax signal recognised in the far end's audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaxSignal {
    /// Calling tone, 1100 Hz (seen for at least 415 ms of one burst).
    Cng,
    /// Called terminal identification, 2100 Hz without phase reversals or
    /// amplitude modulation (seen for at least 550 ms).
    Ced,
    /// At least 5 back-to-back HDLC flags in V.21 channel 2 (133 ms).
    V21Preamble,
}

impl fmt::Display for FaxSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FaxSignal::Cng => "CNG (1100 Hz)",
            FaxSignal::Ced => "CED (2100 Hz)",
            FaxSignal::V21Preamble => "V.21 preamble (HDLC flags)",
        })
    }
}

/// Watches one direction of audio for the far end's fax signals.
///
/// Feed it 8 kHz linear samples in order; gaps (lost packets) may simply be
/// skipped. Owns SpanDSP state, so it is `Send` but not `Sync`.
pub struct FaxToneDetector {
    far_end: FarEnd,
    /// Answering far end: one CED-or-preamble watcher. Calling far end: a
    /// CNG watcher and a preamble watcher.
    watchers: Vec<ConnectToneRx>,
    data_modem_answer: bool,
}

impl fmt::Debug for FaxToneDetector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaxToneDetector")
            .field("far_end", &self.far_end)
            .field("data_modem_answer", &self.data_modem_answer)
            .finish_non_exhaustive()
    }
}

impl FaxToneDetector {
    /// A detector for the signals of a far end in the given fax role.
    pub fn new(far_end: FarEnd) -> Result<FaxToneDetector, FaxError> {
        let watchers = match far_end {
            FarEnd::Answering => vec![ConnectToneRx::new(connect_tone::FAX_CED_OR_PREAMBLE)?],
            FarEnd::Calling => vec![
                ConnectToneRx::new(connect_tone::FAX_CNG)?,
                ConnectToneRx::new(connect_tone::FAX_PREAMBLE)?,
            ],
        };
        Ok(FaxToneDetector {
            far_end,
            watchers,
            data_modem_answer: false,
        })
    }

    /// The far-end role this detector listens for.
    pub fn far_end(&self) -> FarEnd {
        self.far_end
    }

    /// Process received samples; returns the first fax signal whose onset
    /// falls in this block, if any.
    pub fn process(&mut self, samples: &[i16]) -> Option<FaxSignal> {
        let mut found = None;
        for w in &mut self.watchers {
            w.rx(samples);
            for report in w.take_reports() {
                let signal = match report.code {
                    connect_tone::FAX_CNG => Some(FaxSignal::Cng),
                    connect_tone::ANS => Some(FaxSignal::Ced),
                    connect_tone::FAX_PREAMBLE => Some(FaxSignal::V21Preamble),
                    connect_tone::ANS_PR | connect_tone::ANSAM | connect_tone::ANSAM_PR => {
                        // V.25/V.8 answer tone of a data modem (or of a V.34
                        // fax, which falls back to V.21 with us anyway).
                        self.data_modem_answer = true;
                        None
                    }
                    // A tone stopped.
                    connect_tone::NONE => None,
                    // A code this watch type never gives.
                    _ => None,
                };
                found = found.or(signal);
            }
        }
        found
    }

    /// Whether a modem answer tone with phase reversals or amplitude
    /// modulation (ANS/PR, ANSam) was heard: 2100 Hz that is not plain CED.
    pub fn data_modem_answer_seen(&self) -> bool {
        self.data_modem_answer
    }
}

#[cfg(test)]
mod tests {
    use std::f64::consts::TAU;

    use super::*;
    use crate::fax::{FaxJob, FaxSession, FaxSettings, G711Law, Transport};

    const RATE: f64 = 8000.0;
    /// About -10 dBm0: a typical received fax tone level.
    const AMP: f64 = 7000.0;

    fn tone(freq: f64, secs: f64, phase: &mut f64) -> Vec<i16> {
        let n = (secs * RATE) as usize;
        (0..n)
            .map(|_| {
                let s = (AMP * phase.sin()) as i16;
                *phase = (*phase + TAU * freq / RATE) % TAU;
                s
            })
            .collect()
    }

    fn silence(secs: f64) -> Vec<i16> {
        vec![0; (secs * RATE) as usize]
    }

    /// Feed audio in 20 ms blocks, as the media task does; the time in
    /// seconds and the signal of every detection.
    fn detect(far_end: FarEnd, audio: &[i16]) -> (Vec<(f64, FaxSignal)>, FaxToneDetector) {
        let mut d = FaxToneDetector::new(far_end).unwrap();
        let mut hits = Vec::new();
        for (i, block) in audio.chunks(160).enumerate() {
            if let Some(s) = d.process(block) {
                hits.push((i as f64 * 0.02, s));
            }
        }
        (hits, d)
    }

    fn cng_cadence(cycles: usize) -> Vec<i16> {
        let mut phase = 0.0;
        let mut out = silence(0.2);
        for _ in 0..cycles {
            out.extend(tone(1100.0, 0.5, &mut phase));
            out.extend(silence(3.0));
        }
        out
    }

    /// Continuous-phase binary FSK of V.21 channel 2 (1 = 1650 Hz, 0 =
    /// 1850 Hz, 300 bit/s), sending `octets` LSB first as HDLC does.
    fn v21_ch2(octets: &[u8]) -> Vec<i16> {
        let mut out = Vec::new();
        let mut phase = 0.0f64;
        let mut t = 0.0f64;
        let bit_len = RATE / 300.0;
        for &o in octets {
            for b in 0..8 {
                let f = if (o >> b) & 1 == 1 { 1650.0 } else { 1850.0 };
                t += bit_len;
                while (out.len() as f64) < t {
                    out.push((AMP * phase.sin()) as i16);
                    phase = (phase + TAU * f / RATE) % TAU;
                }
            }
        }
        out
    }

    /// A voice-like signal: a fundamental gliding between 90 and 260 Hz
    /// with harmonics falling off as 1/k, in syllables of varying length.
    fn speech_like(secs: f64) -> Vec<i16> {
        let n = (secs * RATE) as usize;
        let mut phase = 0.0f64;
        (0..n)
            .map(|i| {
                let t = i as f64 / RATE;
                let f0 = 175.0 + 85.0 * (TAU * 0.7 * t).sin() * (TAU * 0.23 * t).cos();
                phase = (phase + TAU * f0 / RATE) % TAU;
                let syllable = (TAU * 3.1 * t).sin().abs() * (0.6 + 0.4 * (TAU * 0.4 * t).sin());
                let v: f64 = (1..=20).map(|k| (k as f64 * phase).sin() / k as f64).sum();
                (AMP * 0.6 * syllable * v) as i16
            })
            .collect()
    }

    /// Uniform white noise from a fixed linear congruential generator.
    fn white_noise(secs: f64) -> Vec<i16> {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        (0..(secs * RATE) as usize)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((x >> 48) as i16) / 3
            })
            .collect()
    }

    #[test]
    fn cng_cadence_is_detected_within_the_first_burst() {
        let (hits, _) = detect(FarEnd::Calling, &cng_cadence(3));
        assert!(!hits.is_empty(), "CNG not detected");
        let (at, signal) = hits[0];
        assert_eq!(signal, FaxSignal::Cng);
        // The burst starts at 0.2 s; SpanDSP confirms it after 415 ms.
        assert!((0.6..=0.72).contains(&at), "detected at {at} s");
        // One onset per burst.
        assert_eq!(hits.len(), 3, "{hits:?}");
    }

    #[test]
    fn cng_alone_does_not_trigger_the_caller_side() {
        // A calling fax listens for the answerer; 1100 Hz is its own tone.
        let (hits, _) = detect(FarEnd::Answering, &cng_cadence(2));
        assert!(hits.is_empty(), "{hits:?}");
    }

    #[test]
    fn ced_is_detected() {
        let mut phase = 0.0;
        let mut audio = silence(0.2);
        audio.extend(tone(2100.0, 3.0, &mut phase));
        let (hits, d) = detect(FarEnd::Answering, &audio);
        assert_eq!(hits.first().map(|h| h.1), Some(FaxSignal::Ced), "{hits:?}");
        let at = hits[0].0;
        assert!((0.7..=1.0).contains(&at), "detected at {at} s");
        assert!(!d.data_modem_answer_seen());
    }

    #[test]
    fn answer_tone_with_phase_reversals_is_not_taken_for_fax() {
        // V.25 ANS/PR: 2100 Hz with a 180° phase reversal every 450 ms, as
        // data modems send it to disable echo cancellers.
        let mut phase = 0.0;
        let mut audio = silence(0.2);
        for _ in 0..8 {
            audio.extend(tone(2100.0, 0.45, &mut phase));
            phase = (phase + TAU / 2.0) % TAU;
        }
        let (hits, d) = detect(FarEnd::Answering, &audio);
        assert!(hits.is_empty(), "{hits:?}");
        assert!(d.data_modem_answer_seen());
    }

    #[test]
    fn ced_does_not_trigger_the_answerer_side() {
        let mut phase = 0.0;
        let (hits, _) = detect(FarEnd::Calling, &tone(2100.0, 3.0, &mut phase));
        assert!(hits.is_empty(), "{hits:?}");
    }

    #[test]
    fn v21_preamble_is_detected_from_either_role() {
        let mut audio = silence(0.3);
        audio.extend(v21_ch2(&[0x7e; 38])); // about 1 s of flags
        for far_end in [FarEnd::Answering, FarEnd::Calling] {
            let (hits, _) = detect(far_end, &audio);
            assert_eq!(
                hits.first().map(|h| h.1),
                Some(FaxSignal::V21Preamble),
                "{far_end:?}: {hits:?}"
            );
            // The flags start at 0.3 s; five of them take 133 ms at
            // 300 bit/s.
            let at = hits[0].0;
            assert!((0.4..=0.6).contains(&at), "{far_end:?} detected at {at} s");
        }
    }

    #[test]
    fn v21_data_that_is_not_flags_is_not_a_preamble() {
        // The same modem carrying a pseudo-random octet stream.
        let mut x = 1u32;
        let octets: Vec<u8> = (0..40)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let o = (x >> 16) as u8;
                if o == 0x7e { 0x55 } else { o }
            })
            .collect();
        let (hits, _) = detect(FarEnd::Calling, &v21_ch2(&octets));
        assert!(hits.is_empty(), "{hits:?}");
    }

    #[test]
    fn speech_noise_and_silence_are_not_fax() {
        for far_end in [FarEnd::Answering, FarEnd::Calling] {
            for (name, audio) in [
                ("speech", speech_like(8.0)),
                ("noise", white_noise(8.0)),
                ("silence", silence(8.0)),
            ] {
                let (hits, d) = detect(far_end, &audio);
                assert!(hits.is_empty(), "{name} as {far_end:?}: {hits:?}");
                assert!(!d.data_modem_answer_seen(), "{name}");
            }
        }
    }

    /// Run a SpanDSP audio fax terminal alone (hearing silence) and return
    /// what it sends, through G.711 as on the wire.
    fn terminal_output(calling_party: bool, secs: f64) -> Vec<i16> {
        let dir = tempfile::tempdir().unwrap();
        let law = G711Law::ALaw;
        let mut s = FaxSession::with_role(
            FaxJob::Receive(dir.path().join("rx.tif")),
            Transport::Audio(law),
            &FaxSettings::default(),
            calling_party,
        )
        .unwrap();
        let mut out = Vec::new();
        for _ in 0..(secs / 0.02) as usize {
            let mut payload = [0u8; 160];
            s.transmit_payload(&mut payload).unwrap();
            out.extend(payload.iter().map(|&c| law.decode(c)));
            s.receive_payload(&[law.idle_octet(); 160]).unwrap();
        }
        out
    }

    #[test]
    fn real_answering_terminal_is_recognised_by_its_ced() {
        let audio = terminal_output(false, 6.0);
        let (hits, _) = detect(FarEnd::Answering, &audio);
        assert_eq!(hits.first().map(|h| h.1), Some(FaxSignal::Ced), "{hits:?}");
        // CED is followed by the DIS preamble.
        assert!(
            hits.iter().any(|h| h.1 == FaxSignal::V21Preamble),
            "{hits:?}"
        );
    }

    #[test]
    fn real_calling_terminal_is_recognised_by_its_cng() {
        let audio = terminal_output(true, 5.0);
        let (hits, _) = detect(FarEnd::Calling, &audio);
        assert_eq!(hits.first().map(|h| h.1), Some(FaxSignal::Cng), "{hits:?}");
    }

    #[test]
    fn detectors_are_created_and_dropped_repeatedly() {
        // Exercises allocation and release of the SpanDSP state and its
        // callback box (leaks or double frees show under valgrind/ASan).
        for _ in 0..200 {
            let mut d = FaxToneDetector::new(FarEnd::Calling).unwrap();
            d.process(&[0; 160]);
            let mut d = FaxToneDetector::new(FarEnd::Answering).unwrap();
            d.process(&[0; 160]);
        }
    }
}
