//! Replays every committed fuzz input through its target, without an
//! instrumented build: the corpora of `fuzz/corpus/<target>/` and the inputs
//! that once crashed a target, kept in `fuzz/regressions/<target>/`. A crash
//! found once stays fixed.
//!
//! `cargo test --test fuzz_corpus -- --ignored write_generated_seeds` writes
//! the seeds made with the library's own encoders (TIFF pages of every
//! compression); `fuzz/seed_corpus.py` writes the hand-made ones.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use faxbridge::fuzzing::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// The one panic a target lets unwind on purpose: mail-parser's assertion
/// on a lost multipart, which the intake catches (RELIABILITY.md).
const KNOWN_PANIC: &str = "could not find multipart";

/// Panics anywhere in the process, the threads a target starts included: a
/// PDF render thread that panics becomes an error for its caller, which
/// `catch_unwind` around the target would not see (the fuzzer, built to
/// abort on a panic, does).
static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            if !message.contains(KNOWN_PANIC) {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

/// Runs every file of `kind` (corpus or regressions) through its target;
/// a panic, in the target or in a thread it started, names the file. A run
/// slower than `slow` is reported too: in the fuzzer it would be a timeout.
fn replay(kind: &str, slow: Duration) -> usize {
    // One replay at a time, so a panic is put down to the right file.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    count_panics();
    let mut count = 0;
    let mut problems = Vec::new();
    for (name, target) in TARGETS {
        for path in files(&fuzz_dir().join(kind).join(name)) {
            let data = std::fs::read(&path).unwrap();
            let start = Instant::now();
            let before = PANICS.load(Ordering::SeqCst);
            let result = std::panic::catch_unwind(|| target(&data));
            let took = start.elapsed();
            let panicked = PANICS.load(Ordering::SeqCst) > before;
            match result {
                Err(_) => problems.push(format!("{} panicked", path.display())),
                Ok(()) if panicked => problems.push(format!(
                    "{} panicked in a thread the target started",
                    path.display()
                )),
                Ok(()) if took > slow => problems.push(format!("{} took {took:?}", path.display())),
                Ok(()) => {}
            }
            count += 1;
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    count
}

#[test]
fn committed_corpora_replay_cleanly() {
    // A debug build is far slower than the fuzzer's optimised one.
    let n = replay("corpus", Duration::from_secs(60));
    assert!(n >= TARGETS.len(), "only {n} corpus files");
}

#[test]
fn every_target_has_a_corpus() {
    for (name, _) in TARGETS {
        assert!(
            !files(&fuzz_dir().join("corpus").join(name)).is_empty(),
            "fuzz/corpus/{name} is empty"
        );
        assert!(
            fuzz_dir()
                .join("fuzz_targets")
                .join(format!("{name}.rs"))
                .is_file(),
            "no fuzz target for {name}"
        );
    }
}

#[test]
fn crash_regressions_stay_fixed() {
    replay("regressions", Duration::from_secs(60));
}

#[test]
fn frames_round_trip() {
    let parts: [&[u8]; 3] = [b"abc", b"", &[0; 300]];
    let framed = faxbridge::fuzzing::frame(&parts);
    assert_eq!(faxbridge::fuzzing::frames(&framed), parts.to_vec());
    assert_eq!(
        faxbridge::fuzzing::frames(&[0, 5, 1, 2]),
        vec![&[1u8, 2][..]]
    );
}

#[test]
#[ignore = "writes seeds into fuzz/corpus"]
fn write_generated_seeds() {
    use faxbridge::docs::tiff::{Compression, tiff_bytes};
    use faxbridge::docs::{Page, Resolution};
    let dir = fuzz_dir().join("corpus").join("tiff");
    std::fs::create_dir_all(&dir).unwrap();
    let mut page = Page::blank(64, 24, Resolution::Fine);
    for y in 0..24 {
        for x in 0..64 {
            page.set(x, y, (x / 3 + y / 2) % 3 == 0);
        }
    }
    let blank = Page::blank(1728, 4, Resolution::Standard);
    for (name, c) in [
        ("g4", Compression::Group4),
        ("g3-1d", Compression::Group3OneD),
        ("raw", Compression::Uncompressed),
    ] {
        let bytes = tiff_bytes(&[page.clone(), blank.clone()], c).unwrap();
        std::fs::write(dir.join(format!("two-pages-{name}.tif")), bytes).unwrap();
    }
}
