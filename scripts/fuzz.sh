#!/usr/bin/env bash
# Coverage-guided fuzzing of every target in fuzz/ (cargo-fuzz, libFuzzer), each for a
# given time, then a corpus minimisation; prints executions per target and the total.
#
#   scripts/fuzz.sh            # 60 s per target
#   scripts/fuzz.sh 600        # 10 minutes per target
#   TARGETS="config writers" JOBS=2 scripts/fuzz.sh 300
#
# Stable Rust builds the targets with `--sanitizer none` (the code under test forbids
# unsafe; the sanitizers need nightly). The first build takes a while (the whole crate,
# instrumented). New inputs land in fuzz/corpus/TARGET (minimised after each run); the
# unit test fuzzing::tests::the_fuzz_corpus_and_regressions_replay_clean replays them, and every input
# in fuzz/regressions/TARGET, in CI. A finding is saved in fuzz/artifacts/TARGET/;
# reproduce it with `cargo fuzz run -s none TARGET fuzz/artifacts/TARGET/crash-…`, and
# once fixed, keep it as fuzz/regressions/TARGET/<what it found> (cmin never prunes it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"
seconds=${1:-60}
targets=${TARGETS:-record config front_arguments writers credential_json edit aws_answers}
jobs=${JOBS:-1}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cp ../Cargo.lock Cargo.lock 2>/dev/null || true

total=0
report=()
for target in $targets; do
    log=$(mktemp)
    # -jobs N runs N processes that share the corpus; each writes fuzz-K.log.
    rm -f fuzz-*.log
    cargo fuzz run -s none "$target" -- -max_total_time="$seconds" -print_final_stats=1 -max_len=4096 \
        -jobs="$jobs" -workers="$jobs" >"$log" 2>&1 || { cat "$log" fuzz-*.log 2>/dev/null | tail -40; exit 1; }
    runs=$(cat "$log" fuzz-*.log 2>/dev/null | sed -n 's/^stat::number_of_executed_units: *//p' | paste -sd+ | bc)
    total=$((total + runs))
    report+=("$(printf '%-16s %12d executions in %d s' "$target" "$runs" "$seconds")")
    cargo fuzz cmin -s none "$target" >/dev/null 2>&1 || true
    rm -f "$log" fuzz-*.log
done
printf '%s\n' "${report[@]}"
printf '%-16s %12d executions, no findings\n' total "$total"
