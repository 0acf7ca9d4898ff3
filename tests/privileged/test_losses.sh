# shellcheck shell=bash
# shellcheck disable=SC2016  # workload commands in single quotes
# Loss accounting (issue 15): every kernel map insertion that can fail is
# counted and reported. CAPSCOPE_MAP_ENTRIES=MAP=N shrinks a map before the
# BPF object loads, so each test forces one overflow and checks it reaches
# record's JSON profile and report, `capscope trace`'s summary, diagnose's
# output or the daemon's metrics, and that the counts of keys already in the
# map stay exact. The daemon helpers come from test_daemon.sh. The functions
# here run under lib.sh (see run.sh).

# shellcheck source=test_daemon.sh
source "$LIB_DIR/test_daemon.sh"

no_root_needed test_losses_bad_switch

CAPGEN="$REPO_ROOT/build/tests/bench/capgen"

require_capgen() {
  [[ -x "$CAPGEN" ]] || skip "load generator not built (expected $CAPGEN)"
}

# flood_script ITERS N: a workload that makes ITERS x 2 SYS_NICE checks of one
# key (capgen --op ioprio, one thread), then opens N mount namespaces each
# running clone_newuts (a few SYS_ADMIN keys of their own: new keys in a new
# scope each time), then ITERS more SYS_NICE checks of the same key.
flood_script() {
  local iters=$1 n=$2
  printf '%q --op ioprio --threads 1 --iters %d >/dev/null && ' "$CAPGEN" "$iters"
  printf 'for i in $(seq %d); do unshare -m %q >/dev/null || exit 1; done && ' "$n" "$HELPERS/clone_newuts"
  printf '%q --op ioprio --threads 1 --iters %d >/dev/null\n' "$CAPGEN" "$iters"
}

# sys_nice PROFILE: the SYS_NICE checks in a JSON profile.
sys_nice() {
  json_get "$1" 'sum(c["granted"] + c["denied"] for c in d["checks"] if c["cap"] == "SYS_NICE")'
}

# The switch itself: bad input is one line and a non-zero exit.
test_losses_bad_switch() {
  require_capscope
  local out rc=0
  out=$(CAPSCOPE_MAP_ENTRIES=seen run_capscope record -- true 2>&1) || rc=$?
  ((rc != 0)) || fail "record with CAPSCOPE_MAP_ENTRIES=seen exited 0"
  assert_contains "$out" "CAPSCOPE_MAP_ENTRIES: 'seen' is not MAP=ENTRIES" "error for a malformed switch"
  assert_eq 1 "$(wc -l <<<"$out")" "lines of the error"
  ((EUID == 0)) || return 0
  rc=0
  out=$(CAPSCOPE_MAP_ENTRIES=nosuchmap=4 run_capscope record -- true 2>&1) || rc=$?
  ((rc != 0)) || fail "record with an unknown map name exited 0"
  assert_contains "$out" "cannot resize map 'nosuchmap'" "error for an unknown map"
}

# Without a shrunk map nothing is lost, and the kernel's total of checks is
# the sum of the profile's: every check is in exactly one key.
test_losses_none_total_matches() {
  require_root
  require_capscope
  require_capgen
  require_helper clone_newuts
  require_cmd unshare
  local p="$TEST_TMP/p.json" got
  run_capscope record --format json -o "$p" -- sh -c "$(flood_script 2000 5)" >&2 ||
    fail "record of the flood workload failed"
  got=$(json_get "$p" '(d["lost_events"], sum(d["map_overflows"].values()), d["checks_total"] == sum(c["granted"] + c["denied"] for c in d["checks"]), d["checks_total"] > 0)')
  assert_eq "0 0 true true" "$got" "lost events, map overflows, checks_total == sum of the checks, checks_total > 0"
  assert_eq 4000 "$(sys_nice "$p")" "SYS_NICE checks"
}

# counts full (hash maps only, 32 keys): keys counted before it filled keep
# exact counts, checks of keys that found no room are counted as lost.
test_losses_counts_full_exact_present() {
  require_root
  require_capscope
  require_capgen
  require_helper clone_newuts
  require_cmd unshare
  local p="$TEST_TMP/p.json" err="$TEST_TMP/err" got
  CAPSCOPE_NO_CACHES=1 CAPSCOPE_MAP_ENTRIES=counts=32 \
    run_capscope record --format json -o "$p" -- sh -c "$(flood_script 3000 60)" 2>"$err" ||
    fail "record of the flood workload failed: $(tail -n 3 "$err")"
  cat "$err" >&2
  got=$(json_get "$p" '(d["map_overflows"]["counts"] > 0, d["checks_total"] > sum(c["granted"] + c["denied"] for c in d["checks"]))')
  assert_eq "true true" "$got" "counts overflow counted, checks_total above the counted checks"
  assert_eq 6000 "$(sys_nice "$p")" "SYS_NICE checks of a key present before counts filled"
  assert_contains "$(cat "$err")" "WARNING: kernel maps overflowed" "record's stderr"
  # The report format says it too.
  CAPSCOPE_NO_CACHES=1 CAPSCOPE_MAP_ENTRIES=counts=32 \
    run_capscope record -o "$TEST_TMP/report.txt" -- sh -c "$(flood_script 100 40)" >&2 2>&1 ||
    fail "record (report) of the flood workload failed"
  assert_contains "$(cat "$TEST_TMP/report.txt")" "some checks were not counted" "record's report"
}

# seen full: new keys go unannounced (counted as such), every count stays
# exact.
test_losses_seen_full() {
  require_root
  require_capscope
  require_capgen
  require_helper clone_newuts
  require_cmd unshare
  local p="$TEST_TMP/p.json" got
  CAPSCOPE_MAP_ENTRIES=seen=16 \
    run_capscope record --format json -o "$p" -- sh -c "$(flood_script 3000 40)" >&2 ||
    fail "record of the flood workload failed"
  got=$(json_get "$p" '(d["map_overflows"]["seen"] > 0, d["map_overflows"]["counts"], d["checks_total"] == sum(c["granted"] + c["denied"] for c in d["checks"]))')
  assert_eq "true 0 true" "$got" "seen overflow counted, no counts overflow, checks_total == sum of the checks"
  assert_eq 6000 "$(sys_nice "$p")" "SYS_NICE checks"
}

# tasks full: children that found no room are counted.
test_losses_tasks_full() {
  require_root
  require_capscope
  local p="$TEST_TMP/p.json" got
  CAPSCOPE_MAP_ENTRIES=tasks=4 run_capscope record --format json -o "$p" -- \
    sh -c 'for i in $(seq 20); do sleep 0.3 & done; wait' >&2 ||
    fail "record of 20 children failed"
  got=$(json_get "$p" 'd["map_overflows"]["tasks"] > 0')
  assert_eq true "$got" "tasks overflow counted ($(json_get "$p" 'd["map_overflows"]'))"
}

# The ring buffer (one page) and counts (hash only, 4 keys) in trace mode:
# the summary names what was dropped and what overflowed.
test_losses_trace_summary() {
  require_root
  require_capscope
  require_capgen
  local err="$TEST_TMP/err" pid
  CAPSCOPE_MAP_ENTRIES=events=4096,counts=4,count_slots=1 \
    timeout -k 5 30 "$CAPSCOPE" trace --duration 4s >/dev/null 2>"$err" &
  pid=$!
  bg_track "$pid"
  wait_for_text "$err" "Ctrl-C to stop" 15 || fail "trace did not start: $(cat "$err")"
  local _
  for _ in 1 2 3 4 5 6; do
    "$CAPGEN" --op ioprio --threads 2 --iters 20000 >/dev/null || fail "capgen failed"
  done
  wait_pid_for "$pid" 20
  assert_eq 0 "$WAIT_RC" "trace's exit status"
  cat "$err" >&2
  grep -Eq '[0-9]+ shown, [1-9][0-9]* dropped' "$err" || fail "no dropped events in trace's summary: $(tail -n 2 "$err")"
  grep -Eq 'checks seen by the kernel; map overflows: .*counts [1-9]' "$err" ||
    fail "no counts overflow in trace's summary: $(tail -n 1 "$err")"
}

# inflight full (diagnose): syscalls of tasks that found no room are not
# followed, and diagnose says so.
test_losses_inflight_full() {
  require_root
  require_capscope
  local out
  out=$(CAPSCOPE_MAP_ENTRIES=inflight=1 run_capscope diagnose -- \
    sh -c 'for i in $(seq 5); do sleep 0.2 & done; wait' 2>&1) ||
    fail "diagnose exited non-zero: $out"
  echo "$out" >&2
  assert_contains "$out" "syscalls not followed (kernel map inflight full)" "diagnose's output"
}

# kprobe_pending: only in kprobe attach mode.
test_losses_kprobe_pending() {
  require_root
  require_capscope
  require_capgen
  local p="$TEST_TMP/p.json" err="$TEST_TMP/err"
  if ! CAPSCOPE_MAP_ENTRIES=kprobe_pending=1 run_capscope record --attach kprobe --format json -o "$p" -- \
    "$CAPGEN" --op ioprio --threads 2 --iters 20000 2>"$err" >&2; then
    grep -q "attach mode kprobe" "$err" && skip "kprobe attach mode refused here: $(tail -n 1 "$err")"
    fail "record --attach kprobe failed: $(tail -n 2 "$err")"
  fi
  assert_eq true "$(json_get "$p" 'd["map_overflows"]["kprobe_pending"] > 0')" "kprobe_pending overflow counted"
}

# The daemon: a shrunk tasks map shows in its metrics, with the kernel's
# total of checks.
test_losses_daemon_metrics() {
  require_root
  require_capscope
  require_cmd unshare curl
  local port metrics
  port=$(free_port)
  CAPSCOPE_MAP_ENTRIES=tasks=8 daemon_start --metrics "127.0.0.1:$port"
  unshare -m sh -c 'for i in $(seq 30); do nice -n -1 sleep 0.3 & done; wait' ||
    fail "the workload in a new mount namespace failed"
  sleep 1.5
  metrics=$(curl -sf "http://127.0.0.1:$port/metrics") || fail "no metrics on port $port"
  grep -E '^capscope_map_insert_failures_total\{map="tasks"\} [1-9]' <<<"$metrics" >/dev/null ||
    fail "no tasks insert failures in the metrics: $(grep insert_failures <<<"$metrics" | tr '\n' ' ')"
  grep -E '^capscope_kernel_checks_total [1-9]' <<<"$metrics" >/dev/null ||
    fail "no capscope_kernel_checks_total > 0: $(grep kernel_checks <<<"$metrics")"
  local m
  for m in events counts seen kprobe_pending inflight dead_scopes task_slots count_slots; do
    grep -q "^capscope_map_insert_failures_total{map=\"$m\"} " <<<"$metrics" ||
      fail "no capscope_map_insert_failures_total series for map $m"
  done
  daemon_stop
}
