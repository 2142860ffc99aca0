//! A labelled corpus of calls for the call classifier, built by the tests
//! from real implementations, not recorded or hand-picked:
//!
//! * non-payment: speech from espeak-ng (several voices and languages,
//!   resampled to 8 kHz by sox), music (melodies across octaves with
//!   sustained notes and chords at the frequencies that fooled the old
//!   detector, synthesised here and by sox), DTMF from SpanDSP, UK and
//!   North American call-progress tones, and fax calls between two
//!   SpanDSP T.30 terminals over G.711 (V.17, V.29, V.27ter, with and
//!   without ECM);
//! * payment: card-terminal handshakes between SpanDSP modems: V.22 and
//!   V.22bis after a V.25 answer tone, Bell 212A (V.22 modulation after
//!   the 2225 Hz answer tone), and V.29/V.27ter fast-connect exchanges
//!   with and without the terminal's 980 Hz calling tone.
//!
//! Every call's timing, levels, notes and texts come from a seeded
//! generator, so the corpus is the same on every run. Each call is then
//! heard under every [`Condition`]: as made, with noise at 20 dB SNR, 10 dB
//! louder and quieter, through A-law and µ-law, and with 1 % of its 20 ms
//! packets lost (fed to the classifier as missing time, as the relay does).

use std::f64::consts::TAU;
use std::io::Write;
use std::process::{Command, Stdio};

use faxbridge::fax::{
    ConnectToneTx, DataPump, DataPumpTx, DtmfTx, FaxJob, FaxSession, FaxSettings, FskChannel,
    FskTx, G711Law, GeneratedTone, GuardTone, Modem, Transport, V22bisModem,
};
use faxbridge::media::classifier::{CallClassifier, Classification, Direction};

/// Samples per 20 ms packet.
pub const BLOCK: usize = 160;
const RATE: f64 = 8000.0;

/// One call of the corpus: what it is and both directions of its audio.
#[derive(Debug, Clone)]
pub struct Call {
    /// Unique name, e.g. `speech-03 en-gb/fr-fr`.
    pub name: String,
    /// Kind of call, a row of the confusion matrix, e.g. `music`.
    pub category: &'static str,
    /// A card-terminal handshake: must be flagged.
    pub payment: bool,
    /// Caller → callee audio, 8 kHz linear.
    pub caller: Vec<i16>,
    /// Callee → caller audio.
    pub callee: Vec<i16>,
}

/// How a call reaches the classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// As generated.
    Clean,
    /// White Gaussian noise 20 dB below the call's active level.
    Noise20dB,
    /// 10 dB louder (clipped at full scale).
    Louder10dB,
    /// 10 dB quieter.
    Quieter10dB,
    /// Through G.711 A-law and back.
    ALaw,
    /// Through G.711 µ-law and back.
    MuLaw,
    /// 1 % of the 20 ms packets of each direction lost.
    Loss1Pct,
}

impl Condition {
    /// Every condition.
    pub const ALL: [Condition; 7] = [
        Condition::Clean,
        Condition::Noise20dB,
        Condition::Louder10dB,
        Condition::Quieter10dB,
        Condition::ALaw,
        Condition::MuLaw,
        Condition::Loss1Pct,
    ];
}

/// A small deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn f(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f()
    }

    /// An index below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.f() * n as f64) as usize % n.max(1)
    }

    /// Standard normal (Box-Muller).
    pub fn gauss(&mut self) -> f64 {
        let u = self.f().max(1e-12);
        let v = self.f();
        (-2.0 * u.ln()).sqrt() * (TAU * v).cos()
    }
}

fn silence(secs: f64) -> Vec<i16> {
    vec![0; (secs * RATE) as usize]
}

fn to_i16(x: &[f64], rms: f64) -> Vec<i16> {
    let have = (x.iter().map(|v| v * v).sum::<f64>() / x.len().max(1) as f64).sqrt();
    let g = if have > 0.0 { rms / have } else { 0.0 };
    x.iter()
        .map(|v| (v * g).clamp(-32767.0, 32767.0) as i16)
        .collect()
}

/// Pad both directions to the same length.
fn even(mut caller: Vec<i16>, mut callee: Vec<i16>) -> (Vec<i16>, Vec<i16>) {
    let n = caller.len().max(callee.len());
    caller.resize(n, 0);
    callee.resize(n, 0);
    (caller, callee)
}

/// `n` blocks from a generator filling one block at a time.
fn blocks(n: usize, mut g: impl FnMut(&mut [i16; BLOCK])) -> Vec<i16> {
    let mut out = Vec::with_capacity(n * BLOCK);
    let mut b = [0i16; BLOCK];
    for _ in 0..n {
        g(&mut b);
        out.extend_from_slice(&b);
    }
    out
}

fn scale(x: &mut [i16], gain: f64) {
    for v in x {
        *v = (f64::from(*v) * gain).clamp(-32767.0, 32767.0) as i16;
    }
}

// ---------------------------------------------------------------------------
// Speech: espeak-ng through sox.

/// `text` spoken by espeak-ng with `voice`, resampled by sox to 8 kHz
/// 16-bit mono.
pub fn espeak(voice: &str, speed: u32, pitch: u32, text: &str) -> Vec<i16> {
    let mut es = Command::new("espeak-ng")
        .args([
            "-v",
            voice,
            "-s",
            &speed.to_string(),
            "-p",
            &pitch.to_string(),
        ])
        .arg("--stdout")
        .arg(text)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("espeak-ng runs (scripts/install-deps.sh installs it)");
    let wav = es.stdout.take().unwrap();
    let out = Command::new("sox")
        .args([
            "-V1", "-t", "wav", "-", "-t", "raw", "-r", "8000", "-c", "1",
        ])
        .args(["-b", "16", "-e", "signed-integer", "-"])
        .stdin(wav)
        .output()
        .expect("sox runs (scripts/install-deps.sh installs it)");
    assert!(es.wait().unwrap().success(), "espeak-ng -v {voice} failed");
    assert!(out.status.success(), "sox failed on espeak-ng's output");
    let pcm: Vec<i16> = out
        .stdout
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert!(pcm.len() > 4000, "espeak-ng -v {voice} said nothing");
    pcm
}

/// Voices and what they say: (voice, sentences).
const TALKERS: [(&str, [&str; 3]); 14] = [
    (
        "en-gb",
        [
            "Good morning, accounts department, how can I help?",
            "I'm afraid the invoice hasn't arrived yet.",
            "Could you send it again to the usual address please?",
        ],
    ),
    (
        "en-us",
        [
            "Hi, this is Sam calling about the delivery on Thursday.",
            "We need to move it to the afternoon if that works.",
            "Great, thanks so much, have a good one.",
        ],
    ),
    (
        "fr-fr",
        [
            "Bonjour, je vous appelle au sujet de la commande.",
            "Est-ce que la livraison est prévue pour demain?",
            "Très bien, merci beaucoup, au revoir.",
        ],
    ),
    (
        "de",
        [
            "Guten Tag, hier spricht die Buchhaltung.",
            "Die Rechnung ist leider noch nicht bezahlt worden.",
            "Können Sie mir bitte eine Kopie schicken?",
        ],
    ),
    (
        "es",
        [
            "Hola, buenas tardes, llamo por la reserva.",
            "Necesito cambiar la fecha al próximo martes.",
            "Perfecto, muchas gracias, hasta luego.",
        ],
    ),
    (
        "it",
        [
            "Buongiorno, parlo con l'ufficio tecnico?",
            "La stampante del secondo piano non funziona.",
            "Va bene, aspetto il tecnico, grazie.",
        ],
    ),
    (
        "pt",
        [
            "Bom dia, queria falar com a senhora Silva.",
            "Ela está em reunião até às três horas.",
            "Obrigado, eu volto a ligar mais tarde.",
        ],
    ),
    (
        "nl",
        [
            "Goedemiddag, u spreekt met de receptie.",
            "Meneer de Vries is op dit moment niet aanwezig.",
            "Zal ik een bericht voor hem aannemen?",
        ],
    ),
    (
        "pl",
        [
            "Dzień dobry, dzwonię w sprawie zamówienia.",
            "Czy paczka została już wysłana?",
            "Dziękuję bardzo, do widzenia.",
        ],
    ),
    (
        "sv",
        [
            "Hej, jag ringer angående mötet i morgon.",
            "Kan vi flytta det till klockan tio?",
            "Bra, då ses vi då, hej då.",
        ],
    ),
    (
        "ru",
        [
            "Здравствуйте, я звоню по поводу счёта.",
            "Оплата должна прийти до конца недели.",
            "Спасибо, всего доброго.",
        ],
    ),
    (
        "hi",
        [
            "नमस्ते, मैं आपके ऑर्डर के बारे में फ़ोन कर रहा हूँ।",
            "क्या आप कल दफ़्तर में होंगे?",
            "धन्यवाद, फिर मिलते हैं।",
        ],
    ),
    (
        "cmn",
        [
            "你好，我想问一下订单的情况。",
            "明天上午可以送到吗？",
            "好的，谢谢，再见。",
        ],
    ),
    (
        "ar",
        [
            "مرحبا، أتصل بخصوص الموعد.",
            "هل يمكن تأجيله إلى يوم الخميس؟",
            "شكرا جزيلا، مع السلامة.",
        ],
    ),
];

/// Voice variants espeak-ng applies on top of a language.
const VARIANTS: [&str; 6] = ["", "+f2", "+m3", "+f4", "+klatt", "+m7"];

/// A conversation: the caller and the callee take turns, with pauses.
fn conversation(rng: &mut Rng, a: usize, b: usize) -> (Vec<i16>, Vec<i16>) {
    let voice = |rng: &mut Rng, t: usize| {
        format!("{}{}", TALKERS[t].0, VARIANTS[rng.below(VARIANTS.len())])
    };
    let (va, vb) = (voice(rng, a), voice(rng, b));
    let (mut caller, mut callee) = (silence(rng.range(0.2, 0.8)), Vec::new());
    let level_a = rng.range(1200.0, 4500.0);
    let level_b = rng.range(1200.0, 4500.0);
    for turn in 0..4 {
        let n = caller.len().max(callee.len());
        let (talker, t, v, level) = if turn % 2 == 0 {
            (&mut callee, b, &vb, level_b)
        } else {
            (&mut caller, a, &va, level_a)
        };
        let speed = 130 + rng.below(60) as u32;
        let pitch = 30 + rng.below(40) as u32;
        let text = TALKERS[t].1[turn / 2 % 3];
        let x: Vec<f64> = espeak(v, speed, pitch, text)
            .into_iter()
            .map(f64::from)
            .collect();
        talker.resize(n + (rng.range(0.2, 0.9) * RATE) as usize, 0);
        talker.extend(to_i16(&x, level));
    }
    even(caller, callee)
}

// ---------------------------------------------------------------------------
// Music.

/// Equal-tempered frequency of a MIDI note.
fn midi(n: f64) -> f64 {
    440.0 * 2f64.powf((n - 69.0) / 12.0)
}

#[derive(Debug, Clone, Copy)]
enum Timbre {
    /// A pure sine: the hardest case, no overtones.
    Sine,
    /// Overtones falling as 1/k.
    Rich,
    /// Odd overtones (clarinet-like).
    Hollow,
    /// A plucked string: rich, decaying.
    Pluck,
}

/// One note (or chord) with an envelope; `vibrato` in semitones.
fn note(freqs: &[f64], secs: f64, timbre: Timbre, vibrato: f64, out: &mut Vec<f64>) {
    let n = (secs * RATE) as usize;
    let attack = 0.015 * RATE;
    let release = (0.06 * RATE).min(n as f64 / 3.0);
    let mut phases = vec![0.0f64; freqs.len()];
    for i in 0..n {
        let t = i as f64 / RATE;
        let env = (i as f64 / attack).min(1.0) * ((n - i) as f64 / release).min(1.0);
        let env = match timbre {
            Timbre::Pluck => env * (-3.0 * t).exp(),
            _ => env,
        };
        let wobble = 2f64.powf(vibrato * (TAU * 5.5 * t).sin() / 12.0);
        let mut v = 0.0;
        for (f, ph) in freqs.iter().zip(phases.iter_mut()) {
            *ph += TAU * f * wobble / RATE;
            let partials: &[(f64, f64)] = match timbre {
                Timbre::Sine => &[(1.0, 1.0)],
                Timbre::Rich | Timbre::Pluck => &[(1.0, 1.0), (2.0, 0.5), (3.0, 0.33), (4.0, 0.25)],
                Timbre::Hollow => &[(1.0, 1.0), (3.0, 0.4), (5.0, 0.2)],
            };
            for &(k, a) in partials {
                if f * k < 3800.0 {
                    v += a * (k * *ph).sin();
                }
            }
        }
        out.push(env * v);
    }
}

/// A melody of `notes` notes within MIDI notes `lo..hi`, some of them chords.
fn melody(rng: &mut Rng, notes: usize, lo: f64, hi: f64, timbre: Timbre, out: &mut Vec<f64>) {
    let mut pitch = rng.range(lo, hi).round();
    for _ in 0..notes {
        pitch = (pitch + [-5.0, -3.0, -2.0, -1.0, 1.0, 2.0, 4.0, 7.0][rng.below(8)]).clamp(lo, hi);
        let secs = [0.15, 0.25, 0.25, 0.4, 0.6][rng.below(5)];
        let vibrato = if rng.f() < 0.3 { 0.15 } else { 0.0 };
        if rng.f() < 0.2 {
            let chord = [midi(pitch), midi(pitch + 4.0), midi(pitch + 7.0)];
            note(&chord, secs, timbre, vibrato, out);
        } else {
            note(&[midi(pitch)], secs, timbre, vibrato, out);
        }
        if rng.f() < 0.15 {
            out.extend(std::iter::repeat_n(
                0.0,
                (rng.range(0.05, 0.3) * RATE) as usize,
            ));
        }
    }
}

/// The frequencies that fooled the old detector: FastPOS 980, CNG 1100,
/// the V.22 calling carrier 1200, ANS 2100, Bell 2225, the V.22 answering
/// carrier 2400.
pub const RISKY_HZ: [f64; 6] = [980.0, 1100.0, 1200.0, 2100.0, 2225.0, 2400.0];

/// Music on hold with a sustained note at `held` Hz placed in one of
/// several ways; the callee plays it, the caller waits in silence.
fn music_on_hold(
    rng: &mut Rng,
    held: f64,
    placement: usize,
    timbre: Timbre,
) -> (Vec<i16>, Vec<i16>) {
    let mut x = Vec::new();
    let (lo, hi) = [(36.0, 60.0), (55.0, 79.0), (72.0, 96.0)][rng.below(3)];
    let notes = 6 + rng.below(8);
    melody(rng, notes, lo, hi, timbre, &mut x);
    let hold = rng.range(1.2, 3.5);
    match placement {
        // Legato within the melody.
        0 => note(&[held], hold, timbre, 0.0, &mut x),
        // After a rest, the melody going on after it.
        1 => {
            x.extend(std::iter::repeat_n(
                0.0,
                (rng.range(1.1, 1.6) * RATE) as usize,
            ));
            note(&[held], hold, Timbre::Sine, 0.0, &mut x);
        }
        // The last note of the tune, then the loop's gap.
        2 => {
            note(&[held], hold, timbre, 0.0, &mut x);
            x.extend(std::iter::repeat_n(
                0.0,
                (rng.range(0.8, 1.5) * RATE) as usize,
            ));
        }
        // Part of a held chord.
        3 => note(&[held, held * 0.75, held * 0.6], hold, timbre, 0.0, &mut x),
        // With vibrato.
        _ => note(&[held], hold, timbre, 0.25, &mut x),
    }
    let notes = 6 + rng.below(8);
    melody(rng, notes, lo, hi, timbre, &mut x);
    // Loop the tune to a typical hold.
    let tune = x.clone();
    while x.len() < (14.0 * RATE) as usize {
        x.extend(std::iter::repeat_n(0.0, (0.5 * RATE) as usize));
        x.extend_from_slice(&tune);
    }
    let level = [500.0, 1600.0, 4500.0][rng.below(3)];
    let callee = to_i16(&x, level);
    even(silence(1.0), callee)
}

/// A tune made by sox's synthesiser (plucked strings, square, sawtooth and
/// triangle waves), one note per run, with sox's reverb on the whole.
fn sox_music(rng: &mut Rng, held: f64) -> (Vec<i16>, Vec<i16>) {
    let shape = ["pluck", "square", "sawtooth", "triangle", "sine"][rng.below(5)];
    let mut pcm: Vec<u8> = Vec::new();
    let mut pitch = rng.range(60.0, 84.0).round();
    for n in 0..28 {
        let (f, secs) = if n == 12 {
            (held, rng.range(1.5, 3.0))
        } else {
            pitch = (pitch + [-4.0, -2.0, -1.0, 2.0, 3.0, 5.0][rng.below(6)]).clamp(55.0, 90.0);
            (midi(pitch), [0.2, 0.3, 0.45][rng.below(3)])
        };
        let out = Command::new("sox")
            .args([
                "-V1", "-n", "-t", "raw", "-r", "8000", "-c", "1", "-b", "16",
            ])
            .args(["-e", "signed-integer", "-", "synth"])
            .arg(format!("{secs:.3}"))
            .arg(shape)
            .arg(format!("{f:.2}"))
            .args(["fade", "0.01", &format!("{secs:.3}"), "0.05", "vol", "0.3"])
            .output()
            .expect("sox runs");
        assert!(out.status.success(), "sox synth failed");
        pcm.extend_from_slice(&out.stdout);
    }
    let mut sox = Command::new("sox")
        .args(["-V1", "-t", "raw", "-r", "8000", "-c", "1", "-b", "16"])
        .args(["-e", "signed-integer", "-", "-t", "raw", "-"])
        .args(["reverb", "30"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sox runs");
    let mut stdin = sox.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&pcm));
    let out = sox.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "sox reverb failed");
    let x: Vec<f64> = out
        .stdout
        .chunks_exact(2)
        .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])))
        .collect();
    even(silence(1.0), to_i16(&x, rng.range(800.0, 3500.0)))
}

// ---------------------------------------------------------------------------
// Call-progress tones and DTMF.

/// Tone segments: (frequencies, seconds on, seconds off), repeated for
/// `secs`.
fn cadence(freqs: &[f64], pattern: &[(f64, f64)], secs: f64, level: f64) -> Vec<i16> {
    let mut out = Vec::new();
    let mut t = 0usize;
    'outer: loop {
        for &(on, off) in pattern {
            for _ in 0..(on * RATE) as usize {
                let v: f64 = freqs
                    .iter()
                    .map(|f| (TAU * f * t as f64 / RATE).sin())
                    .sum();
                out.push((level * v / freqs.len() as f64) as i16);
                t += 1;
            }
            out.extend(std::iter::repeat_n(0, (off * RATE) as usize));
            t += (off * RATE) as usize;
            if out.len() as f64 >= secs * RATE {
                break 'outer;
            }
        }
    }
    out
}

/// Special information tone: three segments, then an announcement.
fn sit(freqs: [f64; 3], durations: [f64; 3], level: f64) -> Vec<i16> {
    let mut out = Vec::new();
    for (f, d) in freqs.into_iter().zip(durations) {
        out.extend(cadence(&[f], &[(d, 0.0)], d, level));
    }
    out
}

fn progress_calls(rng: &mut Rng, calls: &mut Vec<Call>) {
    let answer = |rng: &mut Rng| {
        let talker = rng.below(TALKERS.len());
        conversation(rng, talker, 0)
    };
    type Maker = fn(&mut Rng) -> Vec<i16>;
    let tones: [(&str, Maker, bool); 11] = [
        (
            "UK dial tone",
            |r| cadence(&[350.0, 450.0], &[(6.0, 0.0)], 6.0, r.range(1500.0, 4000.0)),
            false,
        ),
        (
            "UK ringing",
            |r| {
                cadence(
                    &[400.0, 450.0],
                    &[(0.4, 0.2), (0.4, 2.0)],
                    9.0,
                    r.range(1500.0, 4000.0),
                )
            },
            true,
        ),
        (
            "UK busy",
            |r| cadence(&[400.0], &[(0.375, 0.375)], 6.0, r.range(1500.0, 4000.0)),
            false,
        ),
        (
            "UK number unobtainable",
            |r| cadence(&[400.0], &[(6.0, 0.0)], 6.0, r.range(1500.0, 4000.0)),
            false,
        ),
        (
            "UK equipment engaged",
            |r| {
                cadence(
                    &[400.0],
                    &[(0.4, 0.35), (0.225, 0.525)],
                    6.0,
                    r.range(1500.0, 4000.0),
                )
            },
            false,
        ),
        (
            "NA dial tone",
            |r| cadence(&[350.0, 440.0], &[(6.0, 0.0)], 6.0, r.range(1500.0, 4000.0)),
            false,
        ),
        (
            "NA ringback",
            |r| {
                cadence(
                    &[440.0, 480.0],
                    &[(2.0, 4.0)],
                    12.0,
                    r.range(1500.0, 4000.0),
                )
            },
            true,
        ),
        (
            "NA busy",
            |r| cadence(&[480.0, 620.0], &[(0.5, 0.5)], 6.0, r.range(1500.0, 4000.0)),
            false,
        ),
        (
            "NA reorder",
            |r| {
                cadence(
                    &[480.0, 620.0],
                    &[(0.25, 0.25)],
                    6.0,
                    r.range(1500.0, 4000.0),
                )
            },
            false,
        ),
        (
            "SIT 914/1371/1777",
            |r| {
                sit(
                    [913.8, 1370.6, 1776.7],
                    [0.274, 0.274, 0.380],
                    r.range(1500.0, 4000.0),
                )
            },
            true,
        ),
        (
            "SIT 985/1429/1777",
            |r| {
                sit(
                    [985.2, 1428.5, 1776.7],
                    [0.380, 0.274, 0.380],
                    r.range(1500.0, 4000.0),
                )
            },
            true,
        ),
    ];
    for (name, make, then_speech) in tones {
        let mut callee = make(rng);
        let mut caller = vec![0i16; callee.len()];
        if then_speech {
            let (a, b) = answer(rng);
            caller.extend(a);
            callee.extend(b);
        }
        let (caller, callee) = even(caller, callee);
        calls.push(Call {
            name: format!("progress {name}"),
            category: "call progress",
            payment: false,
            caller,
            callee,
        });
    }
}

/// DTMF from SpanDSP's generator with the given key timing; the other side
/// speaks prompts.
fn dtmf_call(rng: &mut Rng, digits: &str, on_ms: u32, off_ms: u32) -> (Vec<i16>, Vec<i16>) {
    let mut g = DtmfTx::new().unwrap();
    g.set_timing(on_ms, off_ms);
    assert_eq!(g.put(digits), 0);
    let n = (digits.len() as u32 * (on_ms + off_ms) / 20 + 10) as usize;
    let mut keys = silence(2.5);
    keys.extend(blocks(n, |b| g.tx(b)));
    let prompt = espeak(
        "en-gb+f3",
        150,
        50,
        "Please enter your account number, followed by the hash key.",
    );
    let prompt: Vec<f64> = prompt.into_iter().map(f64::from).collect();
    let mut callee = to_i16(&prompt, rng.range(1500.0, 3500.0));
    callee.extend(silence(keys.len() as f64 / RATE));
    let mut caller = vec![0i16; callee.len() - keys.len()];
    caller.extend(keys);
    even(caller, callee)
}

// ---------------------------------------------------------------------------
// Fax: two SpanDSP T.30 terminals over G.711.

/// A one-page fax call between SpanDSP terminals over A-law: the caller
/// sends. Returns (caller→callee, callee→caller); panics if the page did
/// not arrive, so the corpus holds real fax calls only.
fn fax_call(
    dir: &std::path::Path,
    modem: Modem,
    ecm: bool,
    rows: u32,
    tag: &str,
) -> (Vec<i16>, Vec<i16>) {
    use faxbridge::docs::tiff::{Compression, write_tiff};
    use faxbridge::docs::{Page, Resolution};
    let mut page = Page::blank(1728, rows, Resolution::Standard);
    for y in 0..rows {
        for x in 0..1728 {
            if !(12..1716).contains(&x) || (y / 10 + x / 64) % 3 == 0 && (x % 7) < 3 {
                page.set(x, y, true);
            }
        }
    }
    let src = dir.join(format!("{tag}.tif"));
    write_tiff(&src, &[page], Compression::Group4).unwrap();
    let mut settings = FaxSettings {
        ecm,
        modems: [modem].into(),
        ..FaxSettings::default()
    };
    if !ecm {
        // T.6 needs ECM.
        settings
            .compressions
            .remove(&faxbridge::fax::FaxCompression::T6);
    }
    let law = G711Law::ALaw;
    let mut tx = FaxSession::new(FaxJob::Send(src), Transport::Audio(law), &settings).unwrap();
    let mut rx = FaxSession::new(
        FaxJob::Receive(dir.join(format!("{tag}-rx.tif"))),
        Transport::Audio(law),
        &settings,
    )
    .unwrap();
    let (mut caller, mut callee) = (Vec::new(), Vec::new());
    let (mut a, mut b) = ([0u8; BLOCK], [0u8; BLOCK]);
    for _ in 0..(120 * 50) {
        tx.transmit_payload(&mut a).unwrap();
        rx.transmit_payload(&mut b).unwrap();
        rx.receive_payload(&a).unwrap();
        tx.receive_payload(&b).unwrap();
        caller.extend(a.iter().map(|&o| law.decode(o)));
        callee.extend(b.iter().map(|&o| law.decode(o)));
        if tx.is_finished() && rx.is_finished() {
            break;
        }
    }
    assert!(
        rx.pages_transferred() >= 1,
        "reference fax call {tag} ({modem:?}, ECM {ecm}) failed"
    );
    (caller, callee)
}

// ---------------------------------------------------------------------------
// Card-terminal handshakes.

/// Ringing heard by the caller before answer (UK or North American), then
/// the silence V.25 asks for before the answer tone (1.8–2.5 s).
fn before_answer(rng: &mut Rng) -> Vec<i16> {
    let mut out = match rng.below(3) {
        0 => Vec::new(),
        1 => cadence(&[400.0, 450.0], &[(0.4, 0.2), (0.4, 2.0)], 3.0, 2500.0),
        _ => cadence(&[440.0, 480.0], &[(2.0, 4.0)], 2.0, 2500.0),
    };
    out.extend(silence(rng.range(1.8, 2.5)));
    out
}

/// A V.22 (1200 bit/s) or V.22bis (2400) card-terminal call: the acquirer
/// answers with `tone` (ANS, ANS/PR or the Bell 2225 Hz tone), then
/// SpanDSP's answering and calling modems train and exchange data.
fn v22_call(
    rng: &mut Rng,
    tone: GeneratedTone,
    rate: u32,
    guard: GuardTone,
) -> (Vec<i16>, Vec<i16>) {
    let mut answerer_side = before_answer(rng);
    let tone_blocks = match tone {
        GeneratedTone::BellAns => 50 + rng.below(100),
        _ => 170,
    };
    let mut g = ConnectToneTx::new(tone).unwrap();
    answerer_side.extend(blocks(tone_blocks, |b| g.tx(b)));
    answerer_side.extend(silence(0.075));
    let mut caller_side = vec![0i16; answerer_side.len()];
    let mut a = V22bisModem::with_guard_tone(rate, false, guard).unwrap();
    let mut c = V22bisModem::new(rate, true).unwrap();
    let power = rng.range(-16.0, -9.0) as f32;
    a.set_power(power);
    c.set_power(power);
    let (mut ab, mut cb) = ([0i16; BLOCK], [0i16; BLOCK]);
    for _ in 0..(rng.range(4.0, 8.0) * 50.0) as usize {
        a.tx(&mut ab);
        c.tx(&mut cb);
        a.rx(&cb);
        c.rx(&ab);
        answerer_side.extend_from_slice(&ab);
        caller_side.extend_from_slice(&cb);
    }
    (caller_side, answerer_side)
}

/// A fast-connect exchange: the terminal's 980 Hz calling tone (V.21
/// channel 1 mark, from SpanDSP's FSK modem) if `tone`, then host and
/// terminal take half-duplex turns, each a full training and data.
fn fast_connect_call(rng: &mut Rng, pump: DataPump, tone: bool) -> (Vec<i16>, Vec<i16>) {
    let mut caller = silence(rng.range(0.2, 1.0));
    if tone {
        let mut fsk = FskTx::new(FskChannel::V21Ch1, true, 1).unwrap();
        caller.extend(blocks(40 + rng.below(60), |b| fsk.tx(b)));
    }
    let mut callee = vec![0i16; caller.len()];
    let power = rng.range(-15.0, -9.0) as f32;
    for turn in 0..(3 + rng.below(3)) {
        let (talker, other) = if turn % 2 == 0 {
            (&mut callee, &mut caller)
        } else {
            (&mut caller, &mut callee)
        };
        talker.extend(silence(rng.range(0.08, 0.3)));
        let bits = (rng.range(0.4, 1.5) * 4800.0) as u64;
        let mut tx = DataPumpTx::new(pump, bits, rng.next_u64() as u32).unwrap();
        tx.set_power(power);
        let mut b = [0i16; BLOCK];
        while !tx.finished() {
            tx.tx(&mut b);
            talker.extend_from_slice(&b);
        }
        other.resize(talker.len(), 0);
    }
    even(caller, callee)
}

/// Every non-payment call of the corpus; fax reference files go to `dir`.
pub fn non_payment_calls(dir: &std::path::Path) -> Vec<Call> {
    let mut rng = Rng::new(0x0005_eed0);
    let mut calls = Vec::new();
    // Speech: 14 conversations, every talker at least once on each side.
    for (i, (first, _)) in TALKERS.iter().enumerate() {
        let j = (i * 5 + 3) % TALKERS.len();
        let (caller, callee) = conversation(&mut rng, i, j);
        calls.push(Call {
            name: format!("speech {first} / {}", TALKERS[j].0),
            category: "speech",
            payment: false,
            caller,
            callee,
        });
    }
    // Music on hold: every risky frequency in every placement, in turn
    // with the timbres.
    let timbres = [Timbre::Sine, Timbre::Rich, Timbre::Hollow, Timbre::Pluck];
    let mut n = 0;
    for (h, &held) in RISKY_HZ.iter().enumerate() {
        for placement in 0..5 {
            if (h + placement) % 2 == 1 && placement != 1 {
                continue;
            }
            let timbre = timbres[n % timbres.len()];
            n += 1;
            let (caller, callee) = music_on_hold(&mut rng, held, placement, timbre);
            calls.push(Call {
                name: format!("music {held} Hz placement {placement} {timbre:?}"),
                category: "music",
                payment: false,
                caller,
                callee,
            });
        }
    }
    for &held in &RISKY_HZ[..4] {
        let (caller, callee) = sox_music(&mut rng, held);
        calls.push(Call {
            name: format!("sox music {held} Hz"),
            category: "music",
            payment: false,
            caller,
            callee,
        });
    }
    // DTMF.
    for (digits, on, off) in [
        ("4412345678#", 100, 100),
        ("0800123456", 50, 55),
        ("*21#99", 400, 300),
    ] {
        let (caller, callee) = dtmf_call(&mut rng, digits, on, off);
        calls.push(Call {
            name: format!("dtmf {digits}"),
            category: "dtmf",
            payment: false,
            caller,
            callee,
        });
    }
    progress_calls(&mut rng, &mut calls);
    // Fax.
    let fax: Vec<Call> = std::thread::scope(|s| {
        let jobs: Vec<_> = [Modem::V17, Modem::V29, Modem::V27ter]
            .into_iter()
            .flat_map(|m| [(m, true), (m, false)])
            .map(|(modem, ecm)| {
                s.spawn(move || {
                    let tag = format!("{modem:?}-{}", if ecm { "ecm" } else { "noecm" });
                    let rows = if modem == Modem::V27ter { 120 } else { 300 };
                    let (caller, callee) = fax_call(dir, modem, ecm, rows, &tag);
                    Call {
                        name: format!("fax {tag}"),
                        category: "fax",
                        payment: false,
                        caller,
                        callee,
                    }
                })
            })
            .collect();
        jobs.into_iter().map(|j| j.join().unwrap()).collect()
    });
    calls.extend(fax);
    calls
}

/// Every card-terminal handshake of the corpus.
pub fn payment_calls() -> Vec<Call> {
    let mut rng = Rng::new(0x0000_ca4d);
    let mut calls = Vec::new();
    let mut push = |name: String, category, (caller, callee): (Vec<i16>, Vec<i16>)| {
        calls.push(Call {
            name,
            category,
            payment: true,
            caller,
            callee,
        })
    };
    // European answerers may add a guard tone (1800 Hz usual, 550 Hz in
    // some networks) to their carrier; Bell 212A has none.
    let guards = [
        GuardTone::None,
        GuardTone::Hz1800,
        GuardTone::None,
        GuardTone::Hz550,
    ];
    for (i, guard) in guards.into_iter().enumerate() {
        let tone = if i % 2 == 0 {
            GeneratedTone::Ans
        } else {
            GeneratedTone::AnsPr
        };
        push(
            format!("V.22bis {i} {tone:?} guard {guard:?}"),
            "V.22bis",
            v22_call(&mut rng, tone, 2400, guard),
        );
        push(
            format!("V.22 {i} {tone:?} guard {guard:?}"),
            "V.22",
            v22_call(&mut rng, tone, 1200, guard),
        );
        push(
            format!("Bell 212A {i}"),
            "Bell 212A",
            v22_call(&mut rng, GeneratedTone::BellAns, 1200, GuardTone::None),
        );
    }
    // The acquirer calls the terminal (e.g. a software download): the
    // answering modem is on the called side, as above, but the port that
    // placed the call is the host.
    let (c, a) = v22_call(&mut rng, GeneratedTone::Ans, 2400, GuardTone::Hz1800);
    push("V.22bis host calls terminal".into(), "V.22bis", (c, a));
    for (pump, tone) in [
        (DataPump::V29(9600), true),
        (DataPump::V29(9600), true),
        (DataPump::V29(7200), true),
        (DataPump::V29(4800), true),
        (DataPump::V29(9600), false),
        (DataPump::V29(7200), false),
    ] {
        push(
            format!("{pump:?} {}", if tone { "after 980 Hz" } else { "no tone" }),
            "V.29 FastPOS",
            fast_connect_call(&mut rng, pump, tone),
        );
    }
    for (pump, tone) in [
        (DataPump::V27ter(4800), true),
        (DataPump::V27ter(4800), true),
        (DataPump::V27ter(2400), true),
        (DataPump::V27ter(4800), false),
        (DataPump::V27ter(2400), false),
    ] {
        push(
            format!("{pump:?} {}", if tone { "after 980 Hz" } else { "no tone" }),
            "V.27ter FastPOS",
            fast_connect_call(&mut rng, pump, tone),
        );
    }
    calls
}

/// Both directions of `call` as the classifier receives them under
/// `condition`: 20 ms packets, `None` for a lost one.
pub fn render(call: &Call, condition: Condition, seed: u64) -> [Vec<Option<Vec<i16>>>; 2] {
    let mut rng = Rng::new(seed);
    let mut dirs = [call.caller.clone(), call.callee.clone()];
    match condition {
        Condition::Clean | Condition::Loss1Pct => {}
        Condition::Noise20dB => {
            // The call's active level: mean power of the blocks above
            // -50 dBm0 in the louder direction.
            let level = dirs
                .iter()
                .map(|d| {
                    let active: Vec<f64> = d
                        .chunks(BLOCK)
                        .map(|b| {
                            b.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / b.len() as f64
                        })
                        .filter(|&p| p > 2500.0)
                        .collect();
                    active.iter().sum::<f64>() / active.len().max(1) as f64
                })
                .fold(0.0, f64::max);
            let sigma = (level / 100.0).sqrt();
            for d in &mut dirs {
                for v in d.iter_mut() {
                    *v = (f64::from(*v) + sigma * rng.gauss()).clamp(-32767.0, 32767.0) as i16;
                }
            }
        }
        Condition::Louder10dB => dirs.iter_mut().for_each(|d| scale(d, 10f64.powf(0.5))),
        Condition::Quieter10dB => dirs.iter_mut().for_each(|d| scale(d, 10f64.powf(-0.5))),
        Condition::ALaw | Condition::MuLaw => {
            let law = if condition == Condition::ALaw {
                G711Law::ALaw
            } else {
                G711Law::MuLaw
            };
            for d in &mut dirs {
                for v in d.iter_mut() {
                    *v = law.decode(law.encode(*v));
                }
            }
        }
    }
    dirs.map(|d| {
        d.chunks(BLOCK)
            .map(|b| {
                let lost = condition == Condition::Loss1Pct && rng.f() < 0.01;
                (!lost).then(|| b.to_vec())
            })
            .collect()
    })
}

/// Feed both directions to a classifier in 20 ms steps, as the relay does.
pub fn classify(dirs: &[Vec<Option<Vec<i16>>>; 2]) -> Classification {
    let mut c = CallClassifier::new().unwrap();
    let n = dirs[0].len().max(dirs[1].len());
    for i in 0..n {
        for (d, direction) in dirs
            .iter()
            .zip([Direction::CallerToCallee, Direction::CalleeToCaller])
        {
            match d.get(i) {
                Some(Some(block)) => c.feed(direction, block),
                _ => c.feed_missing(direction, BLOCK),
            }
        }
    }
    c.classification()
}
