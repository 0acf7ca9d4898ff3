#!/usr/bin/env bash
# The sanitizer tier: capscope built with AddressSanitizer (LeakSanitizer on)
# and UndefinedBehaviorSanitizer in build-asan/, then
#   1. the unit tier (ctest) under it,
#   2. a privileged smoke subset with that binary: record (plain, creds,
#      lifecycle), containers, verify, the daemon with containers, trace
#      under overflow, diagnose.
# Any sanitizer report is fatal (-fno-sanitize-recover, halt_on_error) and
# makes its test fail. Last line: "N passed, N failed, N skipped".
#
#   scripts/sanitize.sh [PATTERN...]   (privileged test globs; default: smoke)
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CAPSCOPE_ASAN_BUILD:-$root/build-asan}
smoke=('record_chown' 'record_bind_port_80' 'record_daemonized_child'
  'record_creds_*' 'record_sigint' 'record_duration_stops_workload'
  'container_record_chown' 'container_record_two_containers'
  'container_record_attach' 'verify_sets_exact_caps'
  'verify_minimize_drops_unneeded_cap' 'verify_podman_container'
  'daemon_three_containers' 'daemon_restart_keeps_profiles'
  'daemon_bad_input' 'daemon_metrics_prometheus' 'trace_stress_counts_exact'
  'diagnose_non_root_chown' 'cli_*')
(($#)) && smoke=("$@")

echo "sanitize.sh: building with -DCAPSCOPE_SANITIZE=ON in $build"
if ! { cmake -S "$root" -B "$build" -DCAPSCOPE_SANITIZE=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build "$build" -j "$(nproc)"; } \
  >"$build.log" 2>&1; then
  tail -40 "$build.log"
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

# Reports also go to files, so one that a test did not notice (a leak at
# exit of a command whose status the test ignores) still fails the tier.
reports=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$log" "$reports"' EXIT
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:exitcode=86:log_path=$reports/asan
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan
passed=0 failed=0 skipped=0
if ctest --test-dir "$build" --output-on-failure >"$log" 2>&1; then :; fi
tail -3 "$log"
if counts=$(sed -nE 's/.*tests passed, ([0-9]+) tests? failed out of ([0-9]+).*/\1 \2/p' "$log" | tail -n 1) &&
  [[ -n "$counts" ]]; then
  read -r f t <<<"$counts"
  passed=$((passed + t - f)) failed=$((failed + f))
  ((f > 0)) && grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error|Failed' "$log" | head -20
else
  failed=$((failed + 1))
fi

CAPSCOPE=$build/userspace/cli/capscope CAPSCOPE_HELPERS=$build/tests/helpers \
  bash "$root/tests/privileged/run.sh" "${smoke[@]}" | tee "$log"
if counts=$(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/p' "$log" | tail -n 1) &&
  [[ -n "$counts" ]]; then
  read -r p f s <<<"$counts"
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
else
  failed=$((failed + 1))
fi
if compgen -G "$reports/*" >/dev/null; then
  echo "FAIL sanitizer reports (not all noticed by a test):"
  head -40 "$reports"/* | sed 's/^/    /'
  failed=$((failed + 1))
else
  echo "PASS no sanitizer report from any run"
  passed=$((passed + 1))
fi
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
