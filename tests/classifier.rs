//! Call classifier on reference signals made by real implementations:
//! SpanDSP's V.22bis modems (caller and answerer, after a SpanDSP V.25
//! answer tone), a real T.30 fax call between two SpanDSP fax terminals over
//! G.711, SpanDSP's Bell 212A answer tone, the V.29 FastPOS 980 Hz tone,
//! and speech-like audio (synthetic vowels with pitch, formants, pauses and
//! noise), which must never be taken for a modem.

mod support;
use support::audio::speech;

use std::f64::consts::TAU;

use faxbridge::docs::tiff::{self, Compression};
use faxbridge::fax::{
    ConnectToneTx, FaxJob, FaxSession, FaxSettings, G711Law, GeneratedTone, SAMPLES_PER_20MS,
    Transport, V22bisModem, sig_status,
};
use faxbridge::media::classifier::{
    CallClassifier, Classification, Confidence, Direction, Label, ModemKind, Signal,
};

const BLOCK: usize = SAMPLES_PER_20MS;

/// Feed two recorded directions in 20 ms steps, as the bridge does.
fn classify(caller: &[i16], callee: &[i16]) -> Classification {
    let mut c = CallClassifier::new().unwrap();
    let n = caller.len().max(callee.len());
    for start in (0..n).step_by(BLOCK) {
        for (dir, audio) in [
            (Direction::CallerToCallee, caller),
            (Direction::CalleeToCaller, callee),
        ] {
            if start < audio.len() {
                c.feed(dir, &audio[start..(start + BLOCK).min(audio.len())]);
            } else {
                c.feed_missing(dir, BLOCK);
            }
        }
    }
    c.classification()
}

fn seen(c: &Classification, signal: Signal, direction: Direction) -> bool {
    c.evidence
        .iter()
        .any(|e| e.signal == signal && e.direction == direction)
}

fn generated(tone: GeneratedTone, blocks: usize) -> Vec<i16> {
    let mut g = ConnectToneTx::new(tone).unwrap();
    let mut out = Vec::new();
    let mut b = [0i16; BLOCK];
    for _ in 0..blocks {
        g.tx(&mut b);
        out.extend_from_slice(&b);
    }
    out
}

/// A card-terminal call: 0.4 s of ringing silence, the answerer's V.25
/// answer tone, then SpanDSP's V.22bis answerer and caller trained on each
/// other for `secs`. Returns (caller→callee, callee→caller).
fn v22bis_call(secs: f64) -> (Vec<i16>, Vec<i16>) {
    let mut callee = vec![0i16; 3200];
    callee.extend(generated(GeneratedTone::Ans, 160));
    let mut caller = vec![0i16; callee.len()];
    let mut answerer = V22bisModem::new(2400, false).unwrap();
    let mut calling = V22bisModem::new(2400, true).unwrap();
    let (mut a, mut c) = ([0i16; BLOCK], [0i16; BLOCK]);
    let mut trained = false;
    for _ in 0..(secs * 50.0) as usize {
        answerer.tx(&mut a);
        calling.tx(&mut c);
        answerer.rx(&c);
        calling.rx(&a);
        trained |= calling
            .take_statuses()
            .contains(&sig_status::TRAINING_SUCCEEDED);
        callee.extend_from_slice(&a);
        caller.extend_from_slice(&c);
    }
    assert!(trained, "the reference modems did not train");
    assert_eq!(calling.current_bit_rate(), 2400);
    (caller, callee)
}

#[test]
fn v22bis_card_terminal_call_is_a_data_modem() {
    let (caller, callee) = v22bis_call(6.0);
    let c = classify(&caller, &callee);
    assert_eq!(
        c.label,
        Label::DataModem {
            kind: ModemKind::V22
        },
        "{c:#?}"
    );
    assert_eq!(c.confidence, Confidence::High);
    assert!(
        seen(&c, Signal::AnswerTone2100, Direction::CalleeToCaller),
        "{c:#?}"
    );
    assert!(
        seen(&c, Signal::V22bisUnscrambledOnes, Direction::CalleeToCaller),
        "{c:#?}"
    );
    assert!(
        seen(&c, Signal::V22Carrier2400, Direction::CalleeToCaller),
        "{c:#?}"
    );
    assert!(
        seen(&c, Signal::V22Carrier1200, Direction::CallerToCallee),
        "{c:#?}"
    );
    // Evidence is in time order: answer tone, then ones, then carriers.
    let at = |s| c.evidence.iter().find(|e| e.signal == s).unwrap().at_ms;
    assert!(at(Signal::AnswerTone2100) < at(Signal::V22bisUnscrambledOnes));
    assert!(at(Signal::V22bisUnscrambledOnes) < at(Signal::V22Carrier1200));
}

#[test]
fn each_v22bis_side_alone_is_a_data_modem() {
    let (caller, callee) = v22bis_call(6.0);
    let silence = vec![0i16; caller.len()];
    // Only the answerer's side reached us (one-way audio).
    let c = classify(&silence, &callee);
    assert_eq!(
        c.label,
        Label::DataModem {
            kind: ModemKind::V22
        },
        "{c:#?}"
    );
    assert_eq!(c.confidence, Confidence::High);
    // Only the caller's side: its carrier alone, low confidence.
    let c = classify(&caller, &silence);
    assert_eq!(
        c.label,
        Label::DataModem {
            kind: ModemKind::V22
        },
        "{c:#?}"
    );
    assert!(seen(&c, Signal::V22Carrier1200, Direction::CallerToCallee));
    assert!(!seen(&c, Signal::V22Carrier2400, Direction::CallerToCallee));
}

#[test]
fn real_fax_call_is_fax_not_modem() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("doc.tif");
    tiff::write_tiff(&src, &support::fax::pages(300)[..1], Compression::Group4).unwrap();
    let law = G711Law::ALaw;
    let settings = FaxSettings::default();
    let mut tx = FaxSession::new(FaxJob::Send(src), Transport::Audio(law), &settings).unwrap();
    let mut rx = FaxSession::new(
        FaxJob::Receive(dir.path().join("rx.tif")),
        Transport::Audio(law),
        &settings,
    )
    .unwrap();
    let (mut caller, mut callee) = (Vec::new(), Vec::new());
    let (mut a, mut b) = ([0u8; BLOCK], [0u8; BLOCK]);
    for _ in 0..(90 * 50) {
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
    assert!(rx.pages_transferred() >= 1, "the reference fax call failed");
    let c = classify(&caller, &callee);
    assert_eq!(c.label, Label::Fax, "{c:#?}");
    assert_eq!(c.confidence, Confidence::High);
    assert!(seen(&c, Signal::Cng, Direction::CallerToCallee), "{c:#?}");
    assert!(
        seen(&c, Signal::AnswerTone2100, Direction::CalleeToCaller),
        "{c:#?}"
    );
    assert!(
        seen(&c, Signal::V21Preamble, Direction::CalleeToCaller),
        "{c:#?}"
    );
}

#[test]
fn bell_212a_answer_is_a_data_modem() {
    let mut callee = vec![0i16; 2400];
    callee.extend(generated(GeneratedTone::BellAns, 100));
    let c = classify(&vec![0; callee.len()], &callee);
    assert_eq!(
        c.label,
        Label::DataModem {
            kind: ModemKind::Bell212A
        },
        "{c:#?}"
    );
    assert!(seen(&c, Signal::Bell2225, Direction::CalleeToCaller));
}

#[test]
fn fastpos_980_hz_is_a_data_modem() {
    let caller: Vec<i16> = (0..12_000)
        .map(|i| (6000.0 * (TAU * 980.0 * i as f64 / 8000.0).sin()) as i16)
        .collect();
    let c = classify(&caller, &vec![0; caller.len()]);
    assert_eq!(
        c.label,
        Label::DataModem {
            kind: ModemKind::V29FastPos
        },
        "{c:#?}"
    );
}

#[test]
fn v25_answer_tone_alone_is_not_decided() {
    // ANS with phase reversals: a data modem's tone, but alone it does not
    // tell a card terminal from a V.34 fax or a dial-up modem.
    let mut callee = vec![0i16; 2400];
    callee.extend(generated(GeneratedTone::AnsPr, 200));
    let c = classify(&vec![0; callee.len()], &callee);
    assert_eq!(c.label, Label::Unknown, "{c:#?}");
    assert!(
        seen(&c, Signal::AnswerToneModulated, Direction::CalleeToCaller),
        "{c:#?}"
    );
}

#[test]
fn speech_is_voice_never_modem() {
    for seed in 1..=6 {
        for level in [500.0, 3000.0, 9000.0] {
            let c = classify(
                &speech(15.0, seed, level),
                &speech(15.0, seed + 50, level * 0.7),
            );
            assert_eq!(c.label, Label::Voice, "seed {seed} level {level}: {c:#?}");
            assert!(
                !c.evidence.iter().any(|e| e.signal.is_modem_only()),
                "seed {seed} level {level}: {c:#?}"
            );
        }
    }
}

#[test]
fn noise_and_silence_are_not_modem() {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<i16> = (0..80_000)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((x >> 48) as i16) / 4
        })
        .collect();
    let c = classify(&noise, &vec![0; noise.len()]);
    assert!(!c.is_data_modem(), "{c:#?}");
    assert!(c.evidence.is_empty(), "{c:#?}");
    let c = classify(&vec![0; 80_000], &vec![0; 80_000]);
    assert_eq!(c.label, Label::Unknown);
}
