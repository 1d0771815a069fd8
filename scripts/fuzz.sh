#!/usr/bin/env bash
# A fuzzing campaign: every target (or those named) for FUZZ_SECONDS each, FUZZ_JOBS at a time,
# growing fuzz/corpus/<target>; then a table of executions and findings. See FUZZING.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${FUZZ_SECONDS:-300}"
JOBS="${FUZZ_JOBS:-1}"
TARGET_DIR="${FUZZ_TARGET_DIR:-fuzz/libfuzzer/target}"
LOGS="${FUZZ_LOGS:-fuzz/libfuzzer/logs}"
FLAGS=(--fuzz-dir fuzz/libfuzzer --sanitizer none --debug-assertions --release --target-dir "$TARGET_DIR")
if [ "$#" -gt 0 ]; then targets=("$@"); else
  mapfile -t targets < <(ls fuzz/libfuzzer/fuzz_targets | sed 's/\.rs$//')
fi
cargo +nightly fuzz build "${FLAGS[@]}"
mkdir -p "$LOGS"

run_one() {
  local t="$1"
  # -rss_limit_mb: an input that makes a decoder allocate beyond it is a finding.
  cargo +nightly fuzz run "${FLAGS[@]}" "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
    -print_final_stats=1 >"$LOGS/$t.log" 2>&1 || echo "$t: FINDING (see $LOGS/$t.log)"
}
running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then wait -n || true; running=$((running - 1)); fi
done
wait

total=0; findings=0
printf '%-20s %14s %10s %8s %s\n' target executions "exec/s" corpus finding
for t in "${targets[@]}"; do
  log="$LOGS/$t.log"
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  found=$(grep -c '^==[0-9]*== ERROR\|panicked at\|deadly signal' "$log" || true)
  corpus=$(ls "fuzz/corpus/$t" | wc -l)
  printf '%-20s %14s %10s %8s %s\n' "$t" "${runs:-?}" "${speed:-?}" "$corpus" "$found"
  total=$((total + ${runs:-0})); findings=$((findings + found))
done
echo "total executions: $total; findings: $findings"
[ "$findings" -eq 0 ]
