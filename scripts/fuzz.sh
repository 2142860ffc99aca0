#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser that takes bytes from outside
# (RELIABILITY.md). Builds fuzz/ with cargo-fuzz (libFuzzer) and runs each
# target for FUZZ_SECONDS (default 60), one after the other.
#
#   scripts/fuzz.sh [target...]      run the named targets (default: all)
#   FUZZ_SECONDS=3600 scripts/fuzz.sh sip
#   FUZZ_CPU_SECONDS=3600 scripts/fuzz.sh sip   until the fuzzer has had an
#                                        hour of CPU (a machine shared with
#                                        other work)
#   scripts/fuzz.sh --merge [target...]  minimise what the runs found into
#                                        the committed corpus fuzz/corpus/<t>
#
# New inputs go to fuzz/work/<target>/ (not committed); the committed corpus
# fuzz/corpus/<target>/ is read as seeds. A crash or timeout leaves its input
# in fuzz/artifacts/<target>/: fix it, then copy it to
# fuzz/regressions/<target>/ so that `cargo test --test fuzz_corpus` keeps it
# fixed. Logs go to fuzz/logs/<target>.log; the last lines of each are the
# figures (executions, cov, ft, corpus) RELIABILITY.md records.
#
# cargo-fuzz needs nightly's -Z flags; RUSTC_BOOTSTRAP=1 lets the stable
# toolchain take them. No sanitizer (-s none): the fuzzed code is safe Rust,
# and without AddressSanitizer the build is quicker and runs about twice as
# fast. Debug assertions and overflow checks are on (cargo-fuzz's default),
# so an integer overflow is a crash.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

ALL=(sip sdp rtp udptl smtp mime tiff pdf snmp config)
merge=0
if [ "${1:-}" = --merge ]; then
  merge=1
  shift
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")
seconds=${FUZZ_SECONDS:-60}
cpu_seconds=${FUZZ_CPU_SECONDS:-}

export CARGO_INCREMENTAL=0 RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
flags=(-s none)
cargo fuzz build "${flags[@]}"

mkdir -p logs
status=0
for t in "${targets[@]}"; do
  mkdir -p "work/$t" "artifacts/$t"
  if [ $merge = 1 ]; then
    # Keep only the inputs that add coverage, into a fresh corpus.
    rm -rf "work/$t.merged" && mkdir -p "work/$t.merged"
    cargo fuzz run "${flags[@]}" "$t" "work/$t.merged" "corpus/$t" "work/$t" -- \
      -merge=1 -rss_limit_mb=2048 -timeout=20 >"logs/$t.merge.log" 2>&1
    rm -rf "corpus/$t" && mv "work/$t.merged" "corpus/$t"
    echo "$t: $(ls "corpus/$t" | wc -l) files, $(du -sh "corpus/$t" | cut -f1)"
    continue
  fi
  if [ -n "$cpu_seconds" ]; then
    echo "== $t: ${cpu_seconds}s of CPU time"
    wall=$((cpu_seconds * 4))
  else
    echo "== $t: ${seconds}s"
    wall=$seconds
  fi
  cargo fuzz run "${flags[@]}" "$t" "work/$t" "corpus/$t" -- \
    -max_total_time="$wall" -rss_limit_mb=2048 -timeout=20 \
    -print_final_stats=1 >"logs/$t.log" 2>&1 &
  runner=$!
  interrupted=0
  if [ -n "$cpu_seconds" ]; then
    # On a shared machine, count the fuzzer's own CPU time rather than the
    # clock: interrupt it (it prints its final figures) once it has had
    # cpu_seconds of CPU.
    tick=$(getconf CLK_TCK)
    while kill -0 "$runner" 2>/dev/null; do
      sleep 5
      # cargo runs cargo-fuzz, which runs the target's binary.
      fuzzer=$(pgrep -f -- "/release/$t -" | head -1 || true)
      [ -n "$fuzzer" ] || continue
      used=$(awk '{print int(($14 + $15) / '"$tick"')}' "/proc/$fuzzer/stat" 2>/dev/null || echo 0)
      if [ "$used" -ge "$cpu_seconds" ]; then
        interrupted=1
        kill -INT "$fuzzer" 2>/dev/null || true
        break
      fi
    done
  fi
  rc=0
  wait "$runner" || rc=$?
  # Interrupted, libFuzzer exits 72 and cargo-fuzz reports that as a
  # failure: the run was whole if libFuzzer says it was interrupted.
  if [ $rc != 0 ] && ! { [ $interrupted = 1 ] && grep -q 'libFuzzer: run interrupted' "logs/$t.log"; }; then
    echo "$t: FAILED (crash, timeout or out-of-memory), see fuzz/logs/$t.log and fuzz/artifacts/$t/"
    status=1
  fi
  grep -E '^#[0-9]+' "logs/$t.log" | tail -1 || true
  grep -E '^stat::number_of_executed_units' "logs/$t.log" || true
done
exit $status
