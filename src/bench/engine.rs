//! `faxbridge bench engine`: CPU cost of the fax engine per second of fax.
//!
//! Two SpanDSP terminals exchange a three-page fine-resolution document in
//! memory, 20 ms (160 samples) per step, as fast as the CPU allows. Only the
//! calls into the *receiving* session are timed for the headline number — a
//! receiving end is what faxbridge runs per inbound call — and the sender's
//! calls are timed separately, so the pair cost can be compared with
//! DESIGN.md (about 1 ms per fax-second for a G.711 pair, 0.25 ms for T.38).
//! For G.711 the receiving end's cost includes decoding and encoding the
//! 160-octet payloads, as in production. Calls are repeated until the
//! requested amount of fax time has been processed.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::docs::tiff::{Compression, write_tiff};
use crate::docs::{DocError, Page, Resolution};
use crate::fax::{
    FaxError, FaxJob, FaxSession, FaxSettings, G711Law, SAMPLE_RATE, SAMPLES_PER_20MS, T38Options,
    Transport,
};

/// Errors of the engine benchmark.
#[derive(Debug, thiserror::Error)]
pub enum EngineBenchError {
    /// The work directory could not be created.
    #[error(
        "cannot create the benchmark directory {path:?}: {source}; set TMPDIR to a writable directory"
    )]
    WorkDir {
        /// Directory.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The test document could not be written.
    #[error("cannot write the benchmark document: {0}")]
    Document(#[from] DocError),
    /// A fax session could not be created or driven.
    #[error("fax engine error during the benchmark: {0}")]
    Fax(#[from] FaxError),
    /// A benchmark call failed, so its timing would be meaningless.
    #[error("a benchmark fax call failed ({0}); the engine is not working on this machine")]
    CallFailed(String),
}

/// Timing of one transport.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineBenchRow {
    /// "G.711 A-law" or "T.38".
    pub transport: &'static str,
    /// Fax time processed, in seconds.
    pub fax_seconds: f64,
    /// Complete calls run (the last one may be cut short at the time budget).
    pub calls: u32,
    /// Pages received in total.
    pub pages: u32,
    /// Time spent inside the receiving session.
    pub receiver: Duration,
    /// Time spent inside the sending session.
    pub sender: Duration,
}

impl EngineBenchRow {
    /// Receiver CPU milliseconds per second of fax.
    pub fn receiver_ms_per_fax_second(&self) -> f64 {
        self.receiver.as_secs_f64() * 1000.0 / self.fax_seconds.max(f64::EPSILON)
    }

    /// Sender CPU milliseconds per second of fax.
    pub fn sender_ms_per_fax_second(&self) -> f64 {
        self.sender.as_secs_f64() * 1000.0 / self.fax_seconds.max(f64::EPSILON)
    }

    /// Receiver + sender milliseconds per second of fax.
    pub fn pair_ms_per_fax_second(&self) -> f64 {
        self.receiver_ms_per_fax_second() + self.sender_ms_per_fax_second()
    }

    /// Fax seconds one core can process per wall second for one receiving end.
    pub fn realtime_factor(&self) -> f64 {
        1000.0 / self.receiver_ms_per_fax_second().max(f64::EPSILON)
    }
}

/// The benchmark's result: one row per transport.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineBenchReport {
    /// G.711 first, then T.38.
    pub rows: Vec<EngineBenchRow>,
}

impl fmt::Display for EngineBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<12} {:>9} {:>6} {:>6} {:>14} {:>12} {:>12} {:>10}",
            "transport",
            "fax s",
            "calls",
            "pages",
            "rx ms/fax-s",
            "tx ms/fax-s",
            "pair ms/s",
            "rx x RT"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:<12} {:>9.1} {:>6} {:>6} {:>14.3} {:>12.3} {:>12.3} {:>10.0}",
                r.transport,
                r.fax_seconds,
                r.calls,
                r.pages,
                r.receiver_ms_per_fax_second(),
                r.sender_ms_per_fax_second(),
                r.pair_ms_per_fax_second(),
                r.realtime_factor()
            )?;
        }
        Ok(())
    }
}

/// Run the benchmark over at least `seconds_of_fax` seconds of fax time per
/// transport, and at least one complete call (about 200 s of fax time).
pub fn run_engine_bench(seconds_of_fax: u32) -> Result<EngineBenchReport, EngineBenchError> {
    let dir = std::env::temp_dir().join(format!("faxbridge-bench-engine-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|source| EngineBenchError::WorkDir {
        path: dir.clone(),
        source,
    })?;
    let dir = super::WorkDir(dir);
    let src = dir.0.join("send.tif");
    let pages: Vec<Page> = (0..3).map(bench_page).collect();
    write_tiff(&src, &pages, Compression::Group4)?;
    let budget = u64::from(seconds_of_fax.max(10)) * u64::from(SAMPLE_RATE);
    let settings = FaxSettings::default();
    let rows = vec![
        measure(
            "G.711 A-law",
            Transport::Audio(G711Law::ALaw),
            &src,
            &dir.0,
            &settings,
            budget,
        )?,
        measure(
            "T.38",
            Transport::T38(T38Options::default()),
            &src,
            &dir.0,
            &settings,
            budget,
        )?,
    ];
    Ok(EngineBenchReport { rows })
}

/// Entry point of `faxbridge bench engine`: run and print the table.
pub fn run_cli(seconds_of_fax: u32) -> Result<(), EngineBenchError> {
    let report = run_engine_bench(seconds_of_fax)?;
    println!("Fax engine CPU per second of fax (one receiving end; sender shown apart)");
    print!("{report}");
    Ok(())
}

fn measure(
    name: &'static str,
    transport: Transport,
    src: &Path,
    dir: &Path,
    settings: &FaxSettings,
    budget: u64,
) -> Result<EngineBenchRow, EngineBenchError> {
    let mut row = EngineBenchRow {
        transport: name,
        fax_seconds: 0.0,
        calls: 0,
        pages: 0,
        receiver: Duration::ZERO,
        sender: Duration::ZERO,
    };
    let mut samples = 0u64;
    // At least one whole call, so every T.30 phase is in the measurement.
    while samples < budget || row.calls == 0 {
        let dst = dir.join(format!("rx-{}.tif", row.calls));
        let mut tx = FaxSession::new(FaxJob::Send(src.to_owned()), transport, settings)?;
        let mut rx = FaxSession::new(FaxJob::Receive(dst.clone()), transport, settings)?;
        let mut fwd = [0u8; SAMPLES_PER_20MS];
        let mut back = [0u8; SAMPLES_PER_20MS];
        // A call that has not finished in 10 minutes of fax time is broken.
        let limit = samples + 10 * 60 * u64::from(SAMPLE_RATE);
        let stop = if row.calls == 0 {
            limit
        } else {
            budget.min(limit)
        };
        while !(tx.is_finished() && rx.is_finished()) && samples < stop {
            match transport {
                Transport::Audio(_) => {
                    let t = Instant::now();
                    tx.transmit_payload(&mut fwd)?;
                    tx.receive_payload(&back)?;
                    let t2 = Instant::now();
                    rx.transmit_payload(&mut back)?;
                    rx.receive_payload(&fwd)?;
                    let t3 = Instant::now();
                    row.sender += t2 - t;
                    row.receiver += t3 - t2;
                }
                Transport::T38(_) => {
                    let t = Instant::now();
                    tx.advance(SAMPLES_PER_20MS as u32)?;
                    let to_rx = tx.take_ifp_packets();
                    let t2 = Instant::now();
                    rx.advance(SAMPLES_PER_20MS as u32)?;
                    for p in &to_rx {
                        rx.receive_ifp(p.seq, &p.data)?;
                    }
                    let to_tx = rx.take_ifp_packets();
                    let t3 = Instant::now();
                    for p in &to_tx {
                        tx.receive_ifp(p.seq, &p.data)?;
                    }
                    let t4 = Instant::now();
                    row.sender += (t2 - t) + (t4 - t3);
                    row.receiver += t3 - t2;
                }
            }
            samples += SAMPLES_PER_20MS as u64;
        }
        tx.hang_up();
        rx.hang_up();
        let out = rx.outcome().cloned();
        if let Some(o) = &out {
            row.pages += o.pages_transferred;
            // A call cut short by the time budget is expected to "fail"; one
            // that ended by itself must have succeeded.
            let cut_short = row.calls > 0 && samples >= budget;
            if !o.is_success() && !cut_short {
                return Err(EngineBenchError::CallFailed(o.summary()));
            }
        }
        row.calls += 1;
        let _ = std::fs::remove_file(&dst);
    }
    row.fax_seconds = samples as f64 / f64::from(SAMPLE_RATE);
    Ok(row)
}

/// A text-like A4 fine page (1728 × 2287) unique to page `n`: the kind of
/// page an office faxes, with enough transitions to keep V.17 busy.
fn bench_page(n: u32) -> Page {
    let mut p = Page::blank(1728, 2287, Resolution::Fine);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ u64::from(n);
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut y = 150;
    while y + 16 < p.height - 100 {
        let mut x = 100;
        while x + 8 < 1628 {
            let word = 2 + next() % 8;
            for _ in 0..word {
                if x + 8 >= 1628 {
                    break;
                }
                let bits = next();
                for dy in 0..16u32 {
                    for dx in 0..8u32 {
                        // Vertical and horizontal strokes picked by `bits`.
                        let v = (bits >> (dx / 3)) & 1 == 1 && dx % 3 < 2;
                        let h = (bits >> (3 + dy / 6)) & 1 == 1 && dy % 7 < 2;
                        if v || h {
                            p.set(x + dx, y + dy, true);
                        }
                    }
                }
                x += 10;
            }
            x += 12;
        }
        y += 28;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_a_row_per_transport() {
        let r = EngineBenchReport {
            rows: vec![EngineBenchRow {
                transport: "T.38",
                fax_seconds: 100.0,
                calls: 2,
                pages: 6,
                receiver: Duration::from_millis(25),
                sender: Duration::from_millis(50),
            }],
        };
        assert!((r.rows[0].receiver_ms_per_fax_second() - 0.25).abs() < 1e-9);
        assert!((r.rows[0].pair_ms_per_fax_second() - 0.75).abs() < 1e-9);
        let text = r.to_string();
        assert_eq!(text.lines().count(), 2);
        assert!(text.contains("T.38") && text.contains("0.250"), "{text}");
    }

    #[test]
    fn bench_pages_differ() {
        let a = bench_page(0);
        let b = bench_page(1);
        assert_ne!(a.bits, b.bits);
        let black = a.bits.iter().map(|b| b.count_ones()).sum::<u32>();
        assert!(black > 100_000, "page too empty: {black}");
    }
}
