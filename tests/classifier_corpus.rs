//! The call classifier on a labelled corpus (see `support/corpus.rs`):
//! 56 non-payment calls (speech, music on hold with sustained notes at the
//! frequencies that fooled the old detector, DTMF, call-progress tones,
//! real fax calls) and 24 card-terminal handshakes made by SpanDSP modems,
//! each heard under 7 conditions (clean, 20 dB SNR, ±10 dB, A-law, µ-law,
//! 1 % packet loss): 392 and 168 classified calls.
//!
//! Targets: no non-payment call is flagged (a finding that would alert
//! finance), and at least 99 % of the handshakes are. The confusion matrix
//! (call kind × verdict) is printed and written to
//! `target/classifier-corpus.md`; BENCHMARKS.md quotes it.
//!
//! One test does it all, so the corpus is made once; the calls are
//! classified on every core.

#[path = "support/corpus.rs"]
mod corpus;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use corpus::{Call, Condition, classify, non_payment_calls, payment_calls, render};
use faxbridge::media::classifier::{Classification, Confidence, Label};

/// Columns of the confusion matrix.
const VERDICTS: [&str; 6] = [
    "flagged (high)",
    "flagged (medium)",
    "suspected",
    "fax",
    "voice",
    "unknown",
];

fn verdict(c: &Classification) -> usize {
    match (c.label, c.confidence) {
        (Label::DataModem { .. }, Confidence::High) => 0,
        (Label::DataModem { .. }, Confidence::Medium) => 1,
        (Label::DataModem { .. }, Confidence::Low) => 2,
        (Label::Fax, _) => 3,
        (Label::Voice, _) => 4,
        (Label::Unknown, _) => 5,
    }
}

#[test]
fn no_false_flags_and_handshakes_flagged() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let (others, payments) = std::thread::scope(|s| {
        let others = s.spawn(|| non_payment_calls(dir.path()));
        let payments = s.spawn(payment_calls);
        (others.join().unwrap(), payments.join().unwrap())
    });
    let calls: Vec<Call> = others.into_iter().chain(payments).collect();
    let made = started.elapsed();
    let audio_secs: f64 = calls
        .iter()
        .map(|c| c.caller.len().max(c.callee.len()) as f64 / 8000.0)
        .sum::<f64>()
        * Condition::ALL.len() as f64;

    let jobs: Vec<(usize, Condition)> = (0..calls.len())
        .flat_map(|i| Condition::ALL.into_iter().map(move |c| (i, c)))
        .collect();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, Condition, Classification)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&(i, condition)) = jobs.get(n) else {
                            break;
                        };
                        let heard = render(&calls[i], condition, n as u64 + 1);
                        out.push((i, condition, classify(&heard)));
                    }
                    out
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    results.sort_by_key(|(i, c, _)| (*i, Condition::ALL.iter().position(|x| x == c)));

    // Rows: payment first, then the other kinds, in corpus order.
    let mut rows: BTreeMap<(bool, usize, &str), [usize; VERDICTS.len()]> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    let (mut others_n, mut payments_n, mut false_flags, mut flagged) = (0, 0, Vec::new(), 0);
    let mut missed = Vec::new();
    let mut suspected = Vec::new();
    for (i, condition, c) in &results {
        let call = &calls[*i];
        if !order.contains(&call.category) {
            order.push(call.category);
        }
        let rank = order.iter().position(|k| *k == call.category).unwrap();
        let v = verdict(c);
        rows.entry((!call.payment, rank, call.category))
            .or_insert([0; VERDICTS.len()])[v] += 1;
        if call.payment {
            payments_n += 1;
            if c.is_finding() {
                flagged += 1;
            } else {
                missed.push(format!("{} [{condition:?}]: {c:?}", call.name));
            }
        } else {
            others_n += 1;
            if c.is_suspected() {
                suspected.push(format!("{} [{condition:?}]: {:?}", call.name, c.evidence));
            }
            if c.is_finding() {
                false_flags.push(format!("{} [{condition:?}]: {c:?}", call.name));
            }
        }
    }

    let mut table = String::new();
    let _ = writeln!(table, "| call kind | calls | {} |", VERDICTS.join(" | "));
    let _ = writeln!(table, "|---|---:|{}", "---:|".repeat(VERDICTS.len()));
    for ((other, _, kind), counts) in &rows {
        let label = if *other {
            format!("{kind} (not payment)")
        } else {
            format!("{kind} (payment)")
        };
        let cells: Vec<String> = counts.iter().map(usize::to_string).collect();
        let _ = writeln!(
            table,
            "| {label} | {} | {} |",
            counts.iter().sum::<usize>(),
            cells.join(" | ")
        );
    }
    let suspected_others: usize = rows
        .iter()
        .filter(|((other, _, _), _)| *other)
        .map(|(_, c)| c[2])
        .sum();
    let summary = format!(
        "{} calls ({} not payment, {} payment handshakes) from {} corpus calls × {} conditions, \
         {:.0} s of audio; made in {:.1} s, classified in {:.1} s on {threads} threads.\n\
         False flags: {} of {others_n} (suspected, not flagged: {suspected_others}). \
         Handshakes flagged: {flagged} of {payments_n} ({:.1} %).\n",
        results.len(),
        others_n,
        payments_n,
        calls.len(),
        Condition::ALL.len(),
        audio_secs,
        made.as_secs_f64(),
        (started.elapsed() - made).as_secs_f64(),
        false_flags.len(),
        100.0 * flagged as f64 / payments_n.max(1) as f64,
    );
    eprintln!("\n{table}\n{summary}");
    for m in &suspected {
        eprintln!("SUSPECTED, NOT PAYMENT: {m}");
    }
    for m in &missed {
        eprintln!("MISSED: {m}");
    }
    for f in &false_flags {
        eprintln!("FALSE FLAG: {f}");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let _ = std::fs::create_dir_all(&target);
    let _ = std::fs::write(
        target.join("classifier-corpus.md"),
        format!("{table}\n{summary}"),
    );

    assert!(others_n >= 300, "only {others_n} non-payment calls");
    assert!(payments_n >= 150, "only {payments_n} payment handshakes");
    assert!(
        false_flags.is_empty(),
        "{} non-payment calls flagged:\n{}",
        false_flags.len(),
        false_flags.join("\n")
    );
    assert!(
        flagged * 100 >= payments_n * 99,
        "only {flagged} of {payments_n} handshakes flagged; missed:\n{}",
        missed.join("\n")
    );
}

/// Nanoseconds this thread has run on a CPU (`/proc/thread-self/schedstat`).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat")
}

/// The classifier's CPU cost per call-second on one call of each kind of
/// the corpus and on the bridge benchmark's synthetic speech (thread CPU
/// time, both directions). A measurement, not a check: run it in an
/// optimised build, as BENCHMARKS.md does.
#[test]
#[ignore]
fn cpu_per_call_second_by_kind() {
    let dir = tempfile::tempdir().unwrap();
    let mut calls = non_payment_calls(dir.path());
    calls.extend(payment_calls());
    let bench = faxbridge::media::synth::speech(120.0, 1, 2500.0);
    calls.push(Call {
        name: "bench speech".into(),
        category: "bridge benchmark speech",
        payment: false,
        caller: bench.clone(),
        callee: faxbridge::media::synth::speech(120.0, 2, 2500.0),
    });
    let mut by_kind: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for call in &calls {
        let heard = render(call, Condition::ALaw, 1);
        let secs = heard[0].len().max(heard[1].len()) as f64 * 0.02;
        let t = thread_cpu_ns();
        let _ = classify(&heard);
        let ms = (thread_cpu_ns() - t) as f64 / 1e6;
        let e = by_kind.entry(call.category).or_default();
        e.0 += ms;
        e.1 += secs;
    }
    println!("| call kind | audio (s) | classifier CPU, ms per call-second |");
    println!("|---|---:|---:|");
    for (kind, (ms, secs)) in by_kind {
        println!("| {kind} | {secs:.0} | {:.2} |", ms / secs);
    }
}
