# shellcheck shell=bash
# `capscope top` against a real daemon tracing real podman containers: the
# live view driven in a detached tmux session (keys sent with send-keys,
# the screen read with capture-pane), and the plain output when stdout is
# not a terminal. The functions here run under lib.sh (see run.sh).

# shellcheck source=test_daemon.sh
source "$LIB_DIR/test_daemon.sh"

# top_fixture: a daemon and two containers that keep making checks:
#   TOP_A: chown in a loop, holding CHOWN, MKNOD, NET_RAW (uses CHOWN);
#   TOP_B: mknod (granted) and chown (denied: no CHOWN) in a loop, holding
#          MKNOD, NET_RAW (uses MKNOD).
top_fixture() {
  require_daemon_prereqs
  daemon_start
  TOP_A=$(unique_name top-a)
  TOP_B=$(unique_name top-b)
  ctr_start "$TOP_A" --cap-drop=ALL --cap-add=CHOWN,MKNOD,NET_RAW "$IMAGE" \
    sh -c 'touch /tmp/x; while :; do chown 1000 /tmp/x; chown 0 /tmp/x; sleep 0.1; done'
  ctr_start "$TOP_B" --cap-drop=ALL --cap-add=MKNOD,NET_RAW "$IMAGE" \
    sh -c 'touch /tmp/x; while :; do mknod /tmp/d c 1 3; rm -f /tmp/d; chown 1000 /tmp/x 2>/dev/null; sleep 0.1; done'
  # The workload's effects: A's chown works, B's mknod works and its
  # chown is refused.
  podman exec "$TOP_A" sh -c 'touch /tmp/y && chown 1000 /tmp/y' ||
    fail "chown failed in $TOP_A, which has CHOWN"
  assert_eq 1000 "$(podman exec "$TOP_A" stat -c %u /tmp/y)" "owner of /tmp/y after chown in $TOP_A"
  local rc=0
  podman exec "$TOP_B" chown 1000 /tmp/x 2>/dev/null || rc=$?
  [[ $rc -ne 0 ]] || fail "chown worked in $TOP_B, which has no CHOWN"
  wait_advice "$TOP_A" "--cap-drop=ALL --cap-add=CHOWN"
  wait_advice "$TOP_B" "--cap-drop=ALL --cap-add=MKNOD"
}

# top_row TEXT NAME: the fields of NAME's row in a `top` table, space
# separated: NAME ID CHECKS/S DENIED UNUSED CAPS.
top_row() {
  awk -v n="$2" '$1 == n { print $1, $2, $3, $4, $5, $6; exit }' <<<"$1"
}

# assert_top_rows TEXT: both containers' rows say what they did.
assert_top_rows() {
  local text=$1 a b
  a=$(top_row "$text" "$TOP_A")
  b=$(top_row "$text" "$TOP_B")
  [[ -n "$a" ]] || fail "no row for $TOP_A in: $text"
  [[ -n "$b" ]] || fail "no row for $TOP_B in: $text"
  read -r _ _ a_rate a_denied a_unused a_caps <<<"$a"
  read -r _ _ _ b_denied b_unused b_caps <<<"$b"
  assert_eq "CHOWN" "$a_caps" "CAPS USED of $TOP_A"
  assert_eq "MKNOD" "$b_caps" "CAPS USED of $TOP_B"
  assert_eq "0" "$a_denied" "DENIED of $TOP_A"
  ((b_denied > 0)) || fail "DENIED of $TOP_B is '$b_denied', expected its refused chowns"
  assert_eq "2" "$a_unused" "UNUSED of $TOP_A (holds CHOWN, MKNOD, NET_RAW; uses CHOWN)"
  assert_eq "1" "$b_unused" "UNUSED of $TOP_B (holds MKNOD, NET_RAW; uses MKNOD)"
  # About 20 chowns a second, more with the loop's own checks.
  if ! [[ "$a_rate" =~ ^[0-9.]+$ ]] || ! awk -v r="$a_rate" 'BEGIN { exit !(r >= 5) }'; then
    fail "CHECKS/S of $TOP_A is '$a_rate', expected at least 5 (20 chowns a second)"
  fi
}

# tmux_screen SESSION: the visible screen, plain text.
tmux_screen() {
  tmux capture-pane -p -t "$1"
}

# tmux_wait SESSION WHAT SECONDS PREDICATE...: capture until PREDICATE (run
# with the screen as its last argument) succeeds; fail naming WHAT.
tmux_wait() {
  local sess=$1 what=$2 limit=$3 start screen
  shift 3
  start=$(now_ms)
  while :; do
    screen=$(tmux_screen "$sess")
    "$@" "$screen" && return 0
    (($(now_ms) - start >= limit * 1000)) && break
    sleep 0.3
  done
  printf '%s\n' "$screen" >&2
  fail "tmux: $what not seen within $limit s (screen above)"
}

has_text() { [[ "$2" == *"$1"* ]]; }
# rows_rated SCREEN: both rows are there with a rate (a second sample).
rows_rated() {
  local a
  a=$(top_row "$1" "$TOP_A")
  [[ -n "$(top_row "$1" "$TOP_B")" && -n "$a" ]] || return 1
  read -r _ _ rate _ <<<"$a"
  [[ "$rate" =~ ^[0-9.]+$ ]]
}
# rows_back SCREEN: no error line, and both rows with a rate again.
rows_back() {
  [[ "$1" != *"no capscope daemon"* ]] && rows_rated "$1"
}
# first_row SCREEN NAME SORT: NAME heads the table, sorted by SORT.
first_row() {
  [[ "$3" == *"sorted by $2"* ]] || return 1
  [[ "$(awk '/^NAME / { getline; print $1; exit }' <<<"$3")" == "$1" ]]
}

# The live view: rows with their values, sorting by keys (d: denied first,
# n: by name), opening the selected container's report (Enter) and coming
# back (q), and quitting with the terminal restored.
test_top_tmux() {
  require_cmd tmux
  top_fixture
  local sess="cs-top-$$" screen
  on_exit "tmux kill-session -t $sess 2>/dev/null"
  tmux new-session -d -s "$sess" -x 160 -y 30 \
    "$(printf '%q ' "$CAPSCOPE" top --socket "$DAEMON_SOCK" --interval 1s); echo TOP-EXIT=\$?; sleep 600"
  tmux_wait "$sess" "both containers' rows with a rate" 20 rows_rated
  screen=$(tmux_screen "$sess")
  echo "$screen" >&2
  assert_contains "$screen" "capscope top" "the title line"
  assert_top_rows "$screen"

  # d: the container with denials first; n: by name (A before B).
  tmux send-keys -t "$sess" d
  tmux_wait "$sess" "$TOP_B first after 'd'" 10 first_row "$TOP_B" denied
  tmux send-keys -t "$sess" n
  tmux_wait "$sess" "$TOP_A first after 'n'" 10 first_row "$TOP_A" name

  # j selects the second row (B); Enter opens its show report.
  tmux send-keys -t "$sess" j
  sleep 0.3
  tmux send-keys -t "$sess" Enter
  tmux_wait "$sess" "capscope show $TOP_B" 10 has_text "capscope: container $TOP_B"
  screen=$(tmux_screen "$sess")
  echo "$screen" >&2
  assert_contains "$screen" "--cap-drop=ALL --cap-add=MKNOD" "the advice in $TOP_B's report"
  assert_contains "$screen" "MKNOD" "the capability in $TOP_B's report"
  # q returns to the table.
  tmux send-keys -t "$sess" q
  tmux_wait "$sess" "the table again after q" 10 has_text "CHECKS/S"

  # The daemon going away is said on the screen; top keeps asking and
  # shows the rows again once a daemon answers on the socket.
  daemon_stop
  tmux_wait "$sess" "the missing daemon on the screen" 10 has_text "no capscope daemon is listening on $DAEMON_SOCK"
  daemon_start
  tmux_wait "$sess" "the rows again after the daemon restarted" 20 rows_back
  # A second q quits with status 0.
  tmux send-keys -t "$sess" q
  tmux_wait "$sess" "top exiting after q" 10 has_text "TOP-EXIT="
  screen=$(tmux_screen "$sess")
  assert_contains "$screen" "TOP-EXIT=0" "top's exit status after q"
  # Back on the normal screen: the table is gone with the alternate screen.
  assert_not_contains "$screen" "CHECKS/S" "the screen after top quit"
}

# Not a terminal: plain tables, no escape sequences; --once exits after one;
# bad input and a missing daemon are one-line errors with status 125.
test_top_plain() {
  top_fixture
  local out rc=0
  out=$(timeout 30 "$CAPSCOPE" top --socket "$DAEMON_SOCK" --once --interval 1s) || rc=$?
  echo "$out" >&2
  assert_eq 0 "$rc" "exit status of top --once"
  assert_not_contains "$out" $'\033' "top's output to a pipe"
  assert_eq 1 "$(grep -c '^NAME ' <<<"$out")" "tables printed by --once"
  assert_top_rows "$out"
  # Without --once, one table per interval until stopped.
  timeout -s INT 3.5 "$CAPSCOPE" top --socket "$DAEMON_SOCK" --interval 1s >"$TEST_TMP/top.txt" || true
  (($(grep -c '^NAME ' "$TEST_TMP/top.txt") >= 2)) ||
    fail "top to a file printed $(grep -c '^NAME ' "$TEST_TMP/top.txt") tables in 3.5 s at --interval 1s"
  # --sort name: A's row before B's.
  out=$(timeout 30 "$CAPSCOPE" top --socket "$DAEMON_SOCK" --once --interval 200ms --sort name)
  [[ "$(grep -nF "$TOP_A" <<<"$out" | cut -d: -f1)" -lt "$(grep -nF "$TOP_B" <<<"$out" | cut -d: -f1)" ]] ||
    fail "--sort name did not put $TOP_A before $TOP_B: $out"

  rc=0
  out=$("$CAPSCOPE" top --socket "$DAEMON_SOCK" --sort bogus 2>&1) || rc=$?
  assert_eq "125:capscope: top: unknown --sort 'bogus' (valid: rate, caps, denied, unused, name)" "$rc:$out" "top --sort bogus"
  rc=0
  out=$("$CAPSCOPE" top --socket "$TEST_TMP/none.sock" --once 2>&1) || rc=$?
  assert_eq 125 "$rc" "exit status of top without a daemon"
  assert_eq 1 "$(wc -l <<<"$out")" "lines of top's error without a daemon"
  assert_contains "$out" "no capscope daemon is listening on $TEST_TMP/none.sock" "top without a daemon"
}
