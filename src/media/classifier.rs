//! Call-audio classifier: is a bridged call voice, fax or a data modem (a
//! card terminal)?
//!
//! Analogue card terminals (PDQs) dial their acquirer with a modem; carried
//! over VoIP such a line is outside PCI-DSS (the compliance service keeps the flags), so
//! every bridged call is listened to and labelled. The classifier is
//! sans-IO: the bridge feeds it 8 kHz linear samples of each direction
//! (caller→callee and callee→caller) as they pass, usually in 20 ms blocks,
//! and reads a [`Classification`] when the call ends. No audio is kept:
//! each 20 ms block is reduced to a spectrum and a few measures and dropped
//! (the spectrum's window reaches 12 ms into the previous block; the last
//! 40 ms are held in memory to replay to the V.29/V.27ter receivers when
//! they start listening), and the SpanDSP demodulators keep only their
//! filter state.
//!
//! # A flag needs a signature, not a tone
//!
//! Music on hold holds notes; a sustained note near 980, 2100 or 2225 Hz is
//! indistinguishable, on its own, from a modem's calling or answer tone.
//! A single tone (or a second of energy in a modem's band) is therefore at
//! most *suspected*. A data modem is *confirmed* only by a handshake a real
//! modem makes and music cannot: a receiver of that modem type that trains
//! on the signal, in the right band and direction, at the right time:
//!
//! | modem | signature | how it is recognised |
//! |---|---|---|
//! | V.22, V.22bis, Bell 212A | the answerer's 2100 Hz (V.25 ANS) or 2225 Hz (Bell) answer tone, then within 10 s scrambled binary ones on the answerer's 2400 Hz carrier in the same direction and/or on the caller's 1200 Hz carrier in the other | two SpanDSP V.22bis receivers per direction (one per carrier), started by the answer tone, descramble a run of ones while the band holds a spread (not a single-line) signal |
//! | V.29, V.27ter data (FastPOS) | a complete V.29 or V.27ter training sequence (carrier and timing acquisition, equaliser training, a run of scrambled ones checked against the constellation) in a call with no fax signal, with the terminal's 980 Hz calling tone before it or trainings in both directions for high confidence | SpanDSP V.29 (9600/7200/4800) and V.27ter (4800/2400) receivers on both directions |
//!
//! Signals recognised on the way, kept as evidence:
//!
//! | signal | sent by | how it is recognised |
//! |---|---|---|
//! | CNG 1100 Hz, 0.5 s on / 3 s off | calling fax | SpanDSP `modem_connect_tones`; set aside when the 1100 Hz burst lasts over 0.8 s or sits in music |
//! | V.21 ch. 2 HDLC flags, 1650/1850 Hz FSK | both faxes before every T.30 frame | SpanDSP V.21 demodulator, ≥ 5 back-to-back flags |
//! | 2100 Hz answer tone | answering fax (CED) **or** data modem (V.25 ANS) | spectral line, ≥ 400 ms, steady |
//! | 2100 Hz with phase reversals or 15 Hz AM | V.25 ANS/PR, V.8 ANSam (data modems, V.34 fax) | SpanDSP |
//! | 2225 Hz | Bell 103/212A answering modem | spectral line, ≥ 400 ms, steady |
//! | 980 Hz | V.29 "FastPOS" calling card terminal (V.21 ch. 1 mark) | spectral line, ≥ 400 ms, steady |
//! | unscrambled binary 1s on 2400 Hz | V.22/V.22bis answerer, first after ANS | DPSK with a 270° step per 600 Bd symbol puts a line at 2250 Hz |
//! | QAM/DPSK carrier 1200 Hz ±300 Hz | V.22/V.22bis caller | band energy, no single line, steady level, ≥ 1 s |
//! | QAM/DPSK carrier 2400 Hz ±300 Hz | V.22/V.22bis answerer | band energy, no single line, steady level, ≥ 1 s |
//!
//! The front end is a 256-point FFT (Hann window, 31.25 Hz bins, frequency
//! interpolated to a few hertz) every 20 ms block. A tone is a block whose
//! energy sits in one line; a modem carrier fills its band with no line.
//!
//! The demodulators cost CPU, so they listen only when a modem may be
//! talking: the V.22 receivers for 20 s after an answer tone (or another
//! V.22 signal), the V.29/V.27ter receivers from a block out of quiet with
//! its energy in their band and none below 400 Hz (the 40 ms before it are
//! replayed) until all of them have given up on the signal; once V.21
//! flags have shown a fax call, none of them runs again. Their carrier
//! threshold follows the line's noise floor (8 dB above it, between -40 and
//! -20 dBm0), so noise alone neither wakes them nor spoils a training.
//!
//! # Speech and music veto
//!
//! A tone detection is set aside (counted in [`Classification::vetoed`],
//! not kept as evidence) when it belongs to programme audio rather than to
//! a machine:
//!
//! * *pitch movement*: in the second before the tone, or in the 0.6 s after
//!   it, the same direction carries lines at other frequencies (the notes
//!   of a melody, a chord) or a voice-like spectrum; a modem's tone follows
//!   silence (V.25 asks for 1.8 s of it after answer) and is followed by
//!   silence or the modem's own signals;
//! * *harmonic structure*: a note with overtones, or in a chord, puts less
//!   than 80 % of its energy in one line and is no tone at all;
//! * *steadiness*: a modem's tone keeps its frequency within a few hertz
//!   and its level within a few decibels; vibrato and the attack and decay
//!   of a note do not.
//!
//! Signals made by a machine (the tones above, V.21 FSK, modem carriers and
//! training, the spread spectrum of fax page data) are never programme.
//!
//! # Decisions and confidence
//!
//! * **Fax** needs CNG or V.21 flags; a 2100 Hz tone alone is ambiguous.
//!   V.21 flags decide for fax even when modem-like signals were also
//!   seen (only T.30 sends HDLC flags on V.21 channel 2), and a V.29 or
//!   V.27ter training in a call with CNG or flags is fax page data.
//! * **Data modem** with [`Confidence::High`]: the full signature (answer
//!   tone then both modems trained, or the answerer's whole sequence: tone,
//!   unscrambled ones, scrambled ones; a V.29/V.27ter training after the
//!   980 Hz tone or in both directions). [`Confidence::Medium`]: a
//!   signature seen in one direction only. Both are findings
//!   ([`Classification::is_finding`]).
//! * **Data modem** with [`Confidence::Low`] is *suspected*: a modem-only
//!   signal without a signature (2225 Hz or 980 Hz alone, a carrier band
//!   alone). It is reported, never a finding.
//! * **Voice** needs several seconds of speech-like blocks and no other
//!   verdict.
//! * Otherwise **Unknown** (silence, short calls, a lone 2100 Hz tone).

use std::fmt;

use serde::Serialize;

use crate::fax::{DataPump, DataPumpRx, FaxError, V22bisModem};
use crate::media::tones::{FarEnd, FaxSignal, FaxToneDetector};

/// Samples per analysis block: 20 ms at 8 kHz.
const BLOCK: usize = 160;
/// Milliseconds per block.
const BLOCK_MS: u64 = 20;
/// FFT frame: the block and the 96 samples before it.
const FRAME: usize = 256;
/// Spectrum bins, 0 to 4000 Hz.
const NBINS: usize = FRAME / 2 + 1;
/// Width of one bin.
const BIN_HZ: f32 = 8000.0 / FRAME as f32;
/// Mean square level below which a block is silence: about -44 dBm0.
const MIN_POWER: f32 = 1.0e4;
/// Share of a block's energy in one line (±2 bins) for a tone.
const TONE_SHARE: f32 = 0.8;
/// Blocks a tone must last to count (400 ms).
const TONE_MIN_BLOCKS: u32 = 20;
/// Blocks a modem carrier must last to count (1 s).
const CARRIER_MIN_BLOCKS: u32 = 50;
/// Blocks of unscrambled ones to count (200 ms; V.22 callers qualify them
/// after 155 ms).
const USB1_MIN_BLOCKS: u32 = 10;
/// Blocks of descrambled ones on a spread carrier to count (120 ms, about
/// 140 bits at 1200 bit/s).
const ONES_MIN_BLOCKS: u32 = 6;
/// Spread blocks (of at least 40 % of those heard) a V.29/V.27ter
/// carrier must have carried before its training counts.
const PUMP_SPREAD_BLOCKS: u32 = 5;
/// Blocks of a CNG burst left when SpanDSP reports it (a 500 ms burst,
/// reported after about 415 ms).
const CNG_TAIL_BLOCKS: u64 = 5;
/// Blocks kept to replay to the V.29/V.27ter receivers when they start
/// listening (40 ms of audio, in memory only).
const PREROLL: usize = 2;
/// A block this close to the noise floor (dB) is quiet.
const QUIET_ABOVE_FLOOR_DB: f32 = 6.0;
/// Blocks the V.29/V.27ter receivers keep listening after the last block
/// that could belong to a training or its data (300 ms).
const PUMP_HOLD_BLOCKS: u64 = 15;
/// Blocks a V.29/V.27ter receiver may listen to a carrier without finding
/// the start of its training sequence (SpanDSP's find it within 60 ms of
/// the carrier).
const PUMP_ACQUIRE_BLOCKS: u32 = 6;
/// How far the centre of a V.29/V.27ter signal may lie from its carrier.
const PUMP_CENTRE_HZ: f32 = 250.0;
/// Blocks a tone run may miss (lost packets, fades) before it ends.
const GAP_BLOCKS: u32 = 3;
/// Blocks a carrier run may miss: a 20 ms block holds only 12 symbols of
/// random data, so some blocks fall short of the band test.
const CARRIER_GAP_BLOCKS: u32 = 8;
/// Largest frequency wander of a modem tone, Hz.
const TONE_MAX_WANDER_HZ: f32 = 12.0;
/// Mean square level of 0 dBm0 in dB (SpanDSP's scale: +3.14 dBm0 is a
/// full-scale sine).
const DBM0_DB: f32 = 84.15;
/// How fast the noise floor estimate rises, dB per block (0.25 dB/s).
const FLOOR_RISE_DB: f32 = 0.005;
/// The demodulators' carrier threshold: this far above the noise floor,
/// within the limits below (dBm0). The upper limit keeps every signal of
/// -16 dBm0 or more audible whatever the estimate.
const RX_CUTOFF_ABOVE_FLOOR_DB: f32 = 8.0;
const RX_CUTOFF_MIN_DBM0: f32 = -40.0;
const RX_CUTOFF_MAX_DBM0: f32 = -20.0;
/// A block of a modem tone or carrier this far below the run's level is a
/// dip; a modem keeps its level, so at most a fifth of the blocks may dip.
const MAX_LEVEL_DIP_DB: f32 = 3.0;
/// Blocks before a tone looked at by the veto (1 s).
const VETO_BEFORE_BLOCKS: u64 = 50;
/// Blocks after a tone looked at by the veto (0.6 s).
const VETO_AFTER_BLOCKS: u64 = 30;
/// Programme blocks within a veto window that set a tone aside (160 ms).
const VETO_MIN_BLOCKS: u32 = 8;
/// Blocks of programme flags remembered per direction.
const HISTORY: usize = 128;
/// Speech-like time needed for a voice label.
const VOICE_MIN_MS: u64 = 3000;
/// Speech-like time for a high-confidence voice label.
const VOICE_SURE_MS: u64 = 10_000;
/// At most this many evidence records per signal and direction (CNG
/// repeats every 3.5 s for a minute).
const MAX_EVIDENCE_PER_SIGNAL: usize = 4;
/// A training or carrier counts as part of an answer tone's handshake if
/// it starts within this time after the tone ends.
const HANDSHAKE_WINDOW_MS: u64 = 10_000;
/// How long the V.22 receivers listen after the last event that started
/// them (20 s).
const LISTEN_BLOCKS: u64 = 1000;
/// The V.29 and V.27ter receivers run on each direction.
const PUMPS: [DataPump; 5] = [
    DataPump::V29(9600),
    DataPump::V29(7200),
    DataPump::V29(4800),
    DataPump::V27ter(4800),
    DataPump::V27ter(2400),
];

/// Which way audio flows through the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the calling party (the one that sent the INVITE) to the called.
    CallerToCallee,
    /// From the called party back to the caller.
    CalleeToCaller,
}

impl Direction {
    /// Both directions.
    pub const ALL: [Direction; 2] = [Direction::CallerToCallee, Direction::CalleeToCaller];

    fn index(self) -> usize {
        match self {
            Direction::CallerToCallee => 0,
            Direction::CalleeToCaller => 1,
        }
    }

    /// The other direction.
    pub fn reverse(self) -> Direction {
        match self {
            Direction::CallerToCallee => Direction::CalleeToCaller,
            Direction::CalleeToCaller => Direction::CallerToCallee,
        }
    }

    /// Stable short name, as stored: `caller->callee` or `callee->caller`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::CallerToCallee => "caller->callee",
            Direction::CalleeToCaller => "callee->caller",
        }
    }

    /// Parse [`Direction::as_str`].
    pub fn parse(s: &str) -> Option<Direction> {
        Direction::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signal recognised in one direction of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Signal {
    /// Fax calling tone, 1100 Hz with its cadence.
    Cng,
    /// V.21 channel 2 HDLC flags: a T.30 frame preamble (fax only).
    V21Preamble,
    /// A 2100 Hz tone: fax CED or a modem's V.25 answer tone (ambiguous).
    AnswerTone2100,
    /// 2100 Hz with phase reversals or 15 Hz AM (V.25 ANS/PR, V.8 ANSam).
    AnswerToneModulated,
    /// Bell 103/212A answer tone, 2225 Hz.
    Bell2225,
    /// V.22/V.22bis calling modem's carrier band around 1200 Hz.
    V22Carrier1200,
    /// V.22/V.22bis answering modem's carrier band around 2400 Hz.
    V22Carrier2400,
    /// Unscrambled binary ones from a V.22/V.22bis answerer (2250 Hz line).
    V22bisUnscrambledOnes,
    /// V.29 FastPOS calling tone, 980 Hz.
    V29Tone980,
    /// Scrambled binary ones demodulated by a V.22/V.22bis receiver on the
    /// calling modem's 1200 Hz carrier: the caller trained.
    V22ScrambledOnes1200,
    /// Scrambled binary ones demodulated by a V.22/V.22bis receiver on the
    /// answering modem's 2400 Hz carrier: the answerer trained.
    V22ScrambledOnes2400,
    /// A complete V.29 training sequence received.
    V29Training,
    /// A complete V.27ter training sequence received.
    V27terTraining,
}

impl Signal {
    /// Every signal, in report order.
    pub const ALL: [Signal; 13] = [
        Signal::Cng,
        Signal::V21Preamble,
        Signal::AnswerTone2100,
        Signal::AnswerToneModulated,
        Signal::Bell2225,
        Signal::V22Carrier1200,
        Signal::V22Carrier2400,
        Signal::V22bisUnscrambledOnes,
        Signal::V29Tone980,
        Signal::V22ScrambledOnes1200,
        Signal::V22ScrambledOnes2400,
        Signal::V29Training,
        Signal::V27terTraining,
    ];

    /// Stable identifier, as stored and reported.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Cng => "CNG",
            Signal::V21Preamble => "V21Preamble",
            Signal::AnswerTone2100 => "AnswerTone2100",
            Signal::AnswerToneModulated => "AnswerToneModulated",
            Signal::Bell2225 => "Bell2225",
            Signal::V22Carrier1200 => "V22Carrier1200",
            Signal::V22Carrier2400 => "V22Carrier2400",
            Signal::V22bisUnscrambledOnes => "V22bisUnscrambledOnes",
            Signal::V29Tone980 => "V29Tone980",
            Signal::V22ScrambledOnes1200 => "V22ScrambledOnes1200",
            Signal::V22ScrambledOnes2400 => "V22ScrambledOnes2400",
            Signal::V29Training => "V29Training",
            Signal::V27terTraining => "V27terTraining",
        }
    }

    /// Parse [`Signal::as_str`].
    pub fn parse(s: &str) -> Option<Signal> {
        Signal::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// What the signal is, for people reading a report.
    pub fn description(self) -> &'static str {
        match self {
            Signal::Cng => "fax calling tone (1100 Hz)",
            Signal::V21Preamble => "fax V.21 HDLC flags (1650/1850 Hz)",
            Signal::AnswerTone2100 => "2100 Hz answer tone (fax or modem)",
            Signal::AnswerToneModulated => "2100 Hz modem answer tone with phase reversals/AM",
            Signal::Bell2225 => "Bell 212A modem answer tone (2225 Hz)",
            Signal::V22Carrier1200 => "V.22/V.22bis calling modem carrier (1200 Hz)",
            Signal::V22Carrier2400 => "V.22/V.22bis answering modem carrier (2400 Hz)",
            Signal::V22bisUnscrambledOnes => "V.22/V.22bis answerer unscrambled ones",
            Signal::V29Tone980 => "V.29 FastPOS card terminal tone (980 Hz)",
            Signal::V22ScrambledOnes1200 => {
                "V.22/V.22bis calling modem trained (scrambled ones demodulated, 1200 Hz carrier)"
            }
            Signal::V22ScrambledOnes2400 => {
                "V.22/V.22bis answering modem trained (scrambled ones demodulated, 2400 Hz carrier)"
            }
            Signal::V29Training => "V.29 modem training sequence received",
            Signal::V27terTraining => "V.27ter modem training sequence received",
        }
    }

    /// Whether only a data modem sends this signal (fax machines also send
    /// V.29 and V.27ter trainings, and a 2100 Hz tone).
    pub fn is_modem_only(self) -> bool {
        matches!(
            self,
            Signal::Bell2225
                | Signal::V22Carrier1200
                | Signal::V22Carrier2400
                | Signal::V22bisUnscrambledOnes
                | Signal::V29Tone980
                | Signal::V22ScrambledOnes1200
                | Signal::V22ScrambledOnes2400
        )
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One recognised signal: what, which way, when (from the start of the
/// audio fed) and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The signal.
    pub signal: Signal,
    /// The direction it was heard in.
    pub direction: Direction,
    /// Onset, milliseconds from the first sample fed in that direction.
    pub at_ms: u64,
    /// How long it lasted (so far, if still present at the end).
    pub duration_ms: u64,
}

impl Evidence {
    /// When it ended (or was last seen), ms.
    pub fn end_ms(&self) -> u64 {
        self.at_ms + self.duration_ms
    }
}

/// The kind of data modem recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ModemKind {
    /// ITU-T V.22 or V.22bis (1200/2400 bit/s), most dial-up card terminals.
    V22,
    /// Bell 212A (1200 bit/s, North American terminals).
    Bell212A,
    /// V.29 FastPOS (fast-connect card terminals).
    V29FastPos,
    /// V.27ter data (fast-connect card terminals at 2400/4800 bit/s).
    V27ter,
}

impl fmt::Display for ModemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ModemKind::V22 => "V.22/V.22bis",
            ModemKind::Bell212A => "Bell 212A",
            ModemKind::V29FastPos => "V.29 FastPOS",
            ModemKind::V27ter => "V.27ter",
        })
    }
}

/// What a call carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Label {
    /// Not enough to tell (silence, a short call, a lone 2100 Hz tone).
    Unknown,
    /// People talking.
    Voice,
    /// A T.30 fax call.
    Fax,
    /// A data modem, e.g. a card terminal: confirmed by a handshake
    /// signature with [`Confidence::Medium`] or [`Confidence::High`], only
    /// suspected with [`Confidence::Low`].
    DataModem {
        /// Which modem.
        kind: ModemKind,
    },
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Label::Unknown => f.write_str("unknown"),
            Label::Voice => f.write_str("voice"),
            Label::Fax => f.write_str("fax"),
            Label::DataModem { kind } => write!(f, "data modem ({kind})"),
        }
    }
}

/// How sure a label is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// One weak indication. For a data modem: *suspected*, a tone or band
    /// without a handshake; never a finding.
    Low,
    /// One decisive signal. For a data modem: a handshake signature seen in
    /// one direction.
    Medium,
    /// Two or more signals of the same protocol in the right order. For a
    /// data modem: the full handshake signature.
    High,
}

impl Confidence {
    /// Every level, lowest first.
    pub const ALL: [Confidence; 3] = [Confidence::Low, Confidence::Medium, Confidence::High];

    /// Stable identifier, as stored: `low`, `medium`, `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }

    /// Parse [`Confidence::as_str`].
    pub fn parse(s: &str) -> Option<Confidence> {
        Confidence::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The classifier's verdict on the audio fed so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    /// The label.
    pub label: Label,
    /// How sure it is.
    pub confidence: Confidence,
    /// Every signal recognised, by onset time.
    pub evidence: Vec<Evidence>,
    /// Speech-like audio heard, milliseconds (largest of both directions).
    pub speech_ms: u64,
    /// Audio analysed, milliseconds (largest of both directions).
    pub analysed_ms: u64,
    /// Tone detections set aside by the speech/music veto.
    pub vetoed: u32,
}

impl Classification {
    /// Whether a data modem was recognised or suspected.
    pub fn is_data_modem(&self) -> bool {
        matches!(self.label, Label::DataModem { .. })
    }

    /// Whether a data-modem (card terminal) handshake signature was
    /// recognised: a finding (medium or high confidence).
    pub fn is_finding(&self) -> bool {
        self.is_data_modem() && self.confidence >= Confidence::Medium
    }

    /// Whether a data modem is only suspected (a tone or band without a
    /// handshake signature): reported, never a finding.
    pub fn is_suspected(&self) -> bool {
        self.is_data_modem() && self.confidence < Confidence::Medium
    }

    /// The verdict in words, as the call history keeps it: the label, with
    /// "suspected " before a data modem without a signature.
    pub fn verdict(&self) -> String {
        if self.is_suspected() {
            format!("suspected {}", self.label)
        } else {
            self.label.to_string()
        }
    }
}

/// Why a classifier could not be created.
#[derive(Debug, thiserror::Error)]
pub enum ClassifierError {
    /// SpanDSP could not allocate a detector or receiver.
    #[error("cannot create the call classifier's detectors: {0}")]
    Detector(#[from] FaxError),
}

// ---------------------------------------------------------------------------
// Spectrum.

/// A 256-point real FFT (a 128-point complex FFT of the even and odd
/// samples, then split), with a Hann window.
#[derive(Debug, Clone)]
struct Fft {
    window: [f32; FRAME],
    /// e^{-2πik/128}.
    twiddle: [(f32, f32); FRAME / 4],
    /// e^{-2πik/256}.
    split: [(f32, f32); NBINS],
    bitrev: [u8; FRAME / 2],
}

impl Fft {
    fn new() -> Fft {
        use std::f64::consts::TAU;
        let mut window = [0.0; FRAME];
        for (n, w) in window.iter_mut().enumerate() {
            *w = (0.5 - 0.5 * (TAU * n as f64 / FRAME as f64).cos()) as f32;
        }
        let mut twiddle = [(0.0, 0.0); FRAME / 4];
        for (k, t) in twiddle.iter_mut().enumerate() {
            let a = TAU * k as f64 / (FRAME / 2) as f64;
            *t = (a.cos() as f32, -a.sin() as f32);
        }
        let mut split = [(0.0, 0.0); NBINS];
        for (k, t) in split.iter_mut().enumerate() {
            let a = TAU * k as f64 / FRAME as f64;
            *t = (a.cos() as f32, -a.sin() as f32);
        }
        let mut bitrev = [0u8; FRAME / 2];
        for (i, b) in bitrev.iter_mut().enumerate() {
            *b = (i as u8).reverse_bits() >> 1;
        }
        Fft {
            window,
            twiddle,
            split,
            bitrev,
        }
    }

    /// Power spectrum |X[k]|² of the windowed frame, k = 0..=128.
    fn power(&self, x: &[f32; FRAME], out: &mut [f32; NBINS]) {
        const N: usize = FRAME / 2;
        let mut re = [0.0f32; N];
        let mut im = [0.0f32; N];
        for n in 0..N {
            let j = self.bitrev[n] as usize;
            re[j] = x[2 * n] * self.window[2 * n];
            im[j] = x[2 * n + 1] * self.window[2 * n + 1];
        }
        let mut len = 2;
        while len <= N {
            let half = len / 2;
            let step = N / len;
            let mut start = 0;
            while start < N {
                for k in 0..half {
                    let (wr, wi) = self.twiddle[k * step];
                    let a = start + k;
                    let b = a + half;
                    let tr = re[b] * wr - im[b] * wi;
                    let ti = re[b] * wi + im[b] * wr;
                    re[b] = re[a] - tr;
                    im[b] = im[a] - ti;
                    re[a] += tr;
                    im[a] += ti;
                }
                start += len;
            }
            len *= 2;
        }
        for k in 0..NBINS {
            let (zr, zi) = (re[k % N], im[k % N]);
            let m = (N - k % N) % N;
            let (cr, ci) = (re[m], -im[m]);
            // Even samples' transform E and odd samples' O.
            let (er, ei) = ((zr + cr) * 0.5, (zi + ci) * 0.5);
            let (or, oi) = ((zi - ci) * 0.5, -(zr - cr) * 0.5);
            let (wr, wi) = self.split[k];
            let xr = er + wr * or - wi * oi;
            let xi = ei + wr * oi + wi * or;
            out[k] = xr * xr + xi * xi;
        }
    }
}

/// The bin nearest `hz`.
fn bin(hz: f32) -> usize {
    ((hz / BIN_HZ).round() as usize).min(NBINS - 1)
}

/// Lowest and highest bins of the analysed band (62.5–3969 Hz).
const FIRST_BIN: usize = 2;
const LAST_BIN: usize = NBINS - 2;

/// Per-block measurements.
#[derive(Debug, Clone)]
struct Features {
    /// Mean square of the block's samples.
    power: f32,
    /// Power spectrum of the frame ending with the block.
    spec: [f32; NBINS],
    /// Prefix sums of `spec`: `cum[k]` is the sum of bins below k.
    cum: [f32; NBINS + 1],
    /// Energy of the analysed band.
    total: f32,
    /// Frequency of the strongest line, interpolated.
    peak_hz: f32,
    /// Share of the energy within ±2 bins of the strongest line.
    peak_share: f32,
    /// The same for the strongest other line (more than 3 bins away).
    second_share: f32,
    /// Its frequency (bin centre).
    second_hz: f32,
}

impl Features {
    fn new(power: f32, spec: [f32; NBINS]) -> Features {
        let mut cum = [0.0f32; NBINS + 1];
        for k in 0..NBINS {
            cum[k + 1] = cum[k] + spec[k];
        }
        let total = cum[LAST_BIN + 1] - cum[FIRST_BIN];
        let line = |k: usize| cum[(k + 3).min(NBINS)] - cum[k.saturating_sub(2)];
        let mut peak = FIRST_BIN + 1;
        for k in FIRST_BIN + 1..LAST_BIN {
            if spec[k] > spec[peak] {
                peak = k;
            }
        }
        let mut second = 0;
        let mut second_energy = 0.0f32;
        for k in FIRST_BIN + 1..LAST_BIN {
            if k + 3 >= peak && k <= peak + 3 {
                continue;
            }
            if spec[k] >= spec[k - 1] && spec[k] >= spec[k + 1] && spec[k] > second_energy {
                second = k;
                second_energy = spec[k];
            }
        }
        let (peak_share, second_share) = if total > 0.0 {
            (
                line(peak) / total,
                if second > 0 {
                    line(second) / total
                } else {
                    0.0
                },
            )
        } else {
            (0.0, 0.0)
        };
        // Quadratic interpolation of the log spectrum around the peak (Hann
        // window: within about 2 Hz for a clean tone).
        let ln = |v: f32| v.max(1e-9).ln();
        let (a, b, c) = (ln(spec[peak - 1]), ln(spec[peak]), ln(spec[peak + 1]));
        let den = a - 2.0 * b + c;
        let delta = if den < 0.0 {
            (0.5 * (a - c) / den).clamp(-0.5, 0.5)
        } else {
            0.0
        };
        Features {
            power,
            spec,
            cum,
            total,
            peak_hz: (peak as f32 + delta) * BIN_HZ,
            peak_share,
            second_share,
            second_hz: second as f32 * BIN_HZ,
        }
    }

    fn active(&self) -> bool {
        self.power >= MIN_POWER && self.total > 0.0
    }

    /// Energy between two frequencies.
    fn energy(&self, lo_hz: f32, hi_hz: f32) -> f32 {
        let (lo, hi) = (bin(lo_hz).max(FIRST_BIN), bin(hi_hz).min(LAST_BIN));
        if hi < lo {
            return 0.0;
        }
        self.cum[hi + 1] - self.cum[lo]
    }

    /// Share of the block's energy between two frequencies.
    fn band(&self, lo_hz: f32, hi_hz: f32) -> f32 {
        if self.total > 0.0 {
            self.energy(lo_hz, hi_hz) / self.total
        } else {
            0.0
        }
    }

    /// The largest single bin's share of the energy between two
    /// frequencies: about 0.67 for a pure tone, a small fraction for a
    /// spread modem signal.
    fn max_bin_in(&self, lo_hz: f32, hi_hz: f32) -> f32 {
        let (lo, hi) = (bin(lo_hz).max(FIRST_BIN), bin(hi_hz).min(LAST_BIN));
        let e = self.energy(lo_hz, hi_hz);
        if e <= 0.0 {
            return 1.0;
        }
        let mut m = 0.0f32;
        for k in lo..=hi {
            m = m.max(self.spec[k]);
        }
        m / e
    }

    /// A pure tone at `hz` (± `tol`).
    fn tone(&self, hz: f32, tol: f32) -> bool {
        self.active() && self.peak_share >= TONE_SHARE && (self.peak_hz - hz).abs() <= tol
    }

    /// A strong line at `hz` (± `tol`), possibly with sidebands.
    fn line(&self, hz: f32, tol: f32, share: f32) -> bool {
        self.active() && self.peak_share >= share && (self.peak_hz - hz).abs() <= tol
    }

    /// Energy confined to `centre` ± 450 Hz, as a V.22 modem's signal of
    /// any kind (S1, scrambled ones, data) leaves it, with no single line
    /// holding most of it (a note in the band is no modem).
    fn modem_band(&self, centre: f32) -> bool {
        self.active()
            && self.band(centre - 450.0, centre + 450.0) >= 0.7
            && self.band(62.5, 500.0) < 0.1
            && self.peak_share < 0.6
    }

    /// A 600 Bd modem carrier: its band (centre ± 350 Hz) holds the energy,
    /// spread with no dominant line, and the low voice band is empty.
    fn carrier(&self, centre: f32) -> bool {
        self.active()
            && self.band(centre - 350.0, centre + 350.0) >= 0.75
            && self.max_bin_in(centre - 350.0, centre + 350.0) <= 0.2
            && self.band(62.5, 500.0) < 0.08
            && self.peak_share < 0.5
    }

    /// A spread (not single-line) signal in a modem band, looser than
    /// [`Features::carrier`]: what a V.22 receiver demodulating scrambled
    /// ones must be hearing.
    fn spread(&self, centre: f32) -> bool {
        self.active()
            && self.band(centre - 450.0, centre + 450.0) >= 0.6
            && self.max_bin_in(centre - 450.0, centre + 450.0) <= 0.3
    }

    /// V.21 FSK (either channel: its strongest line on one of the four
    /// V.21 frequencies), or the broad flat band of fax and V.29/V.27ter
    /// data.
    fn fax_modem(&self) -> bool {
        self.active()
            && ([980.0, 1180.0, 1650.0, 1850.0]
                .into_iter()
                .any(|hz| (self.peak_hz - hz).abs() <= 30.0)
                && self.band(900.0, 1950.0) >= 0.8
                || (self.band(450.0, 3100.0) >= 0.9 && self.max_bin_in(450.0, 3100.0) <= 0.1))
    }

    /// The spectrum's centre of gravity between two frequencies, Hz.
    fn centroid(&self, lo_hz: f32, hi_hz: f32) -> f32 {
        let (lo, hi) = (bin(lo_hz).max(FIRST_BIN), bin(hi_hz).min(LAST_BIN));
        let (mut m, mut e) = (0.0f32, 0.0f32);
        for k in lo..=hi {
            m += k as f32 * self.spec[k];
            e += self.spec[k];
        }
        if e > 0.0 { m / e * BIN_HZ } else { 0.0 }
    }

    /// A line with an overtone or undertone an octave away.
    fn harmonic(&self) -> bool {
        if self.second_share < 0.05 || self.peak_share < 0.2 {
            return false;
        }
        let r = self.second_hz / self.peak_hz.max(1.0);
        (r - 2.0).abs() < 0.06 || (r - 0.5).abs() < 0.03 || (r - 3.0).abs() < 0.09
    }
}

/// What one block is, for the runs and the veto.
#[derive(Debug, Clone, Copy, Default)]
struct BlockClass {
    tone2100: bool,
    tone2225: bool,
    tone980: bool,
    tone1100: bool,
    usb1: bool,
    carrier1200: bool,
    carrier2400: bool,
    spread1200: bool,
    spread2400: bool,
    /// Energy in the V.29/V.27ter band and almost none below 400 Hz: a
    /// block that may carry a training or its data.
    pump_band: bool,
    /// Two lines hold most of the energy: how every V.29 and V.27ter
    /// training starts (alternations of two points put two lines either
    /// side of the carrier, or the carrier and one side).
    two_lines: bool,
    /// A spread signal over most of the voice band, with no line: what a
    /// V.29/V.27ter modem sends while its equaliser trains and after.
    wide_spread: bool,
    /// Programme audio: music (lines, overtones) or a voice.
    programme: bool,
    /// Speech-like (for the voice label).
    speech: bool,
    /// Centre of gravity of the spectrum between 300 and 3400 Hz.
    centroid_hz: f32,
    /// Level in dB (for steadiness).
    level_db: f32,
    /// Strongest line, Hz.
    peak_hz: f32,
}

impl BlockClass {
    fn of(f: &Features) -> BlockClass {
        let active = f.active();
        let tone2100 = f.tone(2100.0, 15.0);
        let tone2225 = f.tone(2225.0, 12.0);
        let tone980 = f.tone(980.0, 12.0);
        let tone1100 = f.tone(1100.0, 15.0);
        let usb1 = f.line(2250.0, 12.0, 0.45) && !tone2225;
        let carrier1200 = f.carrier(1200.0);
        let carrier2400 = f.carrier(2400.0);
        // Other tones machines send: CNG 1100, the V.17/V.27ter unmodulated
        // carrier 1800, the V.21 frequencies.
        let other_tone = [1100.0, 1800.0, 1650.0, 1850.0, 1180.0]
            .into_iter()
            .any(|hz| f.tone(hz, 15.0));
        let machine = tone2100
            || tone2225
            || tone980
            || usb1
            || carrier1200
            || carrier2400
            || other_tone
            || f.modem_band(1200.0)
            || f.modem_band(2400.0)
            || f.fax_modem();
        let programme = active
            && !machine
            && (f.peak_share >= 0.25 || f.harmonic() || f.band(62.5, 1000.0) >= 0.5);
        let speech = active
            && !machine
            && f.peak_share < 0.7
            && f.band(100.0, 900.0) >= 0.3
            && !carrier1200
            && !carrier2400;
        BlockClass {
            tone2100,
            tone2225,
            tone980,
            tone1100,
            usb1,
            carrier1200,
            carrier2400,
            spread1200: f.spread(1200.0),
            spread2400: f.spread(2400.0),
            pump_band: active && f.band(62.5, 400.0) < 0.1 && f.band(400.0, 3100.0) >= 0.85,
            two_lines: f.peak_share + f.second_share >= 0.6,
            wide_spread: active
                && f.band(400.0, 3200.0) >= 0.8
                && f.max_bin_in(400.0, 3200.0) <= 0.2,
            programme,
            speech,
            centroid_hz: f.centroid(300.0, 3400.0),
            level_db: 10.0 * f.power.max(1.0).log10(),
            peak_hz: f.peak_hz,
        }
    }
}

// ---------------------------------------------------------------------------
// Runs of qualifying blocks become evidence.

/// What a tracked run must satisfy besides its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunKind {
    /// A single tone: steady frequency and level, not part of programme
    /// audio (the veto).
    Tone,
    /// A modem carrier band: steady level.
    Carrier,
    /// Nothing more.
    Plain,
}

/// A signal tracked block by block, with the blocks it needs and the
/// missed blocks it forgives.
#[derive(Debug, Clone, Copy)]
struct Tracked {
    signal: Signal,
    min_blocks: u32,
    gap_blocks: u32,
    kind: RunKind,
}

/// Tracked signals, in `runs` order.
const TRACKED: [Tracked; 9] = [
    Tracked {
        signal: Signal::AnswerTone2100,
        min_blocks: TONE_MIN_BLOCKS,
        gap_blocks: GAP_BLOCKS,
        kind: RunKind::Tone,
    },
    Tracked {
        signal: Signal::Bell2225,
        min_blocks: TONE_MIN_BLOCKS,
        gap_blocks: GAP_BLOCKS,
        kind: RunKind::Tone,
    },
    Tracked {
        signal: Signal::V29Tone980,
        min_blocks: TONE_MIN_BLOCKS,
        gap_blocks: GAP_BLOCKS,
        kind: RunKind::Tone,
    },
    Tracked {
        signal: Signal::V22bisUnscrambledOnes,
        min_blocks: USB1_MIN_BLOCKS,
        gap_blocks: GAP_BLOCKS,
        kind: RunKind::Plain,
    },
    Tracked {
        signal: Signal::V22Carrier1200,
        min_blocks: CARRIER_MIN_BLOCKS,
        gap_blocks: CARRIER_GAP_BLOCKS,
        kind: RunKind::Carrier,
    },
    Tracked {
        signal: Signal::V22Carrier2400,
        min_blocks: CARRIER_MIN_BLOCKS,
        gap_blocks: CARRIER_GAP_BLOCKS,
        kind: RunKind::Carrier,
    },
    Tracked {
        signal: Signal::V22ScrambledOnes1200,
        min_blocks: ONES_MIN_BLOCKS,
        gap_blocks: GAP_BLOCKS,
        kind: RunKind::Plain,
    },
    Tracked {
        signal: Signal::V22ScrambledOnes2400,
        min_blocks: ONES_MIN_BLOCKS,
        gap_blocks: GAP_BLOCKS,
        kind: RunKind::Plain,
    },
    // The 1100 Hz tone under a CNG that SpanDSP reports: never evidence
    // of its own; it tells how long the burst lasted.
    Tracked {
        signal: Signal::Cng,
        min_blocks: u32::MAX,
        gap_blocks: GAP_BLOCKS,
        kind: RunKind::Plain,
    },
];
/// Index of the 1100 Hz run in [`TRACKED`].
const RUN_1100: usize = 8;
/// Longest CNG burst: 0.5 s by T.30, with margin (0.8 s).
const CNG_MAX_BLOCKS: u64 = 40;

/// One tracked signal in one direction.
#[derive(Debug, Clone, Copy)]
struct Run {
    /// Block index where the current run started.
    start: u64,
    /// Block index of its last qualifying block.
    last: u64,
    /// Qualifying blocks in the current run.
    hits: u32,
    /// Non-qualifying blocks since the last hit.
    misses: u32,
    /// The evidence record once the run qualified.
    record: Option<usize>,
    /// Lowest and highest line frequency seen (tones).
    f_min: f32,
    f_max: f32,
    /// Highest level seen, dB, and the blocks more than
    /// [`MAX_LEVEL_DIP_DB`] below the highest level seen before them.
    l_max: f32,
    dips: u32,
}

impl Run {
    const IDLE: Run = Run {
        start: 0,
        last: 0,
        hits: 0,
        misses: 0,
        record: None,
        f_min: f32::MAX,
        f_max: f32::MIN,
        l_max: f32::MIN,
        dips: 0,
    };

    /// Whether the run has kept a modem's steadiness so far (a block at
    /// either end, partly silence, may dip; a decaying or tremolo note dips
    /// often).
    fn steady(&self, kind: RunKind) -> bool {
        let level = self.dips * 5 <= self.hits.max(2);
        match kind {
            RunKind::Tone => level && self.f_max - self.f_min <= TONE_MAX_WANDER_HZ,
            RunKind::Carrier => level,
            RunKind::Plain => true,
        }
    }
}

/// An evidence record; vetoed ones are counted, not reported.
#[derive(Debug, Clone, Copy)]
struct Record {
    evidence: Evidence,
    vetoed: bool,
}

/// A finished tone waiting for the veto's look at what followed it.
#[derive(Debug, Clone, Copy)]
struct AfterCheck {
    record: usize,
    end_block: u64,
    programme: u32,
}

/// One SpanDSP V.29 or V.27ter receiver of a direction.
struct Pump {
    rx: DataPumpRx,
    signal: Signal,
    /// The modem's carrier frequency: its spread signal is centred there.
    carrier_hz: f32,
    /// Block of the latest carrier-up.
    carrier_up: u64,
    /// Blocks heard since then, and how many of them were spread: a
    /// training counts only once enough of what carried it was (a pure
    /// tone can pass a V.27ter receiver's checks; scrambled training and
    /// data are no tone).
    heard: u32,
    spread: u32,
    /// The receiver trained on the current carrier; waiting for spread
    /// signal to confirm it.
    trained: bool,
    /// The receiver found the start of its training sequence.
    in_progress: bool,
    /// The receiver gave up on the current carrier (it parks until the
    /// carrier drops), or found no training sequence in time.
    failed: bool,
    /// The evidence record of the training now in progress.
    record: Option<usize>,
}

impl Pump {
    /// A new carrier (or a fresh start) at block `i`.
    fn reset(&mut self, i: u64) {
        self.carrier_up = i;
        self.heard = 0;
        self.spread = 0;
        self.trained = false;
        self.in_progress = false;
        self.failed = false;
        self.record = None;
    }
}

/// The two V.22bis receivers of a direction, started by an answer tone (or
/// another V.22 signal) and stopped when nothing has started them for
/// [`LISTEN_BLOCKS`]. One listens as a calling modem (it demodulates the
/// answerer's 2400 Hz carrier), one as an answering modem (the caller's
/// 1200 Hz carrier). They only listen: their transmitters are never run.
struct Listeners {
    on_2400: V22bisModem,
    on_1200: V22bisModem,
    /// (bits, ones) received so far, per receiver.
    seen: [(u64, u64); 2],
    until: u64,
}

impl Listeners {
    fn new(until: u64) -> Result<Listeners, FaxError> {
        Ok(Listeners {
            on_2400: V22bisModem::new(2400, true)?,
            on_1200: V22bisModem::new(2400, false)?,
            seen: [(0, 0); 2],
            until,
        })
    }

    /// Feed a block (or lost audio); whether each receiver's new output is
    /// a block's worth of ones: (1200 carrier, 2400 carrier).
    fn feed(&mut self, block: Option<&[i16; BLOCK]>) -> (bool, bool) {
        let mut out = [false; 2];
        for (i, m) in [&mut self.on_1200, &mut self.on_2400]
            .into_iter()
            .enumerate()
        {
            match block {
                Some(b) => m.rx(b),
                None => m.rx_missing(BLOCK),
            }
            let (bits, ones, _) = m.received_ones();
            let (db, dones) = (bits - self.seen[i].0, ones - self.seen[i].1);
            self.seen[i] = (bits, ones);
            out[i] = db >= 12 && dones * 10 >= db * 9;
        }
        (out[0], out[1])
    }
}

/// Per-direction state.
struct DirectionState {
    direction: Direction,
    /// The last [`FRAME`] samples, oldest first.
    frame: [f32; FRAME],
    pending: [i16; BLOCK],
    pending_len: usize,
    blocks: u64,
    speech_blocks: u64,
    calling: FaxToneDetector,
    answering: FaxToneDetector,
    modulated_answer_seen: bool,
    pumps: Vec<Pump>,
    /// The pumps listen until this block.
    pumps_until: u64,
    /// Which of the previous two blocks were quiet (near the noise floor),
    /// one bit each: a training starts out of quiet, as every half-duplex
    /// turn does.
    quiet_before: u8,
    /// The last blocks, replayed to the pumps when they start listening.
    preroll: [[i16; BLOCK]; PREROLL],
    preroll_len: usize,
    listeners: Option<Listeners>,
    runs: [Run; TRACKED.len()],
    /// Noise floor estimate, dB (mean square): follows quiet blocks down at
    /// once and rises by [`FLOOR_RISE_DB`] per block.
    floor_db: Option<f32>,
    /// A CNG record waiting for the end of its 1100 Hz burst.
    cng_pending: Option<usize>,
    /// (block index, programme) of the latest blocks.
    history: [(u64, bool); HISTORY],
    after: Vec<AfterCheck>,
}

/// Programme blocks among `from..to` still in `history`.
fn programme_between(history: &[(u64, bool); HISTORY], from: u64, to: u64) -> u32 {
    (from..to)
        .filter(|&j| {
            let (at, p) = history[(j % HISTORY as u64) as usize];
            at == j && p
        })
        .count() as u32
}

impl DirectionState {
    fn new(direction: Direction) -> Result<DirectionState, ClassifierError> {
        let mut pumps = Vec::with_capacity(PUMPS.len());
        for pump in PUMPS {
            pumps.push(Pump {
                rx: DataPumpRx::new(pump)?,
                signal: match pump {
                    DataPump::V29(_) => Signal::V29Training,
                    DataPump::V27ter(_) => Signal::V27terTraining,
                },
                carrier_hz: match pump {
                    DataPump::V29(_) => 1700.0,
                    DataPump::V27ter(_) => 1800.0,
                },
                carrier_up: 0,
                heard: 0,
                spread: 0,
                trained: false,
                in_progress: false,
                failed: false,
                record: None,
            });
        }
        Ok(DirectionState {
            direction,
            frame: [0.0; FRAME],
            pending: [0; BLOCK],
            pending_len: 0,
            blocks: 0,
            speech_blocks: 0,
            // Either party may be the calling fax (a fax on an ATA port
            // may call or be called), so both directions listen for both
            // roles' signals.
            calling: FaxToneDetector::new(FarEnd::Calling)?,
            answering: FaxToneDetector::new(FarEnd::Answering)?,
            modulated_answer_seen: false,
            pumps,
            pumps_until: 0,
            quiet_before: 0b11,
            preroll: [[0; BLOCK]; PREROLL],
            preroll_len: 0,
            listeners: None,
            runs: [Run::IDLE; TRACKED.len()],
            floor_db: None,
            cng_pending: None,
            history: [(u64::MAX, false); HISTORY],
            after: Vec::new(),
        })
    }
}

/// A streaming classifier for one call.
///
/// Feed both directions as the audio passes ([`CallClassifier::feed`]);
/// ask for [`CallClassifier::classification`] at any time (usually at
/// hang-up). Owns SpanDSP detectors, so it is `Send` but not `Sync`.
pub struct CallClassifier {
    fft: Fft,
    dirs: [DirectionState; 2],
    records: Vec<Record>,
    /// V.21 flags were heard: a fax call, so the demodulators, which look
    /// for card terminals, are no longer needed.
    fax: bool,
}

impl fmt::Debug for CallClassifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallClassifier")
            .field("records", &self.records)
            .finish_non_exhaustive()
    }
}

impl CallClassifier {
    /// A classifier for a new call.
    pub fn new() -> Result<CallClassifier, ClassifierError> {
        Ok(CallClassifier {
            fft: Fft::new(),
            dirs: [
                DirectionState::new(Direction::CallerToCallee)?,
                DirectionState::new(Direction::CalleeToCaller)?,
            ],
            records: Vec::new(),
            fax: false,
        })
    }

    /// Feed received audio of one direction: 8 kHz linear samples in order,
    /// any length (20 ms blocks are usual).
    pub fn feed(&mut self, direction: Direction, mut samples: &[i16]) {
        let d = direction.index();
        while !samples.is_empty() {
            let st = &mut self.dirs[d];
            let take = (BLOCK - st.pending_len).min(samples.len());
            st.pending[st.pending_len..st.pending_len + take].copy_from_slice(&samples[..take]);
            st.pending_len += take;
            samples = &samples[take..];
            if st.pending_len == BLOCK {
                st.pending_len = 0;
                let block = st.pending;
                self.process_block(d, Some(&block));
            }
        }
    }

    /// Account for `samples` of lost audio in one direction (no packet
    /// arrived): time advances; the demodulators keep their timing, and a
    /// run of a signal is neither extended nor broken by the gap.
    pub fn feed_missing(&mut self, direction: Direction, samples: usize) {
        const ZEROS: [i16; BLOCK] = [0; BLOCK];
        let d = direction.index();
        let mut left = samples;
        // Complete a partly filled block with silence first.
        let partial = self.dirs[d].pending_len;
        if partial > 0 {
            let n = left.min(BLOCK - partial);
            self.feed(direction, &ZEROS[..n]);
            left -= n;
        }
        while left >= BLOCK {
            self.process_block(d, None);
            left -= BLOCK;
        }
        if left > 0 {
            self.feed(direction, &ZEROS[..left]);
        }
    }

    /// Start (or keep) the V.22 receivers of both directions.
    fn arm_listeners(&mut self) {
        if self.fax {
            return;
        }
        for st in &mut self.dirs {
            let until = st.blocks + LISTEN_BLOCKS;
            match &mut st.listeners {
                Some(l) => l.until = until,
                None => {
                    // Without memory for two receivers the signature cannot
                    // be confirmed; the tones stay evidence.
                    st.listeners = Listeners::new(until).ok();
                }
            }
        }
    }

    /// Record evidence unless its signal already has the maximum number of
    /// records in that direction; the index of the new record.
    fn push(&mut self, evidence: Evidence, vetoed: bool) -> Option<usize> {
        let same = self
            .records
            .iter()
            .filter(|r| {
                r.evidence.signal == evidence.signal && r.evidence.direction == evidence.direction
            })
            .count();
        if same >= MAX_EVIDENCE_PER_SIGNAL {
            return None;
        }
        self.records.push(Record { evidence, vetoed });
        Some(self.records.len() - 1)
    }

    fn process_block(&mut self, d: usize, block: Option<&[i16; BLOCK]>) {
        let st = &mut self.dirs[d];
        let i = st.blocks;
        st.blocks += 1;
        let at_ms = i * BLOCK_MS;
        let direction = st.direction;

        // The spectrum of the frame ending with this block.
        let class = match block {
            Some(block) => {
                st.frame.copy_within(BLOCK.., 0);
                let mut energy = 0.0f32;
                for (k, &x) in block.iter().enumerate() {
                    let x = f32::from(x);
                    st.frame[FRAME - BLOCK + k] = x;
                    energy += x * x;
                }
                let mut spec = [0.0f32; NBINS];
                self.fft.power(&st.frame, &mut spec);
                Some(BlockClass::of(&Features::new(energy / BLOCK as f32, spec)))
            }
            None => {
                // Lost audio also breaks the spectrum's frame.
                st.frame = [0.0; FRAME];
                None
            }
        };

        // The demodulators take a signal for a carrier only above the line's
        // noise, so noise alone does not start (and spoil) their training.
        if let Some(c) = &class {
            let floor = st
                .floor_db
                .map_or(c.level_db, |f| (f + FLOOR_RISE_DB).min(c.level_db));
            st.floor_db = Some(floor);
        }
        let cutoff = st.floor_db.map_or(RX_CUTOFF_MIN_DBM0, |f| {
            (f - DBM0_DB + RX_CUTOFF_ABOVE_FLOOR_DB).clamp(RX_CUTOFF_MIN_DBM0, RX_CUTOFF_MAX_DBM0)
        });
        for pump in &mut st.pumps {
            pump.rx.set_signal_cutoff(cutoff);
        }
        if let Some(l) = &mut st.listeners {
            l.on_1200.set_signal_cutoff(cutoff);
            l.on_2400.set_signal_cutoff(cutoff);
        }

        // The demodulators hear everything, lost audio as fill-in.
        let mut trained = Vec::new();
        // They listen only from a block that could start a V.29 or V.27ter
        // training (one out of quiet, in their band, with nothing below
        // 400 Hz and two lines holding most of its energy; the two blocks
        // before it are replayed) and only while
        // they see a training: one that has not found the start of its
        // training sequence within [`PUMP_ACQUIRE_BLOCKS`], or gave up, is
        // left alone until the next such block. Speech, with its
        // low-frequency energy, costs almost nothing.
        if let (Some(c), Some(b), false) = (&class, block, self.fax) {
            let floor = st.floor_db.unwrap_or(c.level_db);
            // A training may start late in a block, too weak to tell: the
            // block after it is an onset as well.
            let onset = c.pump_band && c.two_lines && st.quiet_before != 0;
            if onset || (c.pump_band && st.pumps_until > i) {
                let fresh = st.pumps_until <= i;
                for pump in &mut st.pumps {
                    if fresh || (onset && pump.failed) {
                        pump.rx.restart();
                        pump.reset(i);
                        for earlier in &st.preroll[..st.preroll_len] {
                            pump.rx.rx(earlier);
                        }
                    }
                }
                st.pumps_until = i + PUMP_HOLD_BLOCKS;
            }
            st.quiet_before =
                (st.quiet_before << 1 | u8::from(c.level_db < floor + QUIET_ABOVE_FLOOR_DB)) & 0b11;
            st.preroll.rotate_left(1);
            st.preroll[PREROLL - 1] = *b;
            st.preroll_len = (st.preroll_len + 1).min(PREROLL);
        }
        let pumps_on = st.pumps_until > i;
        for (p, pump) in st.pumps.iter_mut().enumerate() {
            if !pumps_on || pump.failed {
                continue;
            }
            match block {
                Some(b) => pump.rx.rx(b),
                None => pump.rx.rx_missing(BLOCK),
            }
            if let Some(c) = &class {
                pump.heard += 1;
                pump.spread += u32::from(
                    c.wide_spread && (c.centroid_hz - pump.carrier_hz).abs() <= PUMP_CENTRE_HZ,
                );
            }
            for status in pump.rx.take_statuses() {
                match status {
                    crate::fax::sig_status::CARRIER_UP => pump.reset(i),
                    crate::fax::sig_status::TRAINING_IN_PROGRESS => pump.in_progress = true,
                    crate::fax::sig_status::TRAINING_SUCCEEDED => {
                        pump.in_progress = true;
                        pump.trained = true;
                    }
                    crate::fax::sig_status::TRAINING_FAILED => pump.failed = true,
                    crate::fax::sig_status::CARRIER_DOWN => {
                        pump.trained = false;
                        pump.record = None;
                    }
                    _ => {}
                }
            }
            if !pump.in_progress && pump.heard >= PUMP_ACQUIRE_BLOCKS {
                pump.failed = true;
            }
            if pump.trained
                && pump.record.is_none()
                && pump.spread >= PUMP_SPREAD_BLOCKS
                && pump.spread * 5 >= pump.heard * 2
            {
                trained.push(p);
            }
        }
        // Every receiver gave up on this signal: stop until the next onset
        // (speech and music end here, a few tens of milliseconds in).
        if pumps_on && st.pumps.iter().all(|p| p.failed) {
            st.pumps_until = i + 1;
        }
        let (ones1200, ones2400) = match &mut st.listeners {
            Some(l) if l.until > i => l.feed(block),
            Some(_) => {
                st.listeners = None;
                (false, false)
            }
            None => (false, false),
        };

        let (Some(block), Some(class)) = (block, class) else {
            st.history[(i % HISTORY as u64) as usize] = (i, false);
            self.after_pumps(d, i, &trained);
            return;
        };

        // Fax signals through SpanDSP.
        let mut fax_hits = Vec::new();
        for det in [&mut st.calling, &mut st.answering] {
            if let Some(sig) = det.process(block) {
                fax_hits.push(sig);
            }
        }
        let modulated =
            st.calling.data_modem_answer_seen() || st.answering.data_modem_answer_seen();
        let new_modulated = modulated && !st.modulated_answer_seen;
        st.modulated_answer_seen |= modulated;

        if class.speech {
            st.speech_blocks += 1;
        }
        st.history[(i % HISTORY as u64) as usize] = (i, class.programme);

        // The veto's look after finished tones.
        let mut vetoes = Vec::new();
        st.after.retain_mut(|c| {
            if class.programme {
                c.programme += 1;
            }
            if c.programme >= VETO_MIN_BLOCKS {
                vetoes.push(c.record);
                return false;
            }
            i < c.end_block + VETO_AFTER_BLOCKS
        });

        // Tracked signals.
        let qualifies = [
            class.tone2100,
            class.tone2225,
            class.tone980,
            class.usb1,
            class.carrier1200,
            class.carrier2400,
            ones1200 && class.spread1200,
            ones2400 && class.spread2400,
            class.tone1100,
        ];
        let mut opened = Vec::new();
        let mut ended = Vec::new();
        let mut unsteady = Vec::new();
        for (k, (t, &hit)) in TRACKED.iter().zip(&qualifies).enumerate() {
            let run = &mut st.runs[k];
            if hit {
                if run.hits == 0 {
                    *run = Run::IDLE;
                    run.start = i;
                }
                run.hits += 1;
                run.misses = 0;
                run.last = i;
                run.f_min = run.f_min.min(class.peak_hz);
                run.f_max = run.f_max.max(class.peak_hz);
                run.l_max = run.l_max.max(class.level_db);
                run.dips += u32::from(class.level_db < run.l_max - MAX_LEVEL_DIP_DB);
            } else if run.hits > 0 {
                run.misses += 1;
                if run.misses > t.gap_blocks {
                    if k == RUN_1100
                        && let Some(r) = st.cng_pending.take()
                    {
                        if run.last + 1 - run.start > CNG_MAX_BLOCKS {
                            // A held 1100 Hz tone: no fax CNG.
                            unsteady.push(r);
                        } else {
                            ended.push(AfterCheck {
                                record: r,
                                end_block: run.last,
                                programme: 0,
                            });
                        }
                    }
                    if let Some(r) = run.record
                        && t.kind == RunKind::Tone
                    {
                        ended.push(AfterCheck {
                            record: r,
                            end_block: run.last,
                            programme: 0,
                        });
                    }
                    *run = Run::IDLE;
                    continue;
                }
            }
            if run.hits >= t.min_blocks {
                let duration_ms = (run.last + 1 - run.start) * BLOCK_MS;
                match run.record {
                    Some(r) => {
                        if let Some(rec) = self.records.get_mut(r) {
                            rec.evidence.duration_ms = duration_ms;
                        }
                        if hit && !run.steady(t.kind) {
                            unsteady.push(r);
                        }
                    }
                    None => {
                        let before = programme_between(
                            &st.history,
                            run.start.saturating_sub(VETO_BEFORE_BLOCKS),
                            run.start,
                        );
                        let vetoed = t.kind == RunKind::Tone
                            && (before >= VETO_MIN_BLOCKS || !run.steady(t.kind))
                            || t.kind == RunKind::Carrier && !run.steady(t.kind);
                        opened.push((k, t.signal, run.start * BLOCK_MS, duration_ms, vetoed));
                    }
                }
            }
        }
        st.after.extend(ended);

        let mut arm = false;
        for (k, signal, start_ms, duration_ms, vetoed) in opened {
            let idx = self.push(
                Evidence {
                    signal,
                    direction,
                    at_ms: start_ms,
                    duration_ms,
                },
                vetoed,
            );
            // Beyond the per-signal cap the run is marked so it is not
            // reported again, with no record to extend.
            self.dirs[d].runs[k].record = Some(idx.unwrap_or(usize::MAX));
            arm |= !vetoed
                && matches!(
                    signal,
                    Signal::AnswerTone2100
                        | Signal::Bell2225
                        | Signal::V22bisUnscrambledOnes
                        | Signal::V22Carrier1200
                        | Signal::V22Carrier2400
                );
        }
        for r in vetoes.into_iter().chain(unsteady) {
            if let Some(rec) = self.records.get_mut(r) {
                rec.vetoed = true;
            }
        }

        // SpanDSP reports an onset once confirmed: CNG after ~415 ms of its
        // burst, flags after 5 flags; record the onset as detected.
        for sig in fax_hits {
            let (signal, duration_ms) = match sig {
                FaxSignal::Cng => (Signal::Cng, 415),
                FaxSignal::V21Preamble => {
                    // Only fax sends HDLC flags on V.21 channel 2: the call is
                    // fax, whatever modem signals follow (its page data is
                    // V.27ter, V.29 or V.17).
                    self.fax = true;
                    for st in &mut self.dirs {
                        st.listeners = None;
                        st.pumps_until = 0;
                    }
                    (Signal::V21Preamble, 133)
                }
                // Plain 2100 Hz is recorded from the spectrum with its
                // duration.
                FaxSignal::Ced => continue,
            };
            let onset = at_ms.saturating_sub(duration_ms);
            // CNG is a tone too: the veto applies (a note of 1100 Hz in a
            // tune with the right rhythm is no fax).
            let (vetoed, end_block) = if signal == Signal::Cng {
                let first = onset / BLOCK_MS;
                let st = &self.dirs[d];
                let before =
                    programme_between(&st.history, first.saturating_sub(VETO_BEFORE_BLOCKS), first);
                (before >= VETO_MIN_BLOCKS, Some(i + CNG_TAIL_BLOCKS))
            } else {
                (false, None)
            };
            let record = self.push(
                Evidence {
                    signal,
                    direction,
                    at_ms: onset,
                    duration_ms,
                },
                vetoed,
            );
            if let (Some(record), Some(end_block), false) = (record, end_block, vetoed) {
                let st = &mut self.dirs[d];
                if st.runs[RUN_1100].hits > 0 {
                    // Judged when the burst ends: its length, then what
                    // follows it.
                    st.cng_pending = Some(record);
                } else {
                    st.after.push(AfterCheck {
                        record,
                        end_block,
                        programme: 0,
                    });
                }
            }
        }
        if new_modulated {
            self.push(
                Evidence {
                    signal: Signal::AnswerToneModulated,
                    direction,
                    at_ms: at_ms.saturating_sub(1000),
                    duration_ms: 1000,
                },
                false,
            );
            arm = true;
        }
        if arm {
            self.arm_listeners();
        }
        self.after_pumps(d, i, &trained);
    }

    /// Record the trainings the V.29/V.27ter receivers of direction `d`
    /// completed in block `i`, and extend the ones in progress.
    fn after_pumps(&mut self, d: usize, i: u64, trained: &[usize]) {
        let direction = self.dirs[d].direction;
        for &p in trained {
            let (signal, up) = {
                let pump = &self.dirs[d].pumps[p];
                (pump.signal, pump.carrier_up)
            };
            let at_ms = up * BLOCK_MS;
            // Receivers of the same modem at other rates may train on the
            // same sequence: one record per training.
            let existing = self.records.iter().position(|r| {
                r.evidence.signal == signal
                    && r.evidence.direction == direction
                    && r.evidence.at_ms.abs_diff(at_ms) <= 600
            });
            let idx = existing.or_else(|| {
                self.push(
                    Evidence {
                        signal,
                        direction,
                        at_ms,
                        duration_ms: (i + 1 - up) * BLOCK_MS,
                    },
                    false,
                )
            });
            // Beyond the per-signal cap: marked, with no record to extend.
            self.dirs[d].pumps[p].record = Some(idx.unwrap_or(usize::MAX));
        }
        for p in 0..self.dirs[d].pumps.len() {
            if let Some(r) = self.dirs[d].pumps[p].record
                && let Some(rec) = self.records.get_mut(r)
            {
                let end = (i + 1) * BLOCK_MS;
                rec.evidence.duration_ms = rec
                    .evidence
                    .duration_ms
                    .max(end.saturating_sub(rec.evidence.at_ms));
            }
        }
    }

    /// The verdict on the audio fed so far.
    pub fn classification(&self) -> Classification {
        // Tones whose look-after is still open are judged on what it saw.
        let pending: Vec<usize> = self
            .dirs
            .iter()
            .flat_map(|d| &d.after)
            .filter(|c| c.programme >= VETO_MIN_BLOCKS)
            .map(|c| c.record)
            .collect();
        let mut vetoed = 0;
        let mut evidence = Vec::new();
        for (n, r) in self.records.iter().enumerate() {
            if r.vetoed || pending.contains(&n) {
                vetoed += 1;
            } else {
                evidence.push(r.evidence);
            }
        }
        evidence.sort_by_key(|e| (e.at_ms, e.direction, e.signal));
        let speech_ms = self
            .dirs
            .iter()
            .map(|d| d.speech_blocks * BLOCK_MS)
            .max()
            .unwrap_or(0);
        let analysed_ms = self
            .dirs
            .iter()
            .map(|d| d.blocks * BLOCK_MS)
            .max()
            .unwrap_or(0);
        let (label, confidence) = decide(&evidence, speech_ms);
        Classification {
            label,
            confidence,
            evidence,
            speech_ms,
            analysed_ms,
            vetoed,
        }
    }
}

// ---------------------------------------------------------------------------
// Decisions.

/// The decision rules of the module documentation, on evidence alone.
pub fn decide(evidence: &[Evidence], speech_ms: u64) -> (Label, Confidence) {
    let seen = |s: Signal| evidence.iter().any(|e| e.signal == s);
    let cng = seen(Signal::Cng);
    let flags = seen(Signal::V21Preamble);

    // Fax: V.21 flags are decisive.
    if flags {
        let confidence = if cng || seen(Signal::AnswerTone2100) {
            Confidence::High
        } else {
            Confidence::Medium
        };
        return (Label::Fax, confidence);
    }
    let modem = modem_verdict(evidence, cng);
    if let Some((kind, confidence)) = modem
        && confidence >= Confidence::Medium
    {
        return (Label::DataModem { kind }, confidence);
    }
    // CNG alone is fax, unless a modem signature contradicts it.
    if cng {
        return (Label::Fax, Confidence::Medium);
    }
    // A modem-only signal without a signature: suspected.
    if let Some((kind, _)) = modem {
        return (Label::DataModem { kind }, Confidence::Low);
    }
    if speech_ms >= VOICE_MIN_MS {
        let confidence = if speech_ms >= VOICE_SURE_MS {
            Confidence::High
        } else {
            Confidence::Medium
        };
        return (Label::Voice, confidence);
    }
    (Label::Unknown, Confidence::Low)
}

/// The data modem the evidence shows, if any, and how sure: a signature
/// (medium, high) or modem-only signals without one (low). `fax_context`:
/// the call carried a fax signal, so V.29/V.27ter trainings are page data.
fn modem_verdict(evidence: &[Evidence], fax_context: bool) -> Option<(ModemKind, Confidence)> {
    let any = |s: Signal, d: Direction, from: u64, to: u64| {
        evidence
            .iter()
            .any(|e| e.signal == s && e.direction == d && e.at_ms > from && e.at_ms <= to)
    };
    let mut best: Option<(ModemKind, Confidence)> = None;
    let mut offer = |kind: ModemKind, confidence: Confidence| {
        if best.is_none_or(|(_, c)| confidence > c) {
            best = Some((kind, confidence));
        }
    };

    // V.22, V.22bis, Bell 212A: an answer tone in one direction, then the
    // answerer trained in that direction or the caller in the other.
    for a in evidence.iter().filter(|e| {
        matches!(
            e.signal,
            Signal::AnswerTone2100 | Signal::AnswerToneModulated | Signal::Bell2225
        )
    }) {
        let kind = if a.signal == Signal::Bell2225 {
            ModemKind::Bell212A
        } else {
            ModemKind::V22
        };
        let (from, to) = (a.at_ms, a.end_ms() + HANDSHAKE_WINDOW_MS);
        let answerer = any(Signal::V22ScrambledOnes2400, a.direction, from, to);
        let caller = any(
            Signal::V22ScrambledOnes1200,
            a.direction.reverse(),
            from,
            to,
        );
        let usb1 = any(Signal::V22bisUnscrambledOnes, a.direction, from, to);
        if answerer && (caller || usb1) {
            offer(kind, Confidence::High);
        } else if answerer || caller {
            offer(kind, Confidence::Medium);
        }
    }
    // Both V.22 modems trained, in opposite directions, without the answer
    // tone (it may have gone before the audio reached us).
    for e in evidence
        .iter()
        .filter(|e| e.signal == Signal::V22ScrambledOnes2400)
    {
        let window = e.at_ms.saturating_sub(HANDSHAKE_WINDOW_MS);
        if any(
            Signal::V22ScrambledOnes1200,
            e.direction.reverse(),
            window,
            e.end_ms() + HANDSHAKE_WINDOW_MS,
        ) {
            offer(ModemKind::V22, Confidence::Medium);
        }
    }

    // V.29 and V.27ter data: a training outside a fax call.
    if !fax_context {
        let trainings: Vec<&Evidence> = evidence
            .iter()
            .filter(|e| matches!(e.signal, Signal::V29Training | Signal::V27terTraining))
            .collect();
        if let Some(first) = trainings.first() {
            let kind = if first.signal == Signal::V29Training {
                ModemKind::V29FastPos
            } else {
                ModemKind::V27ter
            };
            let both_ways = trainings.iter().any(|t| t.direction != first.direction);
            let calling_tone = evidence.iter().any(|e| {
                e.signal == Signal::V29Tone980
                    && e.at_ms < first.at_ms
                    && e.end_ms() + HANDSHAKE_WINDOW_MS >= first.at_ms
            });
            offer(
                kind,
                if both_ways || calling_tone {
                    Confidence::High
                } else {
                    Confidence::Medium
                },
            );
        }
    }

    if best.is_some() {
        return best;
    }
    // Modem-only signals without a signature: suspected.
    let seen = |s: Signal| evidence.iter().any(|e| e.signal == s);
    if seen(Signal::Bell2225) {
        return Some((ModemKind::Bell212A, Confidence::Low));
    }
    if seen(Signal::V29Tone980) {
        return Some((ModemKind::V29FastPos, Confidence::Low));
    }
    if [
        Signal::V22Carrier1200,
        Signal::V22Carrier2400,
        Signal::V22bisUnscrambledOnes,
        Signal::V22ScrambledOnes1200,
        Signal::V22ScrambledOnes2400,
    ]
    .into_iter()
    .any(seen)
    {
        return Some((ModemKind::V22, Confidence::Low));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    const RATE: f64 = 8000.0;
    const AMP: f64 = 7000.0;

    fn tone(freq: f64, secs: f64) -> Vec<i16> {
        (0..(secs * RATE) as usize)
            .map(|i| (AMP * (TAU * freq * i as f64 / RATE).sin()) as i16)
            .collect()
    }

    fn silence(secs: f64) -> Vec<i16> {
        vec![0; (secs * RATE) as usize]
    }

    fn run(caller: &[i16], callee: &[i16]) -> Classification {
        let mut c = CallClassifier::new().unwrap();
        let n = caller.len().max(callee.len());
        for start in (0..n).step_by(BLOCK) {
            for (dir, audio) in [
                (Direction::CallerToCallee, caller),
                (Direction::CalleeToCaller, callee),
            ] {
                let end = (start + BLOCK).min(audio.len());
                if start < end {
                    c.feed(dir, &audio[start..end]);
                } else {
                    c.feed_missing(dir, BLOCK);
                }
            }
        }
        c.classification()
    }

    /// A speech-like signal: a glottal pulse train (pitch gliding 90–240
    /// Hz) through three formant resonators that move between vowels every
    /// 120–250 ms, in syllables and pauses, plus a little noise.
    fn speech(secs: f64, seed: u64) -> Vec<i16> {
        // (F1, F2, F3) of /a/, /i/, /u/, /e/, /o/.
        const VOWELS: [(f64, f64, f64); 5] = [
            (730.0, 1090.0, 2440.0),
            (270.0, 2290.0, 3010.0),
            (300.0, 870.0, 2240.0),
            (530.0, 1840.0, 2480.0),
            (570.0, 840.0, 2410.0),
        ];
        let mut rng = seed | 1;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng >> 11) as f64 / (1u64 << 53) as f64
        };
        let n = (secs * RATE) as usize;
        let mut out: Vec<f64> = Vec::with_capacity(n);
        let mut res = [[0.0f64; 2]; 3];
        let mut phase = 0.0;
        let mut seg_left = 0usize;
        let mut vowel = VOWELS[0];
        let mut voiced = true;
        let mut gain = 1.0;
        for i in 0..n {
            if seg_left == 0 {
                seg_left = ((0.12 + 0.13 * next()) * RATE) as usize;
                vowel = VOWELS[(next() * 5.0) as usize % 5];
                voiced = next() > 0.25;
                gain = 0.5 + next();
            }
            seg_left -= 1;
            let t = i as f64 / RATE;
            let f0 = 165.0 + 75.0 * (TAU * 0.5 * t).sin();
            phase += f0 / RATE;
            let excitation = if phase >= 1.0 {
                phase -= 1.0;
                1.0
            } else {
                0.0
            };
            let noise = next() - 0.5;
            let x = if voiced {
                excitation * 8.0 + 0.05 * noise
            } else {
                0.02 * noise
            };
            let mut y = x;
            for (k, (f, bw)) in [(vowel.0, 80.0), (vowel.1, 100.0), (vowel.2, 150.0)]
                .into_iter()
                .enumerate()
            {
                let r = (-std::f64::consts::PI * bw / RATE).exp();
                let c = 2.0 * r * (TAU * f / RATE).cos();
                let v = y + c * res[k][0] - r * r * res[k][1];
                res[k][1] = res[k][0];
                res[k][0] = v;
                y = v * (1.0 - r);
            }
            out.push(y * gain);
        }
        // Normalise to an RMS of 3000 (about -15 dBm0, a loud talker).
        let rms = (out.iter().map(|v| v * v).sum::<f64>() / n.max(1) as f64).sqrt();
        out.iter()
            .map(|v| (v * 3000.0 / rms.max(1e-9)).clamp(-32000.0, 32000.0) as i16)
            .collect()
    }

    /// A V.22bis call: the answerer's V.25 answer tone (SpanDSP ANS), then
    /// SpanDSP's V.22bis answerer and caller talking to each other.
    fn v22bis_call(secs: f64) -> (Vec<i16>, Vec<i16>) {
        let mut caller = silence(0.5);
        let mut callee = silence(0.5);
        let mut ans = crate::fax::ConnectToneTx::new(crate::fax::GeneratedTone::Ans).unwrap();
        let mut block = [0i16; BLOCK];
        for _ in 0..165 {
            ans.tx(&mut block);
            callee.extend_from_slice(&block);
            caller.extend_from_slice(&[0; BLOCK]);
        }
        let mut a = crate::fax::V22bisModem::new(2400, false).unwrap();
        let mut c = crate::fax::V22bisModem::new(2400, true).unwrap();
        let (mut ab, mut cb) = ([0i16; BLOCK], [0i16; BLOCK]);
        for _ in 0..(secs * 50.0) as usize {
            a.tx(&mut ab);
            c.tx(&mut cb);
            a.rx(&cb);
            c.rx(&ab);
            callee.extend_from_slice(&ab);
            caller.extend_from_slice(&cb);
        }
        (caller, callee)
    }

    fn signals(c: &Classification, d: Direction) -> Vec<Signal> {
        let mut v: Vec<Signal> = c
            .evidence
            .iter()
            .filter(|e| e.direction == d)
            .map(|e| e.signal)
            .collect();
        v.dedup();
        v
    }

    fn blocks_of(mut g: impl FnMut(&mut [i16; BLOCK]), n: usize) -> Vec<i16> {
        let mut out = Vec::with_capacity(n * BLOCK);
        let mut b = [0i16; BLOCK];
        for _ in 0..n {
            g(&mut b);
            out.extend_from_slice(&b);
        }
        out
    }

    /// A V.22 (1200 bit/s) or V.22bis call after `answer_tone` (ANS or the
    /// Bell 2225 Hz tone), both sides made by SpanDSP.
    fn v22_call(
        answer_tone: crate::fax::GeneratedTone,
        rate: u32,
        secs: f64,
    ) -> (Vec<i16>, Vec<i16>) {
        let mut callee = silence(1.9);
        let mut ans = crate::fax::ConnectToneTx::new(answer_tone).unwrap();
        callee.extend(blocks_of(|b| ans.tx(b), 150));
        let mut caller = vec![0i16; callee.len()];
        let mut a = crate::fax::V22bisModem::new(rate, false).unwrap();
        let mut c = crate::fax::V22bisModem::new(rate, true).unwrap();
        let (mut ab, mut cb) = ([0i16; BLOCK], [0i16; BLOCK]);
        for _ in 0..(secs * 50.0) as usize {
            a.tx(&mut ab);
            c.tx(&mut cb);
            a.rx(&cb);
            c.rx(&ab);
            callee.extend_from_slice(&ab);
            caller.extend_from_slice(&cb);
        }
        (caller, callee)
    }

    /// One half-duplex turn of a V.29/V.27ter data exchange: training,
    /// `bits` of data, shutdown.
    fn pump_turn(pump: crate::fax::DataPump, bits: u64, seed: u32) -> Vec<i16> {
        let mut tx = crate::fax::DataPumpTx::new(pump, bits, seed).unwrap();
        let mut out = Vec::new();
        let mut b = [0i16; BLOCK];
        while !tx.finished() && out.len() < 80_000 {
            tx.tx(&mut b);
            out.extend_from_slice(&b);
        }
        out
    }

    /// A fast-connect card terminal call: the terminal's 980 Hz calling
    /// tone (V.21 channel 1 mark), then host and terminal take turns.
    fn fastpos_call(pump: crate::fax::DataPump, with_tone: bool) -> (Vec<i16>, Vec<i16>) {
        let mut caller = silence(0.3);
        if with_tone {
            let mut fsk = crate::fax::FskTx::new(crate::fax::FskChannel::V21Ch1, true, 1).unwrap();
            caller.extend(blocks_of(|b| fsk.tx(b), 60));
        }
        let mut callee = vec![0i16; caller.len()];
        for turn in 0..3u32 {
            let (talker, other) = if turn % 2 == 0 {
                (&mut callee, &mut caller)
            } else {
                (&mut caller, &mut callee)
            };
            talker.extend(silence(0.1));
            talker.extend(pump_turn(pump, 2400 + 1200 * u64::from(turn), 7 + turn));
            other.resize(talker.len(), 0);
        }
        (caller, callee)
    }

    /// A melody in pure (sine) notes and notes with overtones, one held
    /// `hold` seconds at `held_hz`.
    fn melody(held_hz: f64, hold: f64, overtones: bool) -> Vec<i16> {
        let notes = [
            523.25, 659.25, 783.99, held_hz, 698.46, 587.33, 1046.5, 880.0,
        ];
        let mut out = Vec::new();
        let mut phase = 0.0f64;
        for (n, &f) in notes.iter().enumerate() {
            let secs = if f == held_hz {
                hold
            } else {
                0.25 + 0.05 * n as f64
            };
            let len = (secs * RATE) as usize;
            for i in 0..len {
                let env = (i as f64 / 160.0).min(1.0) * (1.0 - i as f64 / len as f64 * 0.3);
                phase += TAU * f / RATE;
                let mut v = phase.sin();
                if overtones && f * 2.0 < 3900.0 {
                    v += 0.4 * (2.0 * phase).sin();
                }
                out.push((4000.0 * env * v) as i16);
            }
        }
        out
    }

    #[test]
    fn v22bis_handshake_is_a_data_modem() {
        let (caller, callee) = v22bis_call(5.0);
        let c = run(&caller, &callee);
        assert_eq!(
            c.label,
            Label::DataModem {
                kind: ModemKind::V22
            },
            "{c:?}"
        );
        assert_eq!(c.confidence, Confidence::High);
        let back = signals(&c, Direction::CalleeToCaller);
        for s in [
            Signal::AnswerTone2100,
            Signal::V22bisUnscrambledOnes,
            Signal::V22Carrier2400,
        ] {
            assert!(back.contains(&s), "{s:?} missing: {c:?}");
        }
        assert!(
            signals(&c, Direction::CallerToCallee).contains(&Signal::V22Carrier1200),
            "{c:?}"
        );
        let tone = c
            .evidence
            .iter()
            .find(|e| e.signal == Signal::AnswerTone2100)
            .unwrap();
        // SpanDSP's ANS: 200 ms of silence, then 2.6 s of 2100 Hz, from 0.5 s.
        assert!((680..=760).contains(&tone.at_ms), "{tone:?}");
        assert!((2400..=2800).contains(&tone.duration_ms), "{tone:?}");
        assert!(
            !c.evidence
                .iter()
                .any(|e| matches!(e.signal, Signal::Cng | Signal::V21Preamble))
        );
    }

    #[test]
    fn bell_212a_answer_tone_is_a_data_modem() {
        let mut g = crate::fax::ConnectToneTx::new(crate::fax::GeneratedTone::BellAns).unwrap();
        let mut callee = silence(0.3);
        let mut block = [0i16; BLOCK];
        for _ in 0..100 {
            g.tx(&mut block);
            callee.extend_from_slice(&block);
        }
        let c = run(&silence(2.3), &callee);
        assert_eq!(
            c.label,
            Label::DataModem {
                kind: ModemKind::Bell212A
            },
            "{c:?}"
        );
        assert_eq!(
            signals(&c, Direction::CalleeToCaller),
            vec![Signal::Bell2225]
        );
    }

    #[test]
    fn fastpos_980_hz_is_a_data_modem() {
        let mut caller = silence(0.2);
        caller.extend(tone(980.0, 1.5));
        let c = run(&caller, &silence(1.7));
        assert_eq!(
            c.label,
            Label::DataModem {
                kind: ModemKind::V29FastPos
            },
            "{c:?}"
        );
        let e = c.evidence[0];
        assert_eq!(
            (e.signal, e.direction),
            (Signal::V29Tone980, Direction::CallerToCallee)
        );
        assert!(
            (180..=240).contains(&e.at_ms) && (1400..=1560).contains(&e.duration_ms),
            "{e:?}"
        );
    }

    #[test]
    fn cng_is_fax_and_2100_alone_is_unknown() {
        let mut g = crate::fax::ConnectToneTx::new(crate::fax::GeneratedTone::FaxCng).unwrap();
        let mut caller = Vec::new();
        let mut block = [0i16; BLOCK];
        for _ in 0..400 {
            g.tx(&mut block);
            caller.extend_from_slice(&block);
        }
        let c = run(&caller, &silence(8.0));
        assert_eq!(c.label, Label::Fax, "{c:?}");
        assert!(signals(&c, Direction::CallerToCallee).contains(&Signal::Cng));

        let mut callee = silence(0.5);
        callee.extend(tone(2100.0, 3.3));
        let c = run(&silence(3.8), &callee);
        assert_eq!(c.label, Label::Unknown, "{c:?}");
        assert_eq!(
            signals(&c, Direction::CalleeToCaller),
            vec![Signal::AnswerTone2100]
        );
    }

    #[test]
    fn speech_is_voice_and_never_modem() {
        for seed in 1..=4 {
            let c = run(&speech(12.0, seed), &speech(12.0, seed + 100));
            assert_eq!(c.label, Label::Voice, "seed {seed}: {c:?}");
            assert!(c.evidence.is_empty(), "seed {seed}: {c:?}");
        }
    }

    #[test]
    fn decisions_follow_the_rules() {
        let ev = |signal, at_ms| Evidence {
            signal,
            direction: Direction::CalleeToCaller,
            at_ms,
            duration_ms: 500,
        };
        // Flags decide for fax even beside modem-like signals.
        let (l, _) = decide(
            &[ev(Signal::V22Carrier2400, 0), ev(Signal::V21Preamble, 10)],
            0,
        );
        assert_eq!(l, Label::Fax);
        // An answer tone long before a carrier is not one handshake.
        let (l, c) = decide(
            &[
                ev(Signal::AnswerTone2100, 0),
                ev(Signal::V22Carrier2400, 60_000),
            ],
            0,
        );
        assert_eq!(
            (l, c),
            (
                Label::DataModem {
                    kind: ModemKind::V22
                },
                Confidence::Low
            )
        );
        // A modem signal outweighs speech.
        let (l, _) = decide(&[ev(Signal::Bell2225, 0)], 20_000);
        assert_eq!(
            l,
            Label::DataModem {
                kind: ModemKind::Bell212A
            }
        );
        assert_eq!(decide(&[], 2000), (Label::Unknown, Confidence::Low));
        assert_eq!(decide(&[], 4000), (Label::Voice, Confidence::Medium));
        assert_eq!(decide(&[], 12_000), (Label::Voice, Confidence::High));
        assert_eq!(
            decide(&[ev(Signal::AnswerTone2100, 0)], 0),
            (Label::Unknown, Confidence::Low)
        );
        let at = |signal, direction, at_ms| Evidence {
            signal,
            direction,
            at_ms,
            duration_ms: 500,
        };
        let (up, down) = (Direction::CallerToCallee, Direction::CalleeToCaller);
        let v22 = Label::DataModem {
            kind: ModemKind::V22,
        };
        // Answer tone, then both modems trained: the full signature.
        let full = [
            at(Signal::AnswerTone2100, down, 0),
            at(Signal::V22ScrambledOnes2400, down, 3_000),
            at(Signal::V22ScrambledOnes1200, up, 3_100),
        ];
        assert_eq!(decide(&full, 0), (v22, Confidence::High));
        // One side trained: medium, still a finding.
        assert_eq!(decide(&full[..2], 0), (v22, Confidence::Medium));
        // The caller's training must be in the other direction.
        let wrong_way = [full[0], at(Signal::V22ScrambledOnes1200, down, 3_100)];
        assert_eq!(decide(&wrong_way, 0), (v22, Confidence::Low));
        // Training long after the tone is not its handshake.
        let late = [full[0], at(Signal::V22ScrambledOnes2400, down, 20_000)];
        assert_eq!(decide(&late, 0), (v22, Confidence::Low));
        // Lone tones are suspected at most.
        for (s, kind) in [
            (Signal::Bell2225, ModemKind::Bell212A),
            (Signal::V29Tone980, ModemKind::V29FastPos),
        ] {
            assert_eq!(
                decide(&[at(s, up, 0)], 30_000),
                (Label::DataModem { kind }, Confidence::Low)
            );
        }
        // A V.29 training: a finding outside fax, confirmed by the calling
        // tone before it, page data in a fax call.
        let fastpos = Label::DataModem {
            kind: ModemKind::V29FastPos,
        };
        let training = at(Signal::V29Training, down, 2_000);
        assert_eq!(decide(&[training], 0), (fastpos, Confidence::Medium));
        assert_eq!(
            decide(&[at(Signal::V29Tone980, up, 300), training], 0),
            (fastpos, Confidence::High)
        );
        assert_eq!(
            decide(&[training, at(Signal::V29Training, up, 4_000)], 0),
            (fastpos, Confidence::High)
        );
        assert_eq!(
            decide(&[at(Signal::Cng, up, 0), training], 0),
            (Label::Fax, Confidence::Medium)
        );
    }

    #[test]
    fn fft_matches_a_direct_transform() {
        let fft = Fft::new();
        let mut x = [0.0f32; FRAME];
        for (n, v) in x.iter_mut().enumerate() {
            *v = (1000.0 * (TAU * 1234.5 * n as f64 / RATE).sin()
                + 300.0 * (TAU * 377.0 * n as f64 / RATE).cos()
                + ((n * 7919) % 101) as f64) as f32;
        }
        let mut got = [0.0f32; NBINS];
        fft.power(&x, &mut got);
        for (k, &g) in got.iter().enumerate() {
            let (mut re, mut im) = (0.0f64, 0.0f64);
            for (n, &v) in x.iter().enumerate() {
                let a = -TAU * (k * n) as f64 / FRAME as f64;
                let w = f64::from(v) * f64::from(fft.window[n]);
                re += w * a.cos();
                im += w * a.sin();
            }
            let want = re * re + im * im;
            assert!(
                (f64::from(g) - want).abs() <= 1e-3 * want.max(1e6),
                "bin {k}: {g} vs {want}"
            );
        }
    }

    #[test]
    fn tone_frequencies_are_measured_to_a_few_hertz() {
        let fft = Fft::new();
        for hz in [980.0, 987.77, 1100.0, 2100.0, 2225.0, 2250.0, 2400.0] {
            let mut x = [0.0f32; FRAME];
            for (n, v) in x.iter_mut().enumerate() {
                *v = (5000.0 * (TAU * hz * n as f64 / RATE).sin()) as f32;
            }
            let mut spec = [0.0f32; NBINS];
            fft.power(&x, &mut spec);
            let f = Features::new(1.0e7, spec);
            assert!(
                (f64::from(f.peak_hz) - hz).abs() < 3.0,
                "{hz}: {}",
                f.peak_hz
            );
            assert!(f.peak_share > 0.95, "{hz}: {}", f.peak_share);
        }
    }

    #[test]
    fn v22_and_bell_212a_handshakes_are_findings() {
        use crate::fax::GeneratedTone;
        for (tone, rate, kind) in [
            (GeneratedTone::Ans, 1200, ModemKind::V22),
            (GeneratedTone::AnsPr, 2400, ModemKind::V22),
            (GeneratedTone::BellAns, 1200, ModemKind::Bell212A),
        ] {
            let (caller, callee) = v22_call(tone, rate, 5.0);
            let c = run(&caller, &callee);
            assert_eq!(c.label, Label::DataModem { kind }, "{tone:?}: {c:#?}");
            assert_eq!(c.confidence, Confidence::High, "{tone:?}: {c:#?}");
            assert!(c.is_finding());
            let back = signals(&c, Direction::CalleeToCaller);
            assert!(back.contains(&Signal::V22ScrambledOnes2400), "{c:#?}");
            assert!(
                signals(&c, Direction::CallerToCallee).contains(&Signal::V22ScrambledOnes1200),
                "{c:#?}"
            );
        }
    }

    #[test]
    fn fast_connect_trainings_are_findings_and_the_calling_tone_confirms() {
        use crate::fax::DataPump;
        for pump in [
            DataPump::V29(9600),
            DataPump::V29(4800),
            DataPump::V27ter(4800),
            DataPump::V27ter(2400),
        ] {
            let (caller, callee) = fastpos_call(pump, true);
            let c = run(&caller, &callee);
            let kind = match pump {
                DataPump::V29(_) => ModemKind::V29FastPos,
                DataPump::V27ter(_) => ModemKind::V27ter,
            };
            assert_eq!(c.label, Label::DataModem { kind }, "{pump:?}: {c:#?}");
            assert_eq!(c.confidence, Confidence::High, "{pump:?}: {c:#?}");
            assert!(signals(&c, Direction::CallerToCallee).contains(&Signal::V29Tone980));
            // One training alone, no tone: a signature in one direction.
            let turn = pump_turn(pump, 4800, 3);
            let c = run(&silence(1.0), &[silence(0.5), turn].concat());
            assert_eq!(
                (c.label, c.confidence),
                (Label::DataModem { kind }, Confidence::Medium),
                "{pump:?}: {c:#?}"
            );
        }
    }

    #[test]
    fn a_training_in_a_fax_call_is_fax_page_data() {
        let mut g = crate::fax::ConnectToneTx::new(crate::fax::GeneratedTone::FaxCng).unwrap();
        let caller = blocks_of(|b| g.tx(b), 300);
        let mut callee = silence(4.0);
        callee.extend(pump_turn(crate::fax::DataPump::V29(9600), 9600, 5));
        let c = run(&caller, &callee);
        assert_eq!(c.label, Label::Fax, "{c:#?}");
        assert!(signals(&c, Direction::CalleeToCaller).contains(&Signal::V29Training));
    }

    #[test]
    fn sustained_notes_in_a_melody_are_vetoed() {
        for held in [980.0, 1100.0, 1200.0, 2100.0, 2225.0, 2400.0] {
            for overtones in [false, true] {
                let mut music = Vec::new();
                for _ in 0..3 {
                    music.extend(melody(held, 2.0, overtones));
                }
                let c = run(&silence(music.len() as f64 / RATE), &music);
                assert!(!c.is_data_modem(), "{held} Hz: {c:#?}");
                assert!(
                    !c.evidence.iter().any(|e| e.signal.is_modem_only()),
                    "{held} Hz: {c:#?}"
                );
            }
        }
        // The same note alone, after silence and before silence: a tone a
        // machine could have sent, so suspected, never a finding.
        let mut lone = silence(1.5);
        lone.extend(tone(2225.0, 2.0));
        lone.extend(silence(1.0));
        let c = run(&silence(4.5), &lone);
        assert_eq!(
            (c.label, c.confidence),
            (
                Label::DataModem {
                    kind: ModemKind::Bell212A
                },
                Confidence::Low
            ),
            "{c:#?}"
        );
        assert!(c.is_suspected() && !c.is_finding());
        assert_eq!(c.verdict(), "suspected data modem (Bell 212A)");
    }

    /// Nanoseconds this thread has run on a CPU
    /// (`/proc/thread-self/schedstat`).
    fn thread_cpu_ns() -> Option<u64> {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    #[test]
    fn cpu_per_call_second() {
        // Both directions of a V.22bis call (the V.22 receivers run), and
        // of a conversation (the most common call; the V.29/V.27ter
        // receivers try each syllable).
        let (caller, callee) = v22bis_call(10.0);
        let talk = (speech(20.0, 7), speech(20.0, 8));
        for (what, (caller, callee)) in [("V.22bis call", (caller, callee)), ("conversation", talk)]
        {
            let secs = caller.len() as f64 / RATE;
            let (t, cpu) = (std::time::Instant::now(), thread_cpu_ns());
            let _ = run(&caller, &callee);
            // CPU time of this thread when the kernel tells it (other work
            // on a shared machine does not count), else wall-clock time.
            let spent = match (cpu, thread_cpu_ns()) {
                (Some(a), Some(b)) => (b - a) as f64 / 1e6,
                _ => t.elapsed().as_secs_f64() * 1000.0,
            };
            let ms = spent / secs;
            eprintln!("classifier CPU, {what}: {ms:.3} ms per second of call (both directions)");
            // 500 calls on 2 cores leave 4 ms per call-second; release
            // builds measure about 1 ms. Unoptimised test builds stay well
            // under 20.
            assert!(ms < 20.0, "classifier too slow: {ms:.3} ms per call-second");
        }
    }
}
