# shellcheck shell=bash
# Library for the privileged test tier. Sourced by run.sh; every test runs in
# its own bash process (see lib_run_one) with `set -eEuo pipefail`, its own
# temp dir $TEST_TMP (removed afterwards) and a time limit.
#
# A test is a function test_NAME in tests/privileged/test_*.sh. It passes when
# it returns; it fails through fail/assert_* (or any command failing); it is
# skipped through skip. Never let a test pass without checking something.
#
# Environment (all optional):
#   CAPSCOPE          the binary (default: build/userspace/cli/capscope)
#   CAPSCOPE_HELPERS  helper programs (default: build/tests/helpers)
#   CAPSCOPE_TIMEOUT  seconds allowed for one capscope run (default 60)
#   TEST_KEEP_TMP=1   keep each test's temp dir for inspection

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$LIB_DIR/../.." && pwd)
CAPSCOPE=${CAPSCOPE:-$REPO_ROOT/build/userspace/cli/capscope}
CAPSCOPE_HELPERS=${CAPSCOPE_HELPERS:-$REPO_ROOT/build/tests/helpers}
HELPERS=$CAPSCOPE_HELPERS
CAPSCOPE_TIMEOUT=${CAPSCOPE_TIMEOUT:-60}
export CAPSCOPE CAPSCOPE_HELPERS CAPSCOPE_TIMEOUT

# Exit status of a test process that skipped (as automake's).
LIB_SKIP_RC=77

# --- outcome --------------------------------------------------------------

# _lib_reason TEXT: record why the test ended (first reason wins).
_lib_reason() {
  if [[ -n "${RESULT_FILE:-}" && ! -s "$RESULT_FILE" ]]; then
    printf '%s\n' "$*" >"$RESULT_FILE"
  fi
}

# fail REASON: end the test as failed.
fail() {
  _lib_reason "$*"
  echo "FAIL: $*" >&2
  exit 1
}

# skip REASON: end the test as skipped (a missing prerequisite, never a bug).
skip() {
  _lib_reason "$*"
  echo "SKIP: $*" >&2
  exit "$LIB_SKIP_RC"
}

# --- assertions -------------------------------------------------------------

# assert_eq EXPECTED ACTUAL MSG
assert_eq() {
  local expected=$1 actual=$2 msg=${3:-values differ}
  if [[ "$expected" != "$actual" ]]; then
    fail "$msg: expected '$expected', got '$actual'"
  fi
}

# assert_contains HAYSTACK NEEDLE MSG
assert_contains() {
  local haystack=$1 needle=$2 msg=${3:-text not found}
  if [[ "$haystack" != *"$needle"* ]]; then
    fail "$msg: '$needle' not in '$(_lib_abbrev "$haystack")'"
  fi
}

# assert_not_contains HAYSTACK NEEDLE MSG
assert_not_contains() {
  local haystack=$1 needle=$2 msg=${3:-unexpected text}
  if [[ "$haystack" == *"$needle"* ]]; then
    fail "$msg: '$needle' found in '$(_lib_abbrev "$haystack")'"
  fi
}

# _lib_abbrev TEXT: TEXT on one line, cut to 300 characters.
_lib_abbrev() {
  local s=${1//$'\n'/\\n}
  ((${#s} > 300)) && s="${s:0:300}..."
  printf '%s' "$s"
}

# --- prerequisites ----------------------------------------------------------

require_root() {
  ((EUID == 0)) || skip "not root (the privileged tier needs root to load BPF)"
}

# no_root_needed FUNC...: tests (called at the top of their file) that never
# load BPF (--help, --version, argument errors): they run without root too,
# so a non-root run of the tier (and the ctest cli_no_root) exercises them.
declare -A _LIB_NO_ROOT=()
no_root_needed() {
  local f
  for f; do _LIB_NO_ROOT[$f]=1; done
}

require_capscope() {
  [[ -e "$CAPSCOPE" ]] || skip "capscope binary not found at $CAPSCOPE (build it: cmake -S . -B build && cmake --build build)"
  [[ -x "$CAPSCOPE" ]] || skip "capscope binary at $CAPSCOPE is not executable"
}

# require_helper NAME...: the test helper programs (tests/privileged/helpers).
require_helper() {
  local h
  for h in "$@"; do
    [[ -x "$HELPERS/$h" ]] || skip "test helper '$h' not built (expected $HELPERS/$h; tests/privileged is built by the main CMake build)"
  done
}

# require_cmd NAME...: host commands.
require_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || skip "command '$c' not installed (scripts/setup.sh installs it)"
  done
}

# port_in_use PORT: true when something listens on TCP PORT.
port_in_use() {
  [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]
}

# require_free_port PORT
require_free_port() {
  if port_in_use "$1"; then
    skip "TCP port $1 is already in use on this host"
  fi
}

# --- running capscope -------------------------------------------------------

# run_capscope ARGS...: capscope with a time limit and no stdin.
run_capscope() {
  timeout -k 10 "$CAPSCOPE_TIMEOUT" "$CAPSCOPE" "$@" </dev/null
}

# record_docker [RECORD OPTIONS] -- CMD [ARGS...]
# Runs `capscope record --format docker -o - ...`. Sets:
#   REC_RC      capscope's exit status (the workload's; 124 = timed out)
#   REC_ADVICE  the last line of stdout (the docker advice)
#   REC_OUTPUT  stdout before that line (the workload's own output)
#   REC_STDERR  stderr
# Everything is also written to the test's log.
# shellcheck disable=SC2034  # REC_* are read by the tests
record_docker() {
  local out="$TEST_TMP/.record.stdout" err="$TEST_TMP/.record.stderr"
  REC_RC=0
  run_capscope record --format docker -o - "$@" >"$out" 2>"$err" || REC_RC=$?
  REC_ADVICE=$(tail -n 1 "$out")
  REC_OUTPUT=$(sed '$d' "$out")
  REC_STDERR=$(cat "$err")
  {
    echo "--- capscope record --format docker -o - $*  => exit $REC_RC"
    echo "--- stdout:"
    cat "$out"
    echo "--- stderr:"
    cat "$err"
    echo "---"
  } >&2
}

# expect_advice EXPECTED [RECORD OPTIONS] -- CMD [ARGS...]
# record_docker, then assert that capscope and the workload exited 0 and that
# the advice is exactly EXPECTED.
expect_advice() {
  local expected=$1
  shift
  record_docker "$@"
  if ((REC_RC == 124 || REC_RC == 137)); then
    fail "capscope record timed out after ${CAPSCOPE_TIMEOUT}s: $*"
  fi
  if ((REC_RC != 0)); then
    fail "capscope record $* exited $REC_RC (stderr: $(_lib_abbrev "$REC_STDERR"))"
  fi
  assert_eq "$expected" "$REC_ADVICE" "docker advice for: $*"
}

# --- reading JSON -------------------------------------------------------------

# json_get FILE EXPR [ARG...]: the one way tests read JSON. Evaluates the
# Python expression EXPR over the document in FILE ('-': stdin), bound to `d`
# (ARGs are `args`; json, datetime and timedelta are at hand) and prints it:
# a string or number as is, true/false, "" for null, a list of strings or
# numbers joined by ",", a tuple's items joined by " " (like print(a, b)),
# anything else as compact JSON. Fails (the reason on stderr) when FILE is
# not JSON or EXPR raises. Debian's /usr/bin/python3 (scripts/setup.sh).
json_get() {
  local file=$1 expr=$2
  shift 2
  /usr/bin/python3 -c '
import json, sys
from datetime import datetime, timedelta
path, expr, args = sys.argv[1], sys.argv[2], sys.argv[3:]
d = json.load(sys.stdin if path == "-" else open(path))
v = eval(expr, {"d": d, "args": args, "json": json, "datetime": datetime, "timedelta": timedelta})
def text(x):
    if x is None:
        return ""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, (str, int, float)):
        return str(x)
    return json.dumps(x, separators=(",", ":"), sort_keys=True)
if isinstance(v, list) and all(isinstance(x, (str, int, float)) and not isinstance(x, bool) for x in v):
    print(",".join(str(x) for x in v))
elif isinstance(v, tuple):
    print(" ".join(text(x) for x in v))
else:
    print(text(v))
' "$file" "$expr" "$@"
}

# --- background processes ---------------------------------------------------

_LIB_BG_PIDS=()

# bg_track PID: kill PID (and wait for it) when the test ends, however it ends.
bg_track() {
  _LIB_BG_PIDS+=("$1")
}

# bg_stop PID: stop a tracked background process now.
bg_stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# --- runner -----------------------------------------------------------------

_lib_cleanup() {
  local pid
  for pid in "${_LIB_BG_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n "${TEST_TMP:-}" && -d "$TEST_TMP" ]]; then
    if [[ "${TEST_KEEP_TMP:-0}" == 1 ]]; then
      echo "kept $TEST_TMP" >&2
    else
      rm -rf "$TEST_TMP"
    fi
  fi
}

_lib_on_err() {
  local rc=$1 where=$2 cmd=$3
  # Only the test's own shell, not command substitutions or subshells.
  [[ "$BASHPID" == "$_LIB_MAIN_PID" ]] || return 0
  _lib_reason "command failed (exit $rc) at $where: $cmd"
  echo "FAIL: command failed (exit $rc) at $where: $cmd" >&2
  exit 1 # never 77 by accident, which would read as a skip
}

# lib_run_one FILE FUNC: run one test in this shell; exit 0 pass, 77 skip,
# anything else fail. The reason goes to $RESULT_FILE.
lib_run_one() {
  local file=$1 func=$2
  # shellcheck source=/dev/null
  source "$file"
  declare -F "$func" >/dev/null || fail "no function $func in $file"

  [[ -n "${_LIB_NO_ROOT[$func]:-}" ]] || require_root
  require_capscope

  TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/capscope-test.${func#test_}.XXXXXX")
  export TEST_TMP
  trap _lib_cleanup EXIT
  # On the runner's time limit, still clean up (EXIT traps run on exit).
  trap 'exit 143' TERM
  trap 'exit 130' INT
  _LIB_MAIN_PID=$BASHPID
  trap '_lib_on_err $? "${BASH_SOURCE[0]##*/}:$LINENO" "$BASH_COMMAND"' ERR
  set -eEuo pipefail
  cd "$TEST_TMP"
  "$func"
}

# --- cleanup hooks and bounded waits ------------------------------------------

_LIB_ON_EXIT=()

# on_exit COMMAND: run COMMAND (a string, eval'd) when the test ends, however it
# ends (pass, fail, skip, time limit), before tracked background processes are
# stopped and $TEST_TMP is removed. Hooks run last-registered first; a failing
# hook does not stop the others. Use it for mounts and the like.
on_exit() {
  _LIB_ON_EXIT+=("$1")
  trap '_lib_run_on_exit; _lib_cleanup' EXIT
}

_lib_run_on_exit() {
  local i
  for ((i = ${#_LIB_ON_EXIT[@]} - 1; i >= 0; i--)); do
    eval "${_LIB_ON_EXIT[$i]}" || true
  done
  _LIB_ON_EXIT=()
}

# now_ms: milliseconds since the epoch (for measuring how long things take).
now_ms() {
  echo $(($(date +%s%N) / 1000000))
}

# wait_pid_for PID SECONDS: wait for the background child PID to end, at most
# SECONDS (fractions allowed). Sets WAIT_RC to its exit status, or to 124 when
# it was still running at the deadline (it is then left running).
wait_pid_for() {
  local pid=$1 limit_ms start
  limit_ms=$(awk -v s="$2" 'BEGIN { printf "%d", s * 1000 }')
  start=$(now_ms)
  while kill -0 "$pid" 2>/dev/null; do
    if (($(now_ms) - start >= limit_ms)); then
      WAIT_RC=124
      return 0
    fi
    sleep 0.05
  done
  WAIT_RC=0
  wait "$pid" 2>/dev/null || WAIT_RC=$?
}

# kill_wait PID [GRACE]: stop the background child PID: SIGTERM, then SIGKILL
# if it is still there after GRACE seconds (default 5); reap it. Never fails.
kill_wait() {
  local pid=$1 grace=${2:-5}
  kill -0 "$pid" 2>/dev/null || {
    wait "$pid" 2>/dev/null || true
    return 0
  }
  kill -TERM "$pid" 2>/dev/null || true
  wait_pid_for "$pid" "$grace"
  if ((WAIT_RC == 124)); then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  return 0
}

# wait_for_text FILE TEXT SECONDS: wait until FILE contains TEXT (a fixed
# string); false when it does not within SECONDS.
wait_for_text() {
  local file=$1 text=$2 limit_ms start
  limit_ms=$(awk -v s="$3" 'BEGIN { printf "%d", s * 1000 }')
  start=$(now_ms)
  until [[ -f "$file" ]] && grep -qF -- "$text" "$file"; do
    (($(now_ms) - start >= limit_ms)) && return 1
    sleep 0.05
  done
  return 0
}

# --- containers (podman + runc) -----------------------------------------------

# Options every test container needs on these machines (DESIGN.md, "Real
# components used in tests"): runc (crun refuses the hybrid cgroups) and
# ulimits that need no CAP_SYS_RESOURCE. Options go before --rootfs DIR.
# One word each, so each is one `capscope verify --runtime-opt` (capscope
# never adds them itself: they are this machine's, not the product's).
PODMAN_RUN_OPTS=(--runtime=runc --ulimit=nofile=1024:1024 --ulimit=nproc=4096:4096)
# The same options for `capscope verify --runtime podman`.
# shellcheck disable=SC2034  # read by the tests
VERIFY_RUNTIME_OPTS=("${PODMAN_RUN_OPTS[@]/#/--runtime-opt=}")

# require_podman: podman and runc, or skip.
require_podman() {
  require_cmd podman runc
}

# container_fixtures: the shared busybox rootfs and its imported image
# (scripts/container-fixtures.sh, built once and cached). Sets ROOTFS (a
# template directory: runs that write must use `--tmpfs /tmp:notmpcopyup`
# or a copy) and IMAGE (localhost/capscope-busybox, on overlay storage).
# shellcheck disable=SC2034  # ROOTFS, IMAGE are read by the tests
container_fixtures() {
  local out
  out=$(bash "$REPO_ROOT/scripts/container-fixtures.sh" all) ||
    fail "scripts/container-fixtures.sh all failed (see output)"
  read -r ROOTFS IMAGE <<<"$out"
  [[ -x "$ROOTFS/bin/busybox" ]] || fail "no busybox in the fixture rootfs $ROOTFS"
}

# unique_name WORD: a container name no other test or session uses.
# Short enough (<= 24 characters for a short WORD) to show whole in tables.
unique_name() {
  echo "cs-$1-$$-$((RANDOM % 1000))"
}

# podman_cleanup NAME...: force-remove these containers when the test ends,
# however it ends (names that were never created are fine).
podman_cleanup() {
  local n quoted=""
  for n in "$@"; do quoted+=" $(printf '%q' "$n")"; done
  on_exit "timeout 30 podman rm -f -t 0$quoted >/dev/null 2>&1"
}

# ctr_start NAME [PODMAN RUN OPTIONS...] (--rootfs DIR | IMAGE) CMD [ARGS...]:
# `podman run -d` with PODMAN_RUN_OPTS, removed when the test ends.
ctr_start() {
  local name=$1
  shift
  podman_cleanup "$name"
  timeout 60 podman run -d --name "$name" "${PODMAN_RUN_OPTS[@]}" "$@" >/dev/null ||
    fail "podman run $name failed: podman run -d ${PODMAN_RUN_OPTS[*]} $*"
}

# ctr_wait NAME [SECONDS]: wait for the container to exit (default 30 s);
# sets CTR_RC to its exit status, or fails on the time limit.
# shellcheck disable=SC2034  # CTR_RC is read by the tests
ctr_wait() {
  local out
  out=$(timeout "${2:-30}" podman wait "$1" 2>&1) ||
    fail "container $1 did not exit within ${2:-30}s ($out)"
  CTR_RC=${out##*$'\n'}
}

# free_port: a TCP port nothing listens on (for servers a test starts).
free_port() {
  local p i
  for i in $(seq 50); do
    p=$((20000 + RANDOM % 20000))
    port_in_use "$p" || {
      echo "$p"
      return 0
    }
  done
  fail "no free TCP port found"
}
