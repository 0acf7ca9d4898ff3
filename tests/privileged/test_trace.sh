# shellcheck shell=bash
# `capscope trace`: the live stream, one line per capability check. Each test
# runs trace in the background, makes real capability checks happen while it
# listens, and asserts both on the lines printed and on the real effect of
# the acts (the file's owner, the EPERM).
# The functions here run under lib.sh (see run.sh).

# _trace_start NAME ARGS...: start `capscope trace ARGS...` in the background,
# stdout to $TEST_TMP/NAME.out, stderr to $TEST_TMP/NAME.err, and wait until it
# says it is tracing. Sets TRACE_PID and TRACE_START_MS. The process is stopped
# when the test ends, however it ends.
_trace_start() {
  local name=$1 out err start
  shift
  out="$TEST_TMP/$name.out" err="$TEST_TMP/$name.err"
  TRACE_START_MS=$(now_ms)
  "$CAPSCOPE" trace "$@" >"$out" 2>"$err" </dev/null &
  TRACE_PID=$!
  on_exit "kill_wait $TRACE_PID"
  echo "--- started capscope trace $* (pid $TRACE_PID)" >&2
  start=$(now_ms)
  until grep -qF 'tracing' "$err" 2>/dev/null; do
    if ! kill -0 "$TRACE_PID" 2>/dev/null; then
      wait "$TRACE_PID" 2>/dev/null || true
      fail "capscope trace $* ended before it started tracing (stderr: $(_lib_abbrev "$(cat "$err")"))"
    fi
    if (($(now_ms) - start > 30000)); then
      fail "capscope trace $* did not say it was tracing within 30 s (stderr: $(_lib_abbrev "$(cat "$err")"))"
    fi
    sleep 0.05
  done
}

# _trace_finish NAME DURATION_S: wait for the trace started by _trace_start
# (it was given --duration DURATION_S) to end by itself. Sets TRACE_RC,
# TRACE_ELAPSED_MS (since it was started), TRACE_OUT (stdout), TRACE_LINES (the
# check lines of stdout, without the header) and TRACE_ERR (stderr).
# shellcheck disable=SC2034  # TRACE_* are read by the tests
_trace_finish() {
  local name=$1 duration=$2
  wait_pid_for "$TRACE_PID" $((duration + 15))
  TRACE_RC=$WAIT_RC
  TRACE_ELAPSED_MS=$(($(now_ms) - TRACE_START_MS))
  TRACE_OUT=$(cat "$TEST_TMP/$name.out")
  TRACE_ERR=$(cat "$TEST_TMP/$name.err")
  TRACE_LINES=$(awk '$1 ~ /^[0-9][0-9]:[0-9][0-9]:[0-9][0-9]/' "$TEST_TMP/$name.out")
  {
    echo "--- capscope trace (pid $TRACE_PID) => exit $TRACE_RC after ${TRACE_ELAPSED_MS} ms"
    echo "--- stdout:"
    cat "$TEST_TMP/$name.out"
    echo "--- stderr:"
    cat "$TEST_TMP/$name.err"
    echo "---"
  } >&2
  if ((TRACE_RC == 124)); then
    fail "capscope trace --duration ${duration}s still running $((duration + 15)) s later"
  fi
}

# _trace_lines_of PID: the check lines of TRACE_LINES whose PID column is PID.
_trace_lines_of() {
  awk -v pid="$1" '$2 == pid' <<<"$TRACE_LINES"
}

# _trace_header_ok: the first line of stdout is the column header.
_trace_header_ok() {
  local header
  header=$(head -n 1 <<<"$TRACE_OUT")
  [[ "$header" =~ ^TIME[[:space:]]+PID[[:space:]]+COMM[[:space:]]+CAP[[:space:]]+VERDICT[[:space:]]+SYSCALL ]] ||
    fail "first line of trace's stdout is not the TIME PID COMM CAP VERDICT SYSCALL header: '$header'"
}

# A root chown while `trace --cap CHOWN` listens: a granted CHOWN line for
# that very process, with the syscall and the call site; nothing but CHOWN;
# and trace ends by itself after --duration, with status 0.
test_trace_cap_chown() {
  local f="$TEST_TMP/file" pid line lines
  touch "$f"
  _trace_start chown --cap CHOWN --duration 3s
  chown 1000 "$f" &
  pid=$!
  wait "$pid" || fail "chown 1000 $f failed"
  chown 0 "$f"
  chown 1000 "$f"
  assert_eq 1000 "$(stat -c %u "$f")" "owner of $f after the chowns"
  _trace_finish chown 3
  assert_eq 0 "$TRACE_RC" "exit status of capscope trace --duration 3s"
  ((TRACE_ELAPSED_MS >= 2900)) || fail "capscope trace --duration 3s ended after only ${TRACE_ELAPSED_MS} ms"
  ((TRACE_ELAPSED_MS <= 15000)) || fail "capscope trace --duration 3s took ${TRACE_ELAPSED_MS} ms"
  _trace_header_ok
  lines=$(_trace_lines_of "$pid")
  [[ -n "$lines" ]] || fail "no line for the chown process (pid $pid) in: $(_lib_abbrev "$TRACE_OUT")"
  line=$(head -n 1 <<<"$lines")
  assert_contains "$line" "chown" "COMM of the chown process's line"
  assert_contains "$line" " CHOWN " "CAP of the chown process's line"
  assert_contains "$line" " granted " "VERDICT of the chown process's line"
  assert_contains "$line" " fchownat " "SYSCALL of the chown process's line"
  assert_contains "$line" "setattr_prepare" "call site of the chown process's line"
  # --cap CHOWN: every line is a CHOWN check.
  local others
  others=$(grep -vE '[[:space:]]CHOWN[[:space:]]' <<<"$TRACE_LINES" || true)
  assert_eq "" "$others" "lines of other capabilities under --cap CHOWN"
}

# --denied: a non-root chown of its own file to root fails with EPERM and
# shows up as a denied CHOWN check; the granted CHOWN of a root chown made
# during the same window does not show up at all.
test_trace_denied() {
  require_cmd setpriv
  local f="$TEST_TMP/file" g="$TEST_TMP/root-file" pid rc=0 errout lines granted
  chmod 0755 "$TEST_TMP"
  touch "$f" "$g"
  chown 1000:1000 "$f"
  _trace_start denied --denied --duration 3s
  setpriv --reuid 1000 --regid 1000 --clear-groups chown 0 "$f" 2>"$TEST_TMP/chown.err" &
  pid=$!
  wait "$pid" || rc=$?
  chown 1000 "$g" # granted: must not be shown under --denied
  errout=$(cat "$TEST_TMP/chown.err")
  assert_eq 1 "$rc" "exit status of chown 0 by uid 1000"
  assert_contains "$errout" "Operation not permitted" "chown 0 by uid 1000"
  assert_eq 1000 "$(stat -c %u "$f")" "owner of $f after the refused chown"
  assert_eq 1000 "$(stat -c %u "$g")" "owner of $g after root's chown"
  _trace_finish denied 3
  assert_eq 0 "$TRACE_RC" "exit status of capscope trace --denied --duration 3s"
  _trace_header_ok
  lines=$(_trace_lines_of "$pid" | awk '$4 == "CHOWN"')
  [[ -n "$lines" ]] || fail "no CHOWN line for the refused chown (pid $pid) in: $(_lib_abbrev "$TRACE_OUT")"
  assert_contains "$lines" " denied " "VERDICT of the refused chown's CHOWN line"
  granted=$(grep -vE '[[:space:]]denied[[:space:]]' <<<"$TRACE_LINES" || true)
  assert_eq "" "$granted" "lines that are not denied under --denied"
}

# --pid P: only P's checks. P is a perl process started before the trace,
# waiting for a go file, then chowning; a root chown by another process in
# the same window must not show up.
test_trace_pid() {
  require_cmd perl
  local f="$TEST_TMP/file" go="$TEST_TMP/go" pid other lines not_p
  touch "$f"
  perl -e 'select(undef, undef, undef, 0.05) until -e $ARGV[0]; chown(1000, -1, $ARGV[1]) or die "chown: $!\n" for 1 .. 5' "$go" "$f" &
  pid=$!
  on_exit "kill_wait $pid"
  _trace_start pid --pid "$pid" --duration 3s
  chown 1000 "$f" &
  other=$!
  wait "$other" || fail "root chown 1000 $f failed"
  touch "$go"
  wait_pid_for "$pid" 10
  assert_eq 0 "$WAIT_RC" "exit status of the perl chown loop"
  assert_eq 1000 "$(stat -c %u "$f")" "owner of $f"
  _trace_finish pid 3
  assert_eq 0 "$TRACE_RC" "exit status of capscope trace --pid"
  _trace_header_ok
  [[ -n "$TRACE_LINES" ]] || fail "no line at all for pid $pid: $(_lib_abbrev "$TRACE_OUT")"
  not_p=$(awk -v pid="$pid" '$2 != pid' <<<"$TRACE_LINES")
  assert_eq "" "$not_p" "lines of other processes under --pid $pid"
  lines=$(_trace_lines_of "$pid" | awk '$4 == "CHOWN"')
  [[ -n "$lines" ]] || fail "no CHOWN line for pid $pid: $(_lib_abbrev "$TRACE_OUT")"
  assert_contains "$lines" " granted " "perl's CHOWN lines"
}

# _trace_perl_chowns NAME [TRACE ARGS...]: trace --cap CHOWN while one perl
# process chowns a file 20 times; sets PERL_PID and CHOWN_LINES (the number of
# CHOWN lines for it). chown(1000, -1) changes only the owner: one CHOWN
# check per call (a group change would be a second check in the same call).
_trace_perl_chowns() {
  local name=$1 f="$TEST_TMP/$1.file"
  shift
  touch "$f"
  _trace_start "$name" --cap CHOWN --duration 3s "$@"
  perl -e 'chown(1000, -1, $ARGV[0]) or die "chown: $!\n" for 1 .. 20' "$f" &
  PERL_PID=$!
  wait "$PERL_PID" || fail "perl chown loop failed"
  assert_eq 1000 "$(stat -c %u "$f")" "owner of $f after the perl loop"
  _trace_finish "$name" 3
  assert_eq 0 "$TRACE_RC" "exit status of capscope trace --cap CHOWN $*"
  _trace_header_ok
  CHOWN_LINES=$(_trace_lines_of "$PERL_PID" | awk '$4 == "CHOWN" { n++ } END { print n + 0 }')
}

# --unique: the same check repeated 20 times by one process is shown once;
# without --unique, all 20 are shown.
test_trace_unique() {
  require_cmd perl
  _trace_perl_chowns every
  assert_eq 20 "$CHOWN_LINES" "CHOWN lines for 20 chowns by one process (pid $PERL_PID) without --unique"
  _trace_perl_chowns unique --unique
  assert_eq 1 "$CHOWN_LINES" "CHOWN lines for 20 chowns by one process (pid $PERL_PID) with --unique"
}

# An unknown capability name is capscope's own error: 125 and one stderr line
# that lists the valid names. Known names are accepted in any case, with or
# without CAP_.
test_trace_unknown_cap() {
  local rc=0 out err
  run_capscope trace --cap FOO --duration 1s >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  out=$(cat "$TEST_TMP/out") err=$(cat "$TEST_TMP/err")
  echo "--- trace --cap FOO => exit $rc; stdout: $out; stderr: $err" >&2
  assert_eq 125 "$rc" "exit status of capscope trace --cap FOO"
  assert_eq 1 "$(wc -l <"$TEST_TMP/err")" "number of stderr lines for --cap FOO"
  assert_contains "$err" "FOO" "the error for --cap FOO"
  local name
  for name in CHOWN DAC_OVERRIDE NET_BIND_SERVICE SYS_ADMIN CHECKPOINT_RESTORE; do
    assert_contains "$err" "$name" "valid names listed in the error for --cap FOO"
  done
  assert_eq "" "$out" "stdout of capscope trace --cap FOO"

  rc=0
  run_capscope trace --cap cap_chown --duration 1s >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  assert_eq 0 "$rc" "exit status of capscope trace --cap cap_chown --duration 1s (stderr: $(cat "$TEST_TMP/err"))"
}

# Stress: trace streams every SYS_NICE check of capgen (2 threads x 200000
# ioprio_set calls, one SYS_NICE check each, see tests/bench/capgen.cpp) at
# full rate, faster than it can print them, so the ring buffer may overflow.
# Whatever is dropped, the kernel-side count is exact: trace's summary says
# 400000 counted, shown + dropped adds up to it, and "shown" is the number
# of lines it printed.
test_trace_stress_counts_exact() {
  local capgen="$REPO_ROOT/build/tests/bench/capgen" fifo="$TEST_TMP/go" gen summary
  [[ -x "$capgen" ]] || skip "load generator not built (expected $capgen)"
  mkfifo "$fifo"
  # capgen's pid is known before it runs: a shell that waits, then execs it.
  sh -c 'read -r _ <"$1"; shift; exec "$@"' sh "$fifo" \
    "$capgen" --op ioprio --threads 2 --iters 200000 >"$TEST_TMP/capgen.out" &
  gen=$!
  bg_track "$gen"
  _trace_start stress --pid "$gen" --cap SYS_NICE --duration 8s
  echo go >"$fifo"
  wait "$gen" || fail "capgen failed: $(cat "$TEST_TMP/capgen.out")"
  assert_contains "$(cat "$TEST_TMP/capgen.out")" "checks=400000" "capgen's own count"
  _trace_finish stress 8
  assert_eq 0 "$TRACE_RC" "exit status of capscope trace"
  summary=$(grep -o '[0-9]* checks counted, [0-9]* shown, [0-9]* dropped' <<<"$TRACE_ERR") ||
    fail "no 'N checks counted, N shown, N dropped' summary on stderr"
  read -r counted _ _ shown _ dropped _ <<<"$summary"
  echo "stress: counted $counted shown $shown dropped $dropped" >&2
  assert_eq 400000 "$counted" "SYS_NICE checks counted by trace for capgen (pid $gen)"
  assert_eq "$counted" "$((shown + dropped))" "shown + dropped"
  assert_eq "$shown" "$(_trace_lines_of "$gen" | grep -c SYS_NICE)" "SYS_NICE lines printed for pid $gen"
}
