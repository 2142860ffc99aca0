//! Fax engine loopback: two SpanDSP terminals in one thread, faster than real
//! time, 160 samples (20 ms) per step.
//!
//! A three-page fine-resolution document goes from a sending session to a
//! receiving one over G.711 A-law and μ-law audio (every sample really goes
//! through the codec, both directions) and over T.38 (IFP packets handed
//! across), with and without ECM. The received G4 TIFF must match the source
//! pixel for pixel. Failure cases — the far end hanging up mid-page, a line
//! drowned in noise from page 2 on, and nobody on the line — must report the
//! right T.30 failure and keep the pages that did arrive.

use std::path::{Path, PathBuf};
use std::time::Instant;

use faxbridge::docs::tiff::{self, Compression, FillOrder, StripCoding};
use faxbridge::docs::{Page, Resolution};
use faxbridge::fax::{
    FaxCompression, FaxJob, FaxOutcome, FaxSession, FaxSettings, FaxStatus, G711Law,
    SAMPLES_PER_20MS, T38Options, Transport,
};

const PAGE_ROWS: u32 = 1100;
const STEP: usize = SAMPLES_PER_20MS;
/// Fax-time limit for one loopback call: 10 minutes.
const MAX_STEPS: u64 = 10 * 60 * 50;

// T.30 completion codes (SpanDSP t30_err_e) the tests expect.
const T30_ERR_T0_EXPIRED: i32 = spandsp_sys::t30_err_e::T30_ERR_T0_EXPIRED as i32;
const T30_ERR_T1_EXPIRED: i32 = spandsp_sys::t30_err_e::T30_ERR_T1_EXPIRED as i32;
const T30_ERR_CALLDROPPED: i32 = spandsp_sys::t30_err_e::T30_ERR_CALLDROPPED as i32;

/// Deterministic pseudo-random numbers for test pages.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next() % u64::from(hi - lo)) as u32
    }
}

fn fill(p: &mut Page, x0: u32, y0: u32, w: u32, h: u32) {
    for y in y0..(y0 + h).min(p.height) {
        for x in x0..(x0 + w).min(p.width) {
            p.set(x, y, true);
        }
    }
}

/// A text-like glyph in an 8×16 cell: 2-pixel strokes chosen by `bits`.
fn glyph(p: &mut Page, x: u32, y: u32, bits: u64) {
    for (i, col) in [0u32, 3, 6].into_iter().enumerate() {
        if bits >> i & 1 == 1 {
            fill(p, x + col, y, 2, 16);
        }
    }
    for (i, row) in [0u32, 7, 14].into_iter().enumerate() {
        if bits >> (3 + i) & 1 == 1 {
            fill(p, x, y + row, 8, 2);
        }
    }
    if bits >> 6 & 1 == 1 {
        // A diagonal, so 2D coding has something to chew on.
        for d in 0..8 {
            fill(p, x + d, y + 2 * d, 1, 2);
        }
    }
}

/// A 1728-wide fine page of "text" with content unique to page `n`.
fn test_page(n: u32) -> Page {
    let mut p = Page::blank(1728, PAGE_ROWS, Resolution::Fine);
    let mut rng = Lcg(0x5eed + u64::from(n) * 7919);
    // Frame.
    fill(&mut p, 40, 40, 1648, 3);
    fill(&mut p, 40, PAGE_ROWS - 43, 1648, 3);
    fill(&mut p, 40, 40, 3, PAGE_ROWS - 80);
    fill(&mut p, 1685, 40, 3, PAGE_ROWS - 80);
    // Page marker: n + 1 solid blocks, top right.
    for i in 0..=n {
        fill(&mut p, 1600 - i * 50, 60, 40, 40);
    }
    // Lines of words.
    let mut y = 120;
    while y + 16 < PAGE_ROWS - 60 {
        let mut x = 70 + rng.range(0, 40);
        while x + 8 < 1650 {
            let len = rng.range(2, 10);
            for _ in 0..len {
                if x + 8 >= 1650 {
                    break;
                }
                glyph(&mut p, x, y, rng.next());
                x += 10;
            }
            x += 10 + rng.range(0, 14);
        }
        y += 26;
    }
    p
}

fn document() -> Vec<Page> {
    (0..3).map(test_page).collect()
}

fn settings(ecm: bool) -> FaxSettings {
    let mut s = FaxSettings {
        ecm,
        stall_timeout_secs: 90,
        ..FaxSettings::default()
    };
    if !ecm {
        s.compressions = [FaxCompression::T4OneD, FaxCompression::T4TwoD].into();
    }
    s
}

/// What goes wrong on the line.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    None,
    /// The sender hangs up 10 s into page 2: nothing more is delivered either
    /// way, the sender is terminated, and the receiver gets its BYE 1 s later.
    HangUpMidPage2,
    /// From 5 s into page 2, the audio both ways is drowned in loud noise
    /// for this many seconds.
    NoiseInPage2(u64),
    /// T.38 without UDPTL redundancy: every IFP packet is delivered as many
    /// times as SpanDSP asks (`transmissions`), with the same sequence number.
    RepeatedPackets,
}

struct Call {
    tx: FaxOutcome,
    rx: FaxOutcome,
    rx_path: PathBuf,
    /// IFP packets delivered more than once (T.38 only).
    repeats: usize,
}

struct Fixture {
    _dir: tempfile::TempDir,
    src: PathBuf,
    dst: PathBuf,
    pages: Vec<Page>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("send.tif");
    let dst = dir.path().join("received.tif");
    let pages = document();
    tiff::write_tiff(&src, &pages, Compression::Group4).unwrap();
    Fixture {
        _dir: dir,
        src,
        dst,
        pages,
    }
}

/// Tracks when page 2 began (the sender's first MCF) and when to act.
struct Trigger {
    page2_at: Option<u64>,
    after_steps: u64,
}

impl Trigger {
    fn new(after_seconds: u64) -> Trigger {
        Trigger {
            page2_at: None,
            after_steps: after_seconds * 50,
        }
    }
    fn fired(&mut self, step: u64, tx: &FaxSession) -> bool {
        if self.page2_at.is_none() && tx.pages_transferred() >= 1 {
            self.page2_at = Some(step);
        }
        self.page2_at.is_some_and(|s| step >= s + self.after_steps)
    }
}

/// After one side finished, the other gets its BYE this many steps later.
const BYE_DELAY_STEPS: u64 = 50;

/// One 20 ms step of two T.38 terminals, every IFP handed across once.
fn t38_step(tx: &mut FaxSession, rx: &mut FaxSession) {
    tx.advance(STEP as u32).unwrap();
    rx.advance(STEP as u32).unwrap();
    for p in tx.take_ifp_packets() {
        rx.receive_ifp(p.seq, &p.data).unwrap();
    }
    for p in rx.take_ifp_packets() {
        tx.receive_ifp(p.seq, &p.data).unwrap();
    }
}

fn finish_pair(
    step: u64,
    tx: &mut FaxSession,
    rx: &mut FaxSession,
    done_at: &mut Option<u64>,
) -> bool {
    if tx.is_finished() && rx.is_finished() {
        return true;
    }
    if tx.is_finished() || rx.is_finished() {
        let at = *done_at.get_or_insert(step);
        if step >= at + BYE_DELAY_STEPS {
            tx.hang_up();
            rx.hang_up();
            return true;
        }
    }
    false
}

fn audio_call(f: &Fixture, law: G711Law, ecm: bool, fault: Fault) -> Call {
    let s = settings(ecm);
    let mut tx = FaxSession::new(FaxJob::Send(f.src.clone()), Transport::Audio(law), &s).unwrap();
    let mut rx =
        FaxSession::new(FaxJob::Receive(f.dst.clone()), Transport::Audio(law), &s).unwrap();
    let mut fwd = [0u8; STEP];
    let mut back = [0u8; STEP];
    let repeats = 0;
    let mut noise = Lcg(99);
    let mut trigger = Trigger::new(if matches!(fault, Fault::NoiseInPage2(_)) {
        5
    } else {
        10
    });
    let mut cut_at = None;
    let mut done_at = None;
    for step in 0..MAX_STEPS {
        tx.transmit_payload(&mut fwd).unwrap();
        rx.transmit_payload(&mut back).unwrap();
        let fired = fault != Fault::None && trigger.fired(step, &tx);
        match fault {
            Fault::HangUpMidPage2 if fired => {
                let at = *cut_at.get_or_insert_with(|| {
                    tx.hang_up();
                    step
                });
                // The line is dead: the receiver hears silence until BYE.
                rx.receive_payload(&[law.idle_octet(); STEP]).unwrap();
                if step >= at + BYE_DELAY_STEPS {
                    rx.hang_up();
                }
            }
            Fault::NoiseInPage2(secs)
                if fired && step < trigger.page2_at.unwrap() + (5 + secs) * 50 =>
            {
                for buf in [&mut fwd, &mut back] {
                    for b in buf.iter_mut() {
                        let n = (noise.next() % 32768) as i32 - 16384;
                        let s = (law.decode(*b) as i32 + n).clamp(-32768, 32767);
                        *b = law.encode(s as i16);
                    }
                }
                rx.receive_payload(&fwd).unwrap();
                tx.receive_payload(&back).unwrap();
            }
            _ => {
                rx.receive_payload(&fwd).unwrap();
                tx.receive_payload(&back).unwrap();
            }
        }
        if finish_pair(step, &mut tx, &mut rx, &mut done_at) {
            break;
        }
    }
    assert!(
        tx.is_finished() && rx.is_finished(),
        "call did not end in 10 minutes of fax time: sender {:?} ({} pages), receiver {:?} ({} pages)",
        tx.outcome(),
        tx.pages_transferred(),
        rx.outcome(),
        rx.pages_transferred()
    );
    Call {
        tx: tx.outcome().unwrap().clone(),
        rx: rx.outcome().unwrap().clone(),
        rx_path: f.dst.clone(),
        repeats,
    }
}

fn t38_call(f: &Fixture, ecm: bool, fault: Fault) -> Call {
    let s = settings(ecm);
    let t38 = Transport::T38(T38Options::default());
    let mut tx = FaxSession::new(FaxJob::Send(f.src.clone()), t38, &s).unwrap();
    let mut rx = FaxSession::new(FaxJob::Receive(f.dst.clone()), t38, &s).unwrap();
    let mut trigger = Trigger::new(10);
    let mut cut_at = None;
    let mut done_at = None;
    let mut packets = 0usize;
    let mut repeats = 0usize;
    for step in 0..MAX_STEPS {
        tx.advance(STEP as u32).unwrap();
        rx.advance(STEP as u32).unwrap();
        let to_rx = tx.take_ifp_packets();
        let to_tx = rx.take_ifp_packets();
        packets += to_rx.len() + to_tx.len();
        if fault == Fault::HangUpMidPage2 && trigger.fired(step, &tx) {
            let at = *cut_at.get_or_insert_with(|| {
                tx.hang_up();
                step
            });
            if step >= at + BYE_DELAY_STEPS {
                rx.hang_up();
            }
        } else {
            let copies = |p: &faxbridge::fax::IfpPacket| match fault {
                Fault::RepeatedPackets => p.transmissions,
                _ => 1,
            };
            for p in to_rx.iter().chain(&to_tx) {
                repeats += usize::from(copies(p) > 1);
            }
            for p in to_rx {
                for _ in 0..copies(&p) {
                    rx.receive_ifp(p.seq, &p.data).unwrap();
                }
            }
            for p in to_tx {
                for _ in 0..copies(&p) {
                    tx.receive_ifp(p.seq, &p.data).unwrap();
                }
            }
        }
        if finish_pair(step, &mut tx, &mut rx, &mut done_at) {
            break;
        }
    }
    assert!(packets > 100, "only {packets} IFP packets exchanged");
    assert!(
        tx.is_finished() && rx.is_finished(),
        "call did not end in 10 minutes of fax time"
    );
    Call {
        tx: tx.outcome().unwrap().clone(),
        rx: rx.outcome().unwrap().clone(),
        rx_path: f.dst.clone(),
        repeats,
    }
}

/// The received TIFF is G4, LSB2MSB, one strip per page, as SpanDSP writes it.
fn received_pages(path: &Path) -> Vec<Page> {
    let image = std::fs::read(path).unwrap();
    let raw = tiff::parse_tiff(&image).unwrap();
    for p in &raw {
        assert_eq!(
            p.coding,
            StripCoding::Group4,
            "received pages must be stored as T.6"
        );
        assert_eq!(p.fill_order, FillOrder::LsbFirst);
        assert_eq!(p.strips.len(), 1, "one strip per page");
    }
    tiff::read_tiff(path).unwrap()
}

fn assert_same_page(got: &Page, want: &Page, n: usize) {
    assert_eq!(
        (got.width, got.height),
        (want.width, want.height),
        "page {n} size"
    );
    assert_eq!(got.resolution(), want.resolution(), "page {n} resolution");
    if got.bits != want.bits {
        let stride = want.stride();
        let row = got
            .bits
            .chunks(stride)
            .zip(want.bits.chunks(stride))
            .position(|(a, b)| a != b)
            .unwrap();
        panic!("page {n} differs from the source, first at row {row}");
    }
}

/// The clean beginning of an interrupted page: every row it has matches.
fn assert_prefix_of(got: &Page, want: &Page, n: usize) {
    assert_eq!(got.width, want.width, "partial page {n} width");
    assert!(
        got.height > 0 && got.height < want.height,
        "partial page {n} has {} rows",
        got.height
    );
    let len = got.stride() * got.height as usize;
    assert!(
        got.bits[..] == want.bits[..len],
        "partial page {n} rows differ from the source"
    );
}

fn assert_delivered(call: &Call, pages: &[Page], what: &str) {
    assert!(call.tx.is_success(), "{what}: sender {}", call.tx.summary());
    assert!(
        call.rx.is_success(),
        "{what}: receiver {}",
        call.rx.summary()
    );
    assert_eq!(call.tx.pages_transferred, 3, "{what}");
    assert_eq!(call.tx.pages_total, Some(3), "{what}");
    assert_eq!(call.rx.pages_transferred, 3, "{what}");
    assert_eq!(
        (call.rx.pages_stored, call.rx.partial_page),
        (3, false),
        "{what}"
    );
    assert!(
        call.rx.bit_rate.is_some_and(|r| r >= 9600),
        "{what}: {:?}",
        call.rx.bit_rate
    );
    let got = received_pages(&call.rx_path);
    assert_eq!(got.len(), 3, "{what}");
    for (i, (g, w)) in got.iter().zip(pages).enumerate() {
        assert_same_page(g, w, i + 1);
    }
}

fn check_success_audio(law: G711Law, ecm: bool) {
    let f = fixture();
    let t = Instant::now();
    let call = audio_call(&f, law, ecm, Fault::None);
    let what = format!("{law:?} ECM {ecm}");
    assert_delivered(&call, &f.pages, &what);
    assert_eq!(call.rx.ecm, ecm, "{what}");
    assert_eq!(call.tx.ecm, ecm, "{what}");
    eprintln!(
        "{what}: {} / {} in {:?} wall",
        call.tx.summary(),
        call.rx.summary(),
        t.elapsed()
    );
}

#[test]
fn alaw_audio_with_ecm() {
    check_success_audio(G711Law::ALaw, true);
}

#[test]
fn alaw_audio_without_ecm() {
    check_success_audio(G711Law::ALaw, false);
}

#[test]
fn mulaw_audio_with_ecm() {
    check_success_audio(G711Law::MuLaw, true);
}

#[test]
fn mulaw_audio_without_ecm() {
    check_success_audio(G711Law::MuLaw, false);
}

fn check_success_t38(ecm: bool) {
    let f = fixture();
    let t = Instant::now();
    let call = t38_call(&f, ecm, Fault::None);
    let what = format!("T.38 ECM {ecm}");
    assert_delivered(&call, &f.pages, &what);
    assert_eq!(call.rx.ecm, ecm, "{what}");
    eprintln!(
        "{what}: {} / {} in {:?} wall",
        call.tx.summary(),
        call.rx.summary(),
        t.elapsed()
    );
}

#[test]
fn t38_with_ecm() {
    check_success_t38(true);
}

#[test]
fn t38_without_ecm() {
    check_success_t38(false);
}

#[test]
fn t38_repeated_packets_are_ignored() {
    let f = fixture();
    let call = t38_call(&f, true, Fault::RepeatedPackets);
    assert_delivered(&call, &f.pages, "T.38 with repeated IFP packets");
    // SpanDSP asks for indicators and end-of-data packets three times.
    assert!(
        call.repeats > 10,
        "only {} packets were repeated",
        call.repeats
    );
}

/// Page 1 arrived whole; page 2 at most as a clean partial page; the outcome
/// says exactly what the file holds.
fn assert_kept_first_page(call: &Call, pages: &[Page], what: &str) {
    assert!(!call.rx.is_success(), "{what}: receiver reported success");
    assert!(!call.tx.is_success(), "{what}: sender reported success");
    assert_ne!(call.rx.code(), 0, "{what}");
    assert_eq!(
        call.tx.pages_transferred,
        1,
        "{what}: {}",
        call.tx.summary()
    );
    assert_eq!(
        call.rx.pages_transferred,
        1,
        "{what}: {}",
        call.rx.summary()
    );
    let got = received_pages(&call.rx_path);
    assert_eq!(
        got.len() as u32,
        call.rx.pages_stored,
        "{what}: {}",
        call.rx.summary()
    );
    assert_eq!(
        call.rx.pages_stored,
        1 + u32::from(call.rx.partial_page),
        "{what}"
    );
    assert_same_page(&got[0], &pages[0], 1);
    eprintln!(
        "{what}: sender {} / receiver {} (stored {}, partial {})",
        call.tx.summary(),
        call.rx.summary(),
        call.rx.pages_stored,
        call.rx.partial_page
    );
}

fn check_hang_up_audio(ecm: bool) {
    let f = fixture();
    let call = audio_call(&f, G711Law::ALaw, ecm, Fault::HangUpMidPage2);
    let what = format!("hang-up, A-law ECM {ecm}");
    assert_kept_first_page(&call, &f.pages, &what);
    assert_eq!(
        call.tx.code(),
        T30_ERR_CALLDROPPED,
        "{what}: {}",
        call.tx.summary()
    );
    // Without ECM the rows decoded before the cut are kept as a partial page.
    // With ECM, only CRC-checked frames of an uncommitted block can be kept.
    assert!(ecm || call.rx.partial_page, "{what}: no partial page kept");
    if call.rx.partial_page {
        let got = received_pages(&call.rx_path);
        assert_prefix_of(&got[1], &f.pages[1], 2);
    }
}

#[test]
fn far_end_hangs_up_mid_page_audio_with_ecm() {
    check_hang_up_audio(true);
}

#[test]
fn far_end_hangs_up_mid_page_audio_without_ecm() {
    check_hang_up_audio(false);
}

#[test]
fn far_end_hangs_up_mid_page_t38() {
    let f = fixture();
    for ecm in [true, false] {
        let call = t38_call(&f, ecm, Fault::HangUpMidPage2);
        let what = format!("hang-up, T.38 ECM {ecm}");
        assert_kept_first_page(&call, &f.pages, &what);
        assert_eq!(call.tx.code(), T30_ERR_CALLDROPPED, "{what}");
        assert!(ecm || call.rx.partial_page, "{what}: no partial page kept");
        if call.rx.partial_page {
            let got = received_pages(&call.rx_path);
            assert_prefix_of(&got[1], &f.pages[1], 2);
        }
    }
}

#[test]
fn noise_burst_in_page_two_is_repaired_by_ecm() {
    // ECM (T.30 Annex A) retransmits the frames the noise destroyed (PPR),
    // so the document still arrives exactly.
    let f = fixture();
    let call = audio_call(&f, G711Law::MuLaw, true, Fault::NoiseInPage2(5));
    assert_delivered(&call, &f.pages, "5 s noise burst, μ-law ECM");
}

#[test]
fn line_drowned_in_noise_from_page_two_fails_and_keeps_page_one() {
    // SpanDSP suspends its T.30 timers while it hears a signal, so a line
    // that turns to loud noise for good would never end by itself: the
    // session's stall watchdog ends it and reports why.
    let f = fixture();
    for ecm in [false, true] {
        let call = audio_call(&f, G711Law::MuLaw, ecm, Fault::NoiseInPage2(MAX_STEPS));
        let what = format!("noise, μ-law ECM {ecm}");
        assert_kept_first_page(&call, &f.pages, &what);
        // Our receiving end gives up first; the sender then gets the BYE.
        match &call.rx.status {
            FaxStatus::Failed { reason, .. } => {
                assert!(
                    reason.contains("No fax message got through"),
                    "{what}: {reason}"
                )
            }
            FaxStatus::Success => unreachable!("checked above"),
        }
        assert_eq!(call.tx.code(), T30_ERR_CALLDROPPED, "{what}");
    }
}

#[test]
fn nobody_on_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("send.tif");
    tiff::write_tiff(&src, &document()[..1], Compression::Group4).unwrap();
    let s = FaxSettings::default();

    // Calling into silence: T.30 gives up when T0/T1 expire.
    let mut tx = FaxSession::new(FaxJob::Send(src), Transport::Audio(G711Law::ALaw), &s).unwrap();
    let mut out = [0u8; STEP];
    let mut steps = 0;
    while !tx.is_finished() && steps < MAX_STEPS {
        tx.transmit_payload(&mut out).unwrap();
        tx.receive_payload(&[G711Law::ALaw.idle_octet(); STEP])
            .unwrap();
        steps += 1;
    }
    let o = tx.outcome().expect("sender never gave up on silence");
    assert!(
        [T30_ERR_T0_EXPIRED, T30_ERR_T1_EXPIRED].contains(&o.code()),
        "{}",
        o.summary()
    );
    assert_eq!(
        (o.pages_transferred, o.pages_total, o.bit_rate),
        (0, None, None)
    );
    assert!(
        o.duration().as_secs() >= 30,
        "gave up too early: {}",
        o.summary()
    );
    eprintln!("silent callee: {}", o.summary());

    // Answering silence over T.38: no IFP ever arrives.
    let dst = dir.path().join("rx.tif");
    let mut rx = FaxSession::new(
        FaxJob::Receive(dst.clone()),
        Transport::T38(T38Options::default()),
        &s,
    )
    .unwrap();
    let mut steps = 0;
    let mut sent = 0;
    while !rx.is_finished() && steps < MAX_STEPS {
        rx.advance(STEP as u32).unwrap();
        // Our CED and DIS go out into the void.
        sent += rx.take_ifp_packets().len();
        steps += 1;
    }
    let o = rx.outcome().expect("receiver never gave up on silence");
    assert!(
        [T30_ERR_T0_EXPIRED, T30_ERR_T1_EXPIRED].contains(&o.code()),
        "{}",
        o.summary()
    );
    assert_eq!((o.pages_transferred, o.pages_stored), (0, 0));
    assert!(
        sent > 0,
        "the answering terminal sent no CED/DIS indicators"
    );
    assert!(!dst.exists() || tiff::read_tiff(&dst).map(|p| p.is_empty()).unwrap_or(true));
    eprintln!("silent caller: {}", o.summary());
}

#[test]
fn page_header_line_is_added_above_the_page() {
    // With header text configured, SpanDSP prints a header line (date, time,
    // text, page number) above each sent page; the page itself follows intact.
    let f = fixture();
    let mut s = settings(true);
    s.header_info = "faxbridge loopback".into();
    s.ident = "+44 20 7946 0000".into();
    let t38 = Transport::T38(T38Options::default());
    let mut tx = FaxSession::new(FaxJob::Send(f.src.clone()), t38, &s).unwrap();
    let mut rx = FaxSession::new(FaxJob::Receive(f.dst.clone()), t38, &s).unwrap();
    let mut done_at = None;
    for step in 0..MAX_STEPS {
        t38_step(&mut tx, &mut rx);
        if finish_pair(step, &mut tx, &mut rx, &mut done_at) {
            break;
        }
    }
    let (o_tx, o_rx) = (tx.outcome().unwrap(), rx.outcome().unwrap());
    assert!(o_rx.is_success(), "{}", o_rx.summary());
    // Each side saw the other's TSI/CSI.
    assert_eq!(o_rx.remote_ident.as_deref(), Some("+44 20 7946 0000"));
    assert_eq!(o_tx.remote_ident.as_deref(), Some("+44 20 7946 0000"));
    let got = received_pages(&f.dst);
    assert_eq!(got.len(), 3);
    for (n, (g, w)) in got.iter().zip(&f.pages).enumerate() {
        assert!(g.height > w.height, "page {} has no header rows", n + 1);
        let extra = (g.height - w.height) as usize * w.stride();
        assert!(
            g.bits[..extra].iter().any(|&b| b != 0),
            "header rows are blank"
        );
        assert!(g.bits[extra..] == w.bits[..], "page {} body differs", n + 1);
    }
}

#[test]
fn a_page_being_received_reaches_the_file_before_the_page_ends() {
    // SpanDSP, as vendored (vendor/spandsp-sys/PATCHES.md), writes a received
    // page to its TIFF row by row instead of holding the whole page in memory
    // until it ends (half a megabyte for an A4 fine page, per call). Page 1
    // here starts with a band of noise, which G4 cannot compress, so libtiff's
    // 16 KiB output buffer fills and reaches the file several times while the
    // page is still arriving; T.38 without ECM delivers rows as they come.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("send.tif");
    let dst = dir.path().join("received.tif");
    let mut page = Page::blank(1728, PAGE_ROWS, Resolution::Fine);
    let mut rng = Lcg(0xfeed);
    for y in 100..300 {
        for x in 40..1688 {
            if rng.next() & 1 == 1 {
                page.set(x, y, true);
            }
        }
    }
    let pages = vec![page];
    tiff::write_tiff(&src, &pages, Compression::Group4).unwrap();
    let compressed = std::fs::metadata(&src).unwrap().len();
    assert!(compressed > 64 * 1024, "page 1 is only {compressed} bytes");

    let s = settings(false);
    let t38 = Transport::T38(T38Options::default());
    let mut tx = FaxSession::new(FaxJob::Send(src), t38, &s).unwrap();
    let mut rx = FaxSession::new(FaxJob::Receive(dst.clone()), t38, &s).unwrap();
    let mut done_at = None;
    let mut on_file_before_page_end = 0;
    for step in 0..MAX_STEPS {
        t38_step(&mut tx, &mut rx);
        if rx.pages_transferred() == 0 {
            let len = std::fs::metadata(&dst).map(|m| m.len()).unwrap_or(0);
            on_file_before_page_end = on_file_before_page_end.max(len);
        }
        if finish_pair(step, &mut tx, &mut rx, &mut done_at) {
            break;
        }
    }
    let rx_outcome = rx.outcome().unwrap();
    assert!(rx_outcome.is_success(), "{}", rx_outcome.summary());
    assert!(
        on_file_before_page_end >= compressed / 2,
        "{on_file_before_page_end} bytes of a {compressed}-byte page reached the file before the page ended"
    );
    let got = received_pages(&dst);
    assert_eq!(got.len(), 1);
    assert_same_page(&got[0], &pages[0], 1);
}
