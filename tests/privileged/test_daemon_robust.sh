# shellcheck shell=bash
# shellcheck disable=SC2016,SC2153  # container commands in single quotes; ROOTFS comes from container_fixtures
# The daemon under abuse (issue 15): its socket against non-root, many and
# hostile clients; a full state disk; SIGKILL again and again while
# containers run. The daemon helpers (daemon_start, cs_show...) are
# test_daemon.sh's. The functions here run under lib.sh (see run.sh).

# shellcheck source=test_daemon.sh
source "$LIB_DIR/test_daemon.sh"

# socket_request JSON|@BYTES: send one request, print the reply (empty if
# the daemon closed without one). @N sends N bytes of garbage.
socket_request() {
  /usr/bin/python3 - "$DAEMON_SOCK" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
s.connect(sys.argv[1])
req = sys.argv[2]
data = b"x" * int(req[1:]) if req.startswith("@") else req.encode() + b"\n"
try:
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
except (BrokenPipeError, ConnectionResetError):
    pass
reply = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        reply += chunk
except (ConnectionResetError, socket.timeout):
    pass
print(reply.decode(errors="replace").strip())
PY
}

# A non-root user is told why, in one line, and the daemon goes on.
test_daemon_socket_refuses_non_root() {
  require_daemon_prereqs
  require_cmd setpriv
  chmod 755 "$TEST_TMP"
  daemon_start
  local rc=0 err
  err=$(setpriv --reuid 65534 --regid 65534 --clear-groups \
    "$CAPSCOPE" profiles --socket "$DAEMON_SOCK" 2>&1 >/dev/null) || rc=$?
  echo "profiles as nobody: exit $rc: $err" >&2
  ((rc != 0)) || fail "a non-root client was served (exit 0)"
  assert_eq 1 "$(wc -l <<<"$err")" "lines of error for a non-root client"
  assert_contains "$err" "root" "error for a non-root client"
  daemon_alive "after a non-root client was refused"
  cs_profiles >/dev/null || fail "the daemon does not answer root after refusing nobody"
}

# 100 clients at once are all answered.
test_daemon_hundred_concurrent_clients() {
  require_daemon_prereqs
  daemon_start
  local name i ok=0 pids=()
  name=$(unique_name d-many)
  ctr_start "$name" --cap-add=ALL --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" sh -c 'touch /tmp/x && chown 1000 /tmp/x'
  ctr_wait "$name"
  wait_advice "$name" "--cap-drop=ALL --cap-add=CHOWN"
  for i in $(seq 100); do
    "$CAPSCOPE" show "$name" --socket "$DAEMON_SOCK" -f docker >"$TEST_TMP/c.$i" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" && [[ "$(cat "$TEST_TMP/c.$((i + 1))")" == "--cap-drop=ALL --cap-add=CHOWN" ]] &&
      ok=$((ok + 1))
  done
  assert_eq 100 "$ok" "clients of 100 concurrent ones answered right"
  daemon_alive "after 100 concurrent clients"
}

# Malformed and oversized requests get an error reply; the daemon goes on.
test_daemon_hostile_requests() {
  require_daemon_prereqs
  daemon_start
  local reply
  for req in '{"op":' 'not json at all' '{"op":"show"}' '{"op":"show","id":42}' \
    '[1,2,3]' '{"op":"nope"}'; do
    reply=$(socket_request "$req")
    echo "request $req -> $reply" >&2
    assert_contains "$reply" '"ok":false' "reply to the malformed request $req"
    assert_contains "$reply" '"error"' "reply to the malformed request $req"
    daemon_alive "after the malformed request $req"
  done
  reply=$(socket_request @$((8 * 1024 * 1024)))
  echo "8 MiB request -> $reply" >&2
  assert_contains "$reply" '"ok":false' "reply to an 8 MiB request"
  assert_contains "$reply" 'too large' "reply to an 8 MiB request"
  daemon_alive "after an 8 MiB request"
  cs_profiles >/dev/null || fail "the daemon does not answer after hostile requests"
}

# A full state disk: tracing goes on, the write error is logged once and
# counted in a metric, and no truncated profile replaces a good one.
test_daemon_full_state_disk() {
  require_daemon_prereqs
  local port first second i name n
  mkdir -p "$TEST_TMP/state"
  mount -t tmpfs -o size=64k tmpfs "$TEST_TMP/state" || skip "cannot mount a tmpfs here"
  on_exit "umount -l '$TEST_TMP/state'"
  port=$(free_port)
  daemon_start --metrics "127.0.0.1:$port"
  first=$(unique_name d-disk)
  ctr_start "$first" --cap-add=ALL --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" sh -c 'touch /tmp/x && chown 1000 /tmp/x'
  ctr_wait "$first"
  wait_advice "$first" "--cap-drop=ALL --cap-add=CHOWN"
  sleep 2 # flushed
  grep -lF -- "\"$first\"" "$TEST_TMP/state"/*.json >/dev/null || fail "no profile of $first on disk before the disk filled"
  # Fill the disk to the last byte.
  dd if=/dev/zero of="$TEST_TMP/state/filler" bs=4k 2>/dev/null || true
  for i in 1 2 3; do
    name=$(unique_name "d-full$i")
    ctr_start "$name" --cap-add=ALL --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" mknod /tmp/n c 1 3
    ctr_wait "$name"
  done
  second=$name
  wait_advice "$second" "--cap-drop=ALL --cap-add=MKNOD" # tracing went on
  sleep 3 # several flush intervals on a full disk
  daemon_alive "with its state disk full"
  n=$(grep -ciE 'no space|cannot write|write.*fail' "$DAEMON_LOG" || true)
  echo "write errors logged: $n" >&2
  assert_eq 1 "$n" "lines in the daemon's log about the failed writes (once, not per flush)"
  local metrics
  metrics=$(curl -sf "http://127.0.0.1:$port/metrics") || fail "no metrics on port $port"
  grep -E '^capscope_state_write_errors_total [1-9]' <<<"$metrics" >/dev/null ||
    fail "no capscope_state_write_errors_total > 0 in the metrics: $(grep state_write <<<"$metrics")"
  local f
  for f in "$TEST_TMP/state"/*.json; do
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$f" ||
      fail "profile file $(basename "$f") is not valid JSON on a full disk"
  done
  # Room again: the next flush writes what was kept in memory.
  rm -f "$TEST_TMP/state/filler"
  daemon_stop TERM
  grep -lF -- "\"$second\"" "$TEST_TMP/state"/*.json >/dev/null ||
    fail "the profile of $second was not written once the disk had room"
}

# SIGKILL while containers start and profiles flush, four times: every
# profile file parses after each kill, and counts never go backwards.
test_daemon_sigkill_under_load() {
  require_daemon_prereqs
  local round name stop prev=0 now f
  name=$(unique_name d-load)
  stop=$TEST_TMP/stop
  daemon_start
  # A loop of short containers, all of one name prefix, chowning.
  (
    i=0
    while [[ ! -e "$stop" ]]; do
      i=$((i + 1))
      timeout 30 podman run --rm --name "$name-$i" "${PODMAN_RUN_OPTS[@]}" --cap-add=ALL \
        --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" sh -c 'touch /tmp/x && chown 1000 /tmp/x' \
        >/dev/null 2>&1 || true
    done
  ) &
  local loader=$!
  bg_track "$loader"
  on_exit "touch '$stop'"
  for round in 1 2 3 4; do
    sleep "$((4 + RANDOM % 4)).$((RANDOM % 10))" # a container or two ends, flushes run
    kill -KILL "$DAEMON_PID"
    wait_pid_for "$DAEMON_PID" 10
    for f in "$DAEMON_STATE"/*.json; do
      [[ -e "$f" ]] || continue
      python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$f" ||
        fail "round $round: $(basename "$f") is not valid JSON after SIGKILL"
    done
    now=$(python3 - "$DAEMON_STATE" <<'PY'
import json, glob, sys
total = 0
for f in glob.glob(sys.argv[1] + "/*.json"):
    for c in json.load(open(f)).get("checks", []):
        total += c.get("granted", 0) + c.get("denied", 0)
print(total)
PY
)
    echo "round $round: checks on disk $now (before: $prev)" >&2
    ((now >= prev)) || fail "round $round: checks on disk went from $prev down to $now across a SIGKILL"
    prev=$now
    daemon_start
  done
  touch "$stop"
  wait "$loader" 2>/dev/null || true
  ((prev > 0)) || fail "no checks reached the disk in four rounds"
}
