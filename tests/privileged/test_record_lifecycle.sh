# shellcheck shell=bash
# `capscope record`'s lifecycle: --duration, Ctrl-C, a workload that ignores
# SIGTERM, and capscope's own errors (exit 125, one stderr line, the workload
# not run), and where the result goes with -o. Every workload here has a
# unique argument so that `pgrep -fx` can tell whether it is really gone.
# The functions here run under lib.sh (see run.sh).

# _lc_record LIMIT_S ARGS...: `capscope record ARGS...` under `timeout LIMIT_S`,
# stdout/stderr to $TEST_TMP/rec.out/.err. Sets REC_RC, REC_MS (how long it
# took), REC_OUT, REC_ERR.
# shellcheck disable=SC2034  # REC_* are read by the tests
_lc_record() {
  local limit=$1 start
  shift
  REC_RC=0
  start=$(now_ms)
  timeout -k 5 "$limit" "$CAPSCOPE" record "$@" >"$TEST_TMP/rec.out" 2>"$TEST_TMP/rec.err" </dev/null || REC_RC=$?
  REC_MS=$(($(now_ms) - start))
  REC_OUT=$(cat "$TEST_TMP/rec.out")
  REC_ERR=$(cat "$TEST_TMP/rec.err")
  {
    echo "--- capscope record $*  => exit $REC_RC after $REC_MS ms"
    echo "--- stdout:"
    cat "$TEST_TMP/rec.out"
    echo "--- stderr:"
    cat "$TEST_TMP/rec.err"
    echo "---"
  } >&2
  if ((REC_RC == 124 || REC_RC == 137 && REC_MS >= limit * 1000)); then
    fail "capscope record $* still running after ${limit}s"
  fi
}

# _lc_gone PATTERN: fail when a process whose whole command line is PATTERN
# (an extended regex) still exists; kill it then (by pid), so that it does
# not outlive the test.
_lc_gone() {
  local left pid
  left=$(pgrep -fx "$1" || true)
  if [[ -n "$left" ]]; then
    for pid in $left; do
      kill -KILL "$pid" 2>/dev/null || true
    done
    fail "workload process(es) '$1' still running after capscope returned: pid(s) ${left//$'\n'/ }"
  fi
}

# _lc_kill_if PID PATTERN: SIGKILL PID if it is still a process whose whole
# command line is PATTERN (never a recycled pid).
_lc_kill_if() {
  if pgrep -fx "$2" | grep -qx "$1"; then
    kill -KILL "$1" 2>/dev/null || true
  fi
}

# _lc_expect_error WHAT ARGS...: `capscope record ARGS... -- touch MARKER` is
# capscope's own error: exit 125, exactly one stderr line that contains WHAT,
# and the workload never ran.
_lc_expect_error() {
  local what=$1 marker="$TEST_TMP/workload-ran"
  shift
  rm -f "$marker"
  _lc_record 30 "$@" -- touch "$marker"
  assert_eq 125 "$REC_RC" "exit status of capscope record $*"
  assert_eq 1 "$(wc -l <"$TEST_TMP/rec.err")" "number of stderr lines of capscope record $*"
  assert_contains "$REC_ERR" "$what" "the error of capscope record $*"
  [[ ! -e "$marker" ]] || fail "capscope record $* ran the workload despite its error"
}

# --duration stops the workload (SIGTERM), reports, and returns the
# workload's status: 143 for a sleep killed by SIGTERM.
test_record_duration_stops_workload() {
  _lc_record 20 --duration 1s -- sleep 30.0417
  assert_eq 143 "$REC_RC" "exit status of record --duration 1s -- sleep 30 (sleep's, killed by SIGTERM)"
  ((REC_MS < 5000)) || fail "record --duration 1s -- sleep 30 took $REC_MS ms (expected < 5 s)"
  ((REC_MS >= 900)) || fail "record --duration 1s -- sleep 30 returned after only $REC_MS ms"
  assert_contains "$REC_ERR" "Advice:" "the report of record --duration 1s"
  assert_contains "$REC_ERR" "--cap-drop=ALL" "the advice for a sleep"
  assert_eq "" "$REC_OUT" "stdout of record --duration 1s -- sleep 30"
  _lc_gone 'sleep 30\.0417'
}

# Ctrl-C (SIGINT to capscope) stops the workload, prints the report and
# returns promptly; the workload is gone.
test_record_sigint() {
  local cap start left wpid
  "$CAPSCOPE" record -- sleep 30.123 >"$TEST_TMP/rec.out" 2>"$TEST_TMP/rec.err" </dev/null &
  cap=$!
  on_exit "kill_wait $cap"
  # Wait until the workload runs (it is exec'd once tracing is set up).
  start=$(now_ms)
  until wpid=$(pgrep -fx 'sleep 30\.123'); do
    kill -0 "$cap" 2>/dev/null || fail "capscope record -- sleep 30.123 ended early: $(_lib_abbrev "$(cat "$TEST_TMP/rec.err")")"
    (($(now_ms) - start < 30000)) || fail "the workload sleep 30.123 did not start within 30 s"
    sleep 0.05
  done
  on_exit "_lc_kill_if $wpid 'sleep 30\\.123'"
  echo "capscope pid $cap, workload pid $wpid" >&2
  sleep 0.5
  start=$(now_ms)
  kill -INT "$cap"
  wait_pid_for "$cap" 10
  REC_MS=$(($(now_ms) - start))
  REC_ERR=$(cat "$TEST_TMP/rec.err")
  {
    echo "--- capscope record -- sleep 30.123, SIGINT => exit $WAIT_RC after $REC_MS ms"
    echo "--- stderr:"
    cat "$TEST_TMP/rec.err"
    echo "---"
  } >&2
  ((WAIT_RC != 124)) || fail "capscope record still running 10 s after SIGINT"
  ((REC_MS < 5000)) || fail "capscope record took $REC_MS ms to return after SIGINT (expected < 5 s)"
  left=$(pgrep -fx 'sleep 30\.123' || true)
  [[ -z "$left" ]] || fail "the workload sleep 30.123 (pid $left) is still running after capscope returned on SIGINT"
  assert_contains "$REC_ERR" "Advice:" "the report after SIGINT"
  # The workload's status: killed by capscope's SIGTERM (143), or by SIGINT (130).
  [[ "$WAIT_RC" == 143 || "$WAIT_RC" == 130 ]] ||
    fail "exit status of capscope record after SIGINT: expected 143 or 130 (the stopped workload's), got $WAIT_RC"
}

# A workload that ignores SIGTERM is killed (SIGKILL) after the grace period.
test_record_term_ignored_killed() {
  _lc_record 30 --duration 1s -- sh -c 'trap "" TERM; sleep 60.321'
  ((REC_MS < 8000)) || fail "record --duration 1s of a TERM-ignoring workload took $REC_MS ms (expected < 8 s)"
  ((REC_MS >= 1900)) || fail "record --duration 1s of a TERM-ignoring workload returned after only $REC_MS ms (no grace period?)"
  assert_eq 137 "$REC_RC" "exit status (the workload's, killed by SIGKILL)"
  assert_contains "$REC_ERR" "Advice:" "the report"
  _lc_gone 'sleep 60\.321'
  _lc_gone 'sh -c trap "" TERM; sleep 60\.321'
}

# fentry/fexit programs are refused on this kernel: asking for fexit is an
# error naming it, not a silent fall-back to another mode.
test_record_attach_fexit_refused() {
  local marker="$TEST_TMP/workload-ran"
  _lc_record 30 --attach fexit -- touch "$marker"
  if ((REC_RC == 0)) && [[ "$REC_ERR" =~ attach[[:space:]]+fexit ]]; then
    skip "fexit programs load on this kernel (the design says they are refused here)"
  fi
  assert_eq 125 "$REC_RC" "exit status of record --attach fexit"
  assert_eq 1 "$(wc -l <"$TEST_TMP/rec.err")" "number of stderr lines of record --attach fexit"
  assert_contains "$REC_ERR" "fexit" "the error of record --attach fexit"
  [[ ! -e "$marker" ]] || fail "record --attach fexit ran the workload although it cannot trace it"
}

# Bad options are capscope's own errors: 125, one line naming the culprit,
# and the workload never runs.
test_record_bad_options() {
  _lc_expect_error nonsense --attach nonsense
  _lc_expect_error 5x --duration 5x
  _lc_expect_error nosuchuser --user nosuchuser
}

# -o to a path that cannot be written: the result is not lost (it goes to
# stderr), and the exit status says something went wrong (125).
test_record_output_unwritable() {
  local f="$TEST_TMP/file"
  touch "$f"
  _lc_record 30 -o /nonexistent-dir/out.txt -- chown 1000 "$f"
  assert_eq 1000 "$(stat -c %u "$f")" "owner of $f (the workload ran)"
  assert_eq 125 "$REC_RC" "exit status of record -o /nonexistent-dir/out.txt"
  assert_contains "$REC_ERR" "/nonexistent-dir/out.txt" "the error for an unwritable -o"
  assert_contains "$REC_ERR$REC_OUT" "Advice:" "the report (must still be printed)"
  assert_contains "$REC_ERR$REC_OUT" "--cap-add=CHOWN" "the advice (must still be printed)"
  [[ ! -e /nonexistent-dir ]] || fail "/nonexistent-dir exists"
}

# -o FILE: the report goes to FILE, and none of it to stderr or stdout.
test_record_output_file() {
  local f="$TEST_TMP/file" report="$TEST_TMP/report.txt" content
  touch "$f"
  _lc_record 30 -o "$report" -- chown 1000 "$f"
  assert_eq 0 "$REC_RC" "exit status of record -o FILE -- chown"
  assert_eq 1000 "$(stat -c %u "$f")" "owner of $f"
  [[ -s "$report" ]] || fail "record -o $report wrote nothing there"
  content=$(cat "$report")
  assert_contains "$content" "Advice:" "the report in $report"
  assert_contains "$content" "--cap-drop=ALL --cap-add=CHOWN" "the advice in $report"
  assert_not_contains "$REC_ERR" "Advice:" "stderr of record -o FILE"
  assert_not_contains "$REC_ERR" "CHOWN" "stderr of record -o FILE"
  assert_not_contains "$REC_ERR" "capscope: command:" "stderr of record -o FILE"
  assert_eq "" "$REC_OUT" "stdout of record -o FILE"
}
