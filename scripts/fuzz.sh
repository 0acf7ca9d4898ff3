#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser of outside input (tests/fuzz/).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Builds the libFuzzer targets with clang, ASan and UBSan in build-fuzz/,
# then runs each target for SECONDS_PER_TARGET (default 600) on a copy of
# its seed corpus (tests/fuzz/corpus/NAME) plus the committed regression
# inputs (tests/fuzz/regressions/NAME). Prints one line per target:
#   PASS fuzz_NAME: N execs in S s (R/s), corpus C
#   FAIL fuzz_NAME: crash|timeout|oom, input saved to tests/fuzz/regressions/…
# A failing input is copied into tests/fuzz/regressions/NAME/ so that, once
# committed, the unit tier replays it forever. Last line: "N passed, N
# failed, 0 skipped"; exit 1 if any target failed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
secs=${1:-600}
shift || true
[[ "$secs" =~ ^[0-9]+$ ]] || {
  echo "fuzz.sh: SECONDS_PER_TARGET must be a number, got '$secs'" >&2
  exit 2
}
build=${CAPSCOPE_FUZZ_BUILD:-$root/build-fuzz}

command -v clang++ >/dev/null || {
  echo "fuzz.sh: clang++ not found (bash scripts/setup.sh installs it)" >&2
  exit 2
}
targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in "$root"/tests/fuzz/fuzz_*.cpp; do
    targets+=("$(basename "$f" .cpp)")
  done
fi

echo "fuzz.sh: building ${#targets[@]} target(s) in $build"
cmake -S "$root" -B "$build" -DCAPSCOPE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >"$build.log" 2>&1 ||
  { tail -20 "$build.log" >&2; exit 2; }
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" >>"$build.log" 2>&1 ||
  { tail -40 "$build.log" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
for t in "${targets[@]}"; do
  corpus=$work/$t
  mkdir -p "$corpus" "$work/$t.artifacts"
  cp -r "$root/tests/fuzz/corpus/$t/." "$corpus/" 2>/dev/null || true
  regress=$root/tests/fuzz/regressions/$t
  [[ -d "$regress" ]] && cp -r "$regress/." "$corpus/"
  log=$work/$t.log
  # -rss_limit_mb: the parsers hold a profile or a symbol table, no more.
  if ASAN_OPTIONS=detect_leaks=1 "$build/tests/fuzz/$t" "$corpus" \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$work/$t.artifacts/" -print_final_stats=1 >"$log" 2>&1; then
    execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)
    rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -1)
    size=$(find "$corpus" -type f | wc -l)
    echo "PASS $t: ${execs:-?} execs in ${secs} s (${rate:-?}/s), corpus $size"
    passed=$((passed + 1))
  else
    kind=crash
    grep -q 'ERROR: libFuzzer: timeout' "$log" && kind=timeout
    grep -q 'out-of-memory' "$log" && kind=oom
    mkdir -p "$regress"
    saved=()
    for a in "$work/$t.artifacts"/*; do
      [[ -f "$a" ]] || continue
      cp "$a" "$regress/"
      saved+=("tests/fuzz/regressions/$t/$(basename "$a")")
    done
    echo "FAIL $t: $kind, input saved to ${saved[*]:-nothing (see the log below)}"
    grep -E 'ERROR|SUMMARY|invariant|#[0-9]+ 0x' "$log" | head -15 | sed 's/^/    /'
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed, 0 skipped"
((failed == 0))
