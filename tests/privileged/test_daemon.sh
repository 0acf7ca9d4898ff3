# shellcheck shell=bash
# shellcheck disable=SC2016,SC2054,SC2153  # container commands in single quotes; setpriv takes comma lists; ROOTFS/IMAGE come from container_fixtures
# `capscope daemon` with real containers (podman + runc, plain runc), its
# socket clients (`profiles`, `show`), persistence across restarts and kills,
# metrics scraped by a real Prometheus, and the deploy/ files: the systemd
# unit and the DaemonSet, run with exactly the capabilities they grant.
# Every test starts its own daemon with a private state dir and socket.
# The functions here run under lib.sh (see run.sh).

# The capabilities the daemon needs, measured with capscope itself
# (test_deploy_measured_caps; deploy/README.md): what deploy/ grants.
DEPLOY_CAPS=(BPF PERFMON SYSLOG SYS_PTRACE)

# --- daemon helpers -------------------------------------------------------------

DAEMON_RUNS=0
DAEMON_PREFIX=()

# daemon_start [EXTRA DAEMON OPTIONS...]: start `capscope daemon` with the
# state dir $DAEMON_STATE and socket $DAEMON_SOCK (defaults under $TEST_TMP)
# and a 1 s flush interval, run through the command in DAEMON_PREFIX (e.g.
# setpriv) if set; wait until it says it is tracing. Sets DAEMON_PID and
# DAEMON_LOG (its stderr).
daemon_start() {
  DAEMON_STATE=${DAEMON_STATE:-$TEST_TMP/state}
  DAEMON_SOCK=${DAEMON_SOCK:-$TEST_TMP/capscope.sock}
  DAEMON_RUNS=$((DAEMON_RUNS + 1))
  DAEMON_LOG=$TEST_TMP/daemon.$DAEMON_RUNS.log
  "${DAEMON_PREFIX[@]}" "$CAPSCOPE" daemon --state-dir "$DAEMON_STATE" \
    --socket "$DAEMON_SOCK" --flush-interval 1s -v "$@" </dev/null >"$DAEMON_LOG" 2>&1 &
  DAEMON_PID=$!
  bg_track "$DAEMON_PID"
  on_exit "echo '--- daemon log $DAEMON_LOG:' >&2; tail -n 15 '$DAEMON_LOG' >&2"
  if ! wait_for_text "$DAEMON_LOG" "tracing all containers" 20; then
    kill -0 "$DAEMON_PID" 2>/dev/null ||
      fail "capscope daemon exited at start: $(_lib_abbrev "$(tail -n 3 "$DAEMON_LOG")")"
    fail "capscope daemon did not say 'tracing all containers' within 20 s"
  fi
  [[ -S "$DAEMON_SOCK" ]] || fail "capscope daemon is tracing but there is no socket at $DAEMON_SOCK"
}

# daemon_stop [SIGNAL]: stop the daemon (default SIGTERM; a clean exit 0 is
# required then) and reap it.
daemon_stop() {
  local sig=${1:-TERM}
  kill -"$sig" "$DAEMON_PID" 2>/dev/null || fail "daemon $DAEMON_PID was not running when it was to be stopped"
  wait_pid_for "$DAEMON_PID" 15
  ((WAIT_RC != 124)) || fail "capscope daemon still running 15 s after SIG$sig"
  if [[ "$sig" == TERM ]]; then
    assert_eq 0 "$WAIT_RC" "exit status of capscope daemon after SIGTERM"
  fi
}

# daemon_alive WHEN: fail (with its exit status) if the daemon is gone.
daemon_alive() {
  kill -0 "$DAEMON_PID" 2>/dev/null && return 0
  local rc=0
  wait "$DAEMON_PID" 2>/dev/null || rc=$?
  if ((rc > 128)); then
    fail "capscope daemon died $1: killed by signal $((rc - 128)) ($(kill -l $((rc - 128)) 2>/dev/null || echo '?'))"
  fi
  fail "capscope daemon exited $1 with status $rc"
}

# cs_show, cs_profiles: client commands against this test's daemon.
cs_show() { # cs_show ID|NAME [FORMAT]
  run_capscope show "$1" --socket "$DAEMON_SOCK" -f "${2:-docker}"
}
cs_profiles() {
  run_capscope profiles --socket "$DAEMON_SOCK" "$@"
}

# wait_advice NAME EXPECTED [SECONDS]: poll `show NAME -f docker` until it is
# EXPECTED (the daemon reads events asynchronously), then assert it.
wait_advice() {
  local name=$1 expected=$2 limit=${3:-10} got="" start
  start=$(now_ms)
  while :; do
    got=$(cs_show "$name" docker 2>&1) || true
    [[ "$got" == "$expected" ]] && break
    (($(now_ms) - start >= limit * 1000)) && break
    sleep 0.3
  done
  echo "advice for $name: $got" >&2
  assert_eq "$expected" "$got" "daemon's advice for container $name (capscope show $name -f docker)"
}

# profile_field NAME EXPR: a value from `show NAME -f json` (json_get EXPR on
# the profile as d), e.g. "d['workload']['runtime']".
profile_field() {
  cs_show "$1" json | json_get - "$2"
}

# assert_no_setup_caps NAME: the container's profile holds none of the
# runtime's setup capabilities, in any class, and no DAC_OVERRIDE/SYS_ADMIN
# that would count.
assert_no_setup_caps() {
  local bad
  bad=$(cs_show "$1" json | json_get - '" ".join("%s(%s)" % (c["cap"], c["class"]) for c in d.get("checks", [])
    if c["cap"] in ("SETUID", "SETGID", "SETPCAP") or (c["cap"] in ("SYS_ADMIN", "DAC_OVERRIDE") and c["class"] in ("needed", "setup")))')
  assert_eq "" "$bad" "runtime setup checks in container $1's profile"
}

# profile_names [--all]: the names in `profiles --json`, one a line.
profile_names() {
  cs_profiles --json "$@" | json_get - '"\n".join(p.get("name", "") for p in d)'
}

# require_daemon_prereqs: root, podman, fixtures.
require_daemon_prereqs() {
  require_podman
  require_cmd curl
  [[ -x /usr/bin/python3 ]] || skip "/usr/bin/python3 missing"
  container_fixtures
}

# --- attribution ----------------------------------------------------------------

# Scopes come and go: 300 short-lived mount namespaces one after another
# (`unshare -m`, capgen exec'd inside), each making exactly 1000 SYS_NICE
# checks. The daemon persists each scope when it is gone and forgets it; the
# BPF side then hands that scope's slots in its per-CPU count cache (256 a
# CPU) to new keys. Nothing may leak from one scope into the next and
# nothing may be lost: the merged profile (one workload, keyed by the
# executable) holds 300 runs and exactly 300 x 1000 SYS_NICE checks.
test_daemon_scope_churn_exact_counts() {
  require_cmd unshare
  [[ -x /usr/bin/python3 ]] || skip "/usr/bin/python3 missing"
  local capgen="$REPO_ROOT/build/tests/bench/capgen" n=300 iters=1000 i got start
  [[ -x "$capgen" ]] || skip "load generator not built (expected $capgen)"
  daemon_start
  for ((i = 0; i < n; i++)); do
    unshare -m -- "$capgen" --op ioprio --threads 1 --iters $iters >/dev/null ||
      fail "capgen run $i in a new mount namespace failed"
  done
  start=$(now_ms)
  while :; do
    got=$(json_get "$DAEMON_STATE/ns-capgen.json" '(d["runs"], sum(c["granted"] + c["denied"] for c in d["checks"] if c["cap"] == "SYS_NICE"), d["lost_events"])' 2>/dev/null) ||
      got="(no profile yet)"
    [[ "$got" == "$n $((n * iters)) 0" ]] && break
    (($(now_ms) - start >= 30000)) && break
    sleep 0.5
  done
  daemon_alive "after $n scopes"
  assert_eq "$n $((n * iters)) 0" "$got" "runs, SYS_NICE checks and lost events in $DAEMON_STATE/ns-capgen.json"
  daemon_stop
}

# Three containers at once, each doing its own privileged act, and an idle
# one: each one's advice is exactly its own capability, the idle one's
# --cap-drop=ALL alone; runc init's setup checks are in none of them.
test_daemon_three_containers() {
  require_daemon_prereqs
  daemon_start
  local chown bind mknod idle rc out
  chown=$(unique_name d-chown)
  bind=$(unique_name d-bind)
  mknod=$(unique_name d-mknod)
  idle=$(unique_name d-idle)
  # All four start, wait for the go (a file in a shared directory), then
  # act at the same time, each still running while the others act.
  local go="$TEST_TMP/go" wait_go='i=0; until [ -e /go/now ] || [ $i -ge 300 ]; do sleep 0.1; i=$((i+1)); done; '
  mkdir -p "$go"
  ctr_start "$chown" --cap-add=ALL -v "$go:/go:ro" --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" \
    sh -c "$wait_go"'touch /tmp/x && chown 1000 /tmp/x && stat -c "owner %u" /tmp/x; sleep 1'
  ctr_start "$bind" --cap-add=ALL -v "$go:/go:ro" --rootfs "$ROOTFS" \
    sh -c "$wait_go"'nc -l -p 80 & p=$!; sleep 0.5; netstat -ltn | grep -q ":80 " && echo "listening on 80"; kill $p; sleep 0.5'
  ctr_start "$mknod" --cap-add=ALL -v "$go:/go:ro" --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" \
    sh -c "$wait_go"'mknod /tmp/n c 1 3 && stat -c "dev %t:%T" /tmp/n; sleep 1'
  ctr_start "$idle" --cap-add=ALL -v "$go:/go:ro" --rootfs "$ROOTFS" sh -c "$wait_go"'sleep 1; echo idle'
  touch "$go/now"
  for c in "$chown" "$bind" "$mknod" "$idle"; do
    ctr_wait "$c"
    out=$(podman logs "$c" 2>&1)
    echo "$c: exit $CTR_RC, output: $out" >&2
    assert_eq 0 "$CTR_RC" "exit status of container $c (output: $out)"
  done
  assert_eq "owner 1000" "$(podman logs "$chown" 2>&1)" "output of $chown"
  assert_eq "listening on 80" "$(podman logs "$bind" 2>&1)" "output of $bind"
  assert_eq "dev 1:3" "$(podman logs "$mknod" 2>&1)" "output of $mknod"

  wait_advice "$chown" "--cap-drop=ALL --cap-add=CHOWN"
  wait_advice "$bind" "--cap-drop=ALL --cap-add=NET_BIND_SERVICE"
  wait_advice "$mknod" "--cap-drop=ALL --cap-add=MKNOD"
  wait_advice "$idle" "--cap-drop=ALL"
  for c in "$chown" "$bind" "$mknod" "$idle"; do
    assert_no_setup_caps "$c"
    assert_eq podman "$(profile_field "$c" "d['workload']['runtime']")" "runtime of $c"
  done

  # `profiles` lists them by name, with what each used.
  out=$(cs_profiles)
  echo "$out" >&2
  for c in "$chown:CHOWN" "$bind:NET_BIND_SERVICE" "$mknod:MKNOD" "$idle:none"; do
    rc=$(grep -F -- "${c%%:*}" <<<"$out" || true)
    [[ -n "$rc" ]] || fail "capscope profiles does not list ${c%%:*}"
    assert_contains "$rc" " ${c##*:} " "CAPS USED of ${c%%:*} in capscope profiles"
  done
}

# The imported image on overlay storage: overlayfs's copy-up checks are made
# with the mounter's (podman's) credentials and must not count. The same
# container works with CHOWN alone (checked first).
test_daemon_image_overlay() {
  require_daemon_prereqs
  local name rc=0 out
  out=$(timeout 60 podman run --rm "${PODMAN_RUN_OPTS[@]}" --cap-drop=ALL --cap-add=CHOWN \
    "$IMAGE" sh -c 'touch /tmp/x && chown 1000 /tmp/x && stat -c %u /tmp/x' 2>&1) || rc=$?
  assert_eq "0:1000" "$rc:$out" "image run with --cap-drop=ALL --cap-add=CHOWN (exit:output)"
  daemon_start
  name=$(unique_name d-image)
  ctr_start "$name" --cap-add=ALL "$IMAGE" sh -c 'touch /tmp/x && chown 1000 /tmp/x && stat -c %u /tmp/x'
  ctr_wait "$name"
  assert_eq "0:1000" "$CTR_RC:$(podman logs "$name" 2>&1)" "container $name (exit:output)"
  assert_eq "$IMAGE:latest" "$(profile_field "$name" "d['workload']['image']")" "image of $name in its profile"
  wait_advice "$name" "--cap-drop=ALL --cap-add=CHOWN"
}

# Replicas: two containers of one image are one workload (`--by workload`),
# and the union of what they used.
test_daemon_by_workload() {
  require_daemon_prereqs
  daemon_start
  local a b rows
  a=$(unique_name d-rep-a)
  b=$(unique_name d-rep-b)
  ctr_start "$a" --cap-add=ALL "$IMAGE" sh -c 'touch /tmp/x && chown 1000 /tmp/x'
  ctr_start "$b" --cap-add=ALL "$IMAGE" sh -c 'mknod /tmp/d c 1 3'
  ctr_wait "$a"
  ctr_wait "$b"
  wait_advice "$a" "--cap-drop=ALL --cap-add=CHOWN"
  wait_advice "$b" "--cap-drop=ALL --cap-add=MKNOD"
  rows=$(timeout 20 "$CAPSCOPE" profiles --by workload --socket "$DAEMON_SOCK") || fail "profiles --by workload failed"
  echo "$rows" >&2
  assert_contains "$rows" "image:$IMAGE:latest" "the workload row of the image"
  local row
  row=$(grep -F "image:$IMAGE:latest" <<<"$rows")
  [[ "$row" =~ [[:space:]]2[[:space:]]+CHOWN,MKNOD$ ]] || fail "expected 2 containers using CHOWN,MKNOD in: $row"
}

# write_bundle DIR ARGS_JSON: an OCI bundle for plain runc (`runc spec`, a
# copy of the busybox rootfs, no terminal, writable root, broad capabilities).
write_bundle() {
  local dir=$1 args=$2
  mkdir -p "$dir"
  cp -a "$ROOTFS" "$dir/rootfs"
  find "$dir/rootfs/tmp" -mindepth 1 -delete
  (cd "$dir" && runc spec)
  /usr/bin/python3 - "$dir/config.json" "$args" <<'PY'
import json, sys
path, args = sys.argv[1], json.loads(sys.argv[2])
s = json.load(open(path))
s["process"]["terminal"] = False
s["process"]["args"] = args
caps = ["CAP_" + c for c in ("AUDIT_WRITE CHOWN DAC_OVERRIDE FOWNER FSETID KILL MKNOD "
        "NET_BIND_SERVICE NET_RAW SETFCAP SETGID SETPCAP SETUID SYS_ADMIN SYS_CHROOT").split()]
s["process"]["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
s["root"]["readonly"] = False
json.dump(s, open(path, "w"), indent=1)
PY
}

# run_runc_bundle DIR ID: `runc run ID` in DIR, removed when the test ends.
run_runc_bundle() {
  local dir=$1 id=$2 rc=0 out
  on_exit "runc delete -f $id >/dev/null 2>&1"
  out=$(cd "$dir" && timeout 30 runc run "$id" </dev/null 2>&1) || rc=$?
  echo "runc run $id: exit $rc, output: $out" >&2
  assert_eq 0 "$rc" "exit status of runc run $id (output: $out)"
  assert_contains "$out" "1,   3" "mknod's device in runc run $id"
}

# Plain `runc run` on an OCI bundle: the container's id is a name of the
# user's choice (`runc run mycontainer` puts it in the cgroup /mycontainer);
# attributed to that container, runtime "runc", advice exactly MKNOD.
test_daemon_runc_bundle() {
  require_daemon_prereqs
  daemon_start
  local b1="$TEST_TMP/bundle1" b2="$TEST_TMP/bundle2" hexid name
  write_bundle "$b1" '["sh", "-c", "mknod /tmp/n c 1 3 && ls -l /tmp/n"]'
  write_bundle "$b2" '["sh", "-c", "mknod /tmp/n c 1 3 && ls -l /tmp/n"]'
  # An id shaped like the ones engines give (64 hex digits) ...
  hexid=$(head -c 32 /dev/urandom | sha256sum | cut -c1-64)
  run_runc_bundle "$b1" "$hexid"
  wait_advice "$hexid" "--cap-drop=ALL --cap-add=MKNOD"
  assert_eq runc "$(profile_field "$hexid" "d['workload']['runtime']")" "runtime of runc container $hexid"
  # ... and a plain name, as people run runc by hand.
  name=$(unique_name runc)
  run_runc_bundle "$b2" "$name"
  sleep 0.5
  cs_profiles --all >&2 || true
  wait_advice "$name" "--cap-drop=ALL --cap-add=MKNOD"
  assert_eq runc "$(profile_field "$name" "d['workload']['runtime']")" "runtime of runc container $name"
}

# `podman exec` into a running container doing a privileged act: that
# container's, and no new profile.
test_daemon_podman_exec() {
  require_daemon_prereqs
  daemon_start
  local name out
  name=$(unique_name d-exec)
  ctr_start "$name" --cap-add=ALL --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" sleep 30
  sleep 1
  wait_advice "$name" "--cap-drop=ALL"
  out=$(timeout 30 podman exec "$name" sh -c 'touch /tmp/y && chown 1000 /tmp/y && stat -c %u /tmp/y' 2>&1)
  assert_eq 1000 "$out" "output of the chown in podman exec"
  wait_advice "$name" "--cap-drop=ALL --cap-add=CHOWN"
  out=$(profile_names --all)
  echo "profiles: $out" >&2
  assert_eq 1 "$(grep -cxF -- "$name" <<<"$out")" "profiles named $name"
}

# A container whose process runs `unshare -m` and then mknod in the new
# mount namespace: still that container (unshare's SYS_ADMIN and the MKNOD),
# no profile for the inner namespace.
test_daemon_unshare_in_container() {
  require_daemon_prereqs
  daemon_start
  local name out
  name=$(unique_name d-unshare)
  ctr_start "$name" --cap-add=ALL --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" \
    sh -c 'unshare -m sh -c "mknod /tmp/n c 1 3 && stat -c \"dev %t:%T\" /tmp/n"'
  ctr_wait "$name"
  assert_eq "0:dev 1:3" "$CTR_RC:$(podman logs "$name" 2>&1)" "container $name (exit:output)"
  wait_advice "$name" "--cap-drop=ALL --cap-add=MKNOD --cap-add=SYS_ADMIN"
  out=$(cs_profiles --all --json | json_get - '"\n".join("%s %s" % (p.get("key"), p.get("name")) for p in d
    if p.get("kind") != "container" and "MKNOD" in p.get("caps_used", []))')
  assert_eq "" "$out" "non-container profiles with the container's MKNOD (the unshare'd namespace split off)"
}

# podman with a copy of runc under another file name: same result (nothing
# may key on the runtime's name).
test_daemon_renamed_runtime() {
  require_daemon_prereqs
  local rt="$TEST_TMP/myrt" name rc=0 out
  cp "$(command -v runc)" "$rt"
  daemon_start
  name=$(unique_name d-myrt)
  podman_cleanup "$name"
  out=$(timeout 60 podman --runtime "$rt" run --name "$name" "${PODMAN_RUN_OPTS[@]:1}" --cap-add=ALL \
    --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" sh -c 'touch /tmp/x && chown 1000 /tmp/x && stat -c %u /tmp/x' 2>&1) || rc=$?
  assert_eq "0:1000" "$rc:$out" "container run with runtime $rt (exit:output)"
  assert_eq "$rt" "$(podman inspect --format '{{.OCIRuntime}}' "$name")" "runtime podman used"
  wait_advice "$name" "--cap-drop=ALL --cap-add=CHOWN"
  assert_no_setup_caps "$name"
}

# "Held but never used": a running --privileged container is flagged
# PRIVILEGED; one started with exactly CHOWN holds one capability it never
# used (it does nothing) and is not flagged.
test_daemon_held_unused() {
  require_daemon_prereqs
  daemon_start
  local priv tight out row
  priv=$(unique_name d-priv)
  tight=$(unique_name d-tight)
  ctr_start "$priv" --privileged --rootfs "$ROOTFS" sleep 30
  ctr_start "$tight" --cap-drop=ALL --cap-add=CHOWN --rootfs "$ROOTFS" sleep 30
  sleep 1.5
  out=$(cs_profiles)
  echo "$out" >&2
  row=$(grep -F -- "$priv" <<<"$out" || true)
  assert_contains "$row" "PRIVILEGED" "the --privileged container's row in capscope profiles"
  assert_contains "$row" "running" "the --privileged container's row in capscope profiles"
  row=$(grep -F -- "$tight" <<<"$out" || true)
  [[ -n "$row" ]] || fail "capscope profiles does not list $tight"
  assert_not_contains "$row" "PRIVILEGED" "the CHOWN-only container's row"
  out=$(cs_profiles --json | json_get - '"\n".join(" ".join([str(p.get("running")), str(p.get("privileged")), ",".join(p.get("held_unused", []))]) for p in d
    if p.get("name") == args[0])' "$tight")
  assert_eq "True False CHOWN" "$out" "running/privileged/held_unused of $tight"
}

# --- persistence ------------------------------------------------------------------

# SIGTERM flushes; a restart on the same state dir lists the same profiles
# with the same advice, and new containers add to them.
test_daemon_restart_keeps_profiles() {
  require_daemon_prereqs
  daemon_start
  local a b out
  a=$(unique_name d-before)
  b=$(unique_name d-after)
  ctr_start "$a" --cap-add=ALL --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" sh -c 'touch /tmp/x && chown 1000 /tmp/x'
  ctr_wait "$a"
  wait_advice "$a" "--cap-drop=ALL --cap-add=CHOWN"
  daemon_stop TERM
  [[ ! -e "$DAEMON_SOCK" ]] || fail "the socket $DAEMON_SOCK is still there after the daemon stopped"
  grep -lF -- "\"$a\"" "$DAEMON_STATE"/*.json >/dev/null || fail "no profile file naming $a in $DAEMON_STATE after SIGTERM"

  daemon_start
  out=$(profile_names)
  assert_contains "$out" "$a" "profiles after the restart"
  wait_advice "$a" "--cap-drop=ALL --cap-add=CHOWN" 3
  ctr_start "$b" --cap-add=ALL --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" mknod /tmp/n c 1 3
  ctr_wait "$b"
  wait_advice "$b" "--cap-drop=ALL --cap-add=MKNOD"
  wait_advice "$a" "--cap-drop=ALL --cap-add=CHOWN" 3
  daemon_stop TERM
  daemon_start
  out=$(profile_names)
  assert_contains "$out" "$a" "profiles after the second restart"
  assert_contains "$out" "$b" "profiles after the second restart"
  wait_advice "$b" "--cap-drop=ALL --cap-add=MKNOD" 3
}

# SIGKILL loses at most one flush interval: a container that ended more than
# one interval before the kill is on disk. (Nothing asks the daemon before
# the kill: a question would flush.)
test_daemon_sigkill_keeps_flushed() {
  require_daemon_prereqs
  daemon_start
  local name
  name=$(unique_name d-killed)
  ctr_start "$name" --cap-add=ALL --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" sh -c 'touch /tmp/x && chown 1000 /tmp/x'
  ctr_wait "$name"
  sleep 2.5 # > the 1 s flush interval, with room for a slow flush
  daemon_stop KILL
  daemon_start
  wait_advice "$name" "--cap-drop=ALL --cap-add=CHOWN" 3
}

# A corrupt profile file: the daemon starts, says so on stderr, moves the
# file aside (*.corrupt-*) and keeps the other profiles.
test_daemon_corrupt_state_file() {
  require_daemon_prereqs
  daemon_start
  local good bad bad_file n
  good=$(unique_name d-good)
  bad=$(unique_name d-bad)
  ctr_start "$good" --cap-add=ALL --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" sh -c 'touch /tmp/x && chown 1000 /tmp/x'
  ctr_start "$bad" --cap-add=ALL --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" mknod /tmp/n c 1 3
  ctr_wait "$good"
  ctr_wait "$bad"
  wait_advice "$good" "--cap-drop=ALL --cap-add=CHOWN"
  wait_advice "$bad" "--cap-drop=ALL --cap-add=MKNOD"
  daemon_stop TERM
  bad_file=$(grep -lF -- "\"$bad\"" "$DAEMON_STATE"/*.json | head -n 1)
  [[ -n "$bad_file" ]] || fail "no profile file naming $bad in $DAEMON_STATE"
  printf '{"schema": "capscope.profile/v1", "checks": [ garbage \x00\x01' >"$bad_file"

  daemon_start
  assert_contains "$(cat "$DAEMON_LOG")" "corrupt" "daemon's stderr about the corrupt file"
  assert_contains "$(cat "$DAEMON_LOG")" "$(basename "$bad_file")" "daemon's stderr names the corrupt file"
  [[ ! -e "$bad_file" ]] || fail "the corrupt file $bad_file is still in place"
  n=$(find "$DAEMON_STATE" -maxdepth 1 -name "$(basename "$bad_file").corrupt-*" | wc -l)
  assert_eq 1 "$n" "files $(basename "$bad_file").corrupt-* in the state dir"
  assert_contains "$(profile_names)" "$good" "profiles after starting on a corrupt state file"
  wait_advice "$good" "--cap-drop=ALL --cap-add=CHOWN" 3
}

# --- bad input --------------------------------------------------------------------

test_daemon_bad_input() {
  require_daemon_prereqs
  local rc=0 out err
  # No daemon there.
  err=$("$CAPSCOPE" profiles --socket /nonexistent.sock 2>&1 >/dev/null) || rc=$?
  echo "profiles --socket /nonexistent.sock: exit $rc: $err" >&2
  ((rc != 0)) || fail "capscope profiles --socket /nonexistent.sock exited 0"
  assert_eq 1 "$(wc -l <<<"$err")" "lines of error from profiles --socket /nonexistent.sock"
  assert_contains "$err" "no capscope daemon is listening on /nonexistent.sock" "error of profiles with no daemon"
  assert_contains "$err" "capscope daemon" "error of profiles with no daemon (how to start one)"

  daemon_start
  # Unknown container.
  rc=0
  out=$("$CAPSCOPE" show no-such-container --socket "$DAEMON_SOCK" 2>"$TEST_TMP/err") || rc=$?
  err=$(cat "$TEST_TMP/err")
  echo "show no-such-container: exit $rc: $err" >&2
  ((rc != 0)) || fail "capscope show no-such-container exited 0"
  assert_eq "" "$out" "stdout of show no-such-container"
  assert_eq 1 "$(wc -l <<<"$err")" "lines of error from show no-such-container"
  assert_contains "$err" "no-such-container" "error of show no-such-container"

  # A client that connects and hangs up without waiting for the answer (an
  # impatient script, a probe) must not hurt the daemon.
  /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.close()' "$DAEMON_SOCK"
  sleep 1
  daemon_alive "after a client connected and hung up without reading the answer"
  cs_profiles >/dev/null || fail "the daemon does not answer after a client hung up early"

  # A second daemon on the same socket.
  rc=0
  err=$(timeout 30 "$CAPSCOPE" daemon --state-dir "$TEST_TMP/state2" --socket "$DAEMON_SOCK" 2>&1) || rc=$?
  echo "second daemon: exit $rc: $err" >&2
  ((rc != 0 && rc != 124)) || fail "a second daemon on $DAEMON_SOCK was not refused (exit $rc)"
  assert_contains "$err" "already listening on $DAEMON_SOCK" "error of the second daemon"
  [[ -S "$DAEMON_SOCK" ]] || fail "the first daemon's socket is gone after the second daemon was refused"
  daemon_alive "after a second daemon on its socket was refused"
  cs_profiles >/dev/null || fail "the first daemon no longer answers after a second one was refused"
}

# --- metrics ----------------------------------------------------------------------

# /metrics has the chown container's CHOWN; Debian's Prometheus scrapes it
# and its query API returns it. Once the container is gone (and its profile
# saved and scraped), its series leave /metrics: the label cardinality
# follows the live containers.
test_daemon_metrics_prometheus() {
  require_daemon_prereqs
  local port name text line pport pdir ppid value="" start
  port=$(free_port)
  daemon_start --metrics "127.0.0.1:$port"
  name=$(unique_name d-metrics)
  ctr_start "$name" --cap-add=ALL --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" sh -c 'touch /tmp/x && chown 1000 /tmp/x && exec sleep 300'
  wait_advice "$name" "--cap-drop=ALL --cap-add=CHOWN"
  text=$(curl -fsS --max-time 10 "http://127.0.0.1:$port/metrics") || fail "curl http://127.0.0.1:$port/metrics failed"
  line=$(grep -E "^capscope_checks_total\{.*container=\"$name\".*cap=\"CHOWN\".*verdict=\"granted\"" <<<"$text" || true)
  echo "metrics line: $line" >&2
  [[ -n "$line" ]] || fail "no capscope_checks_total{container=\"$name\",cap=\"CHOWN\",verdict=\"granted\"} in /metrics: $(_lib_abbrev "$(grep capscope_checks_total <<<"$text" | head -n 5)")"
  (("${line##* }" >= 1)) || fail "capscope_checks_total for $name CHOWN is ${line##* }"
  for m in capscope_lost_events_total capscope_scopes_tracked capscope_profile_flushes_total; do
    grep -q "^$m" <<<"$text" || fail "no $m in /metrics"
  done

  # A real Prometheus.
  command -v prometheus >/dev/null || skip "prometheus not installed (scripts/setup.sh installs it); /metrics itself was checked"
  pport=$(free_port)
  pdir="$TEST_TMP/prometheus"
  mkdir -p "$pdir/data"
  cat >"$pdir/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: capscope
    static_configs:
      - targets: ['127.0.0.1:$port']
EOF
  prometheus --config.file="$pdir/prometheus.yml" --storage.tsdb.path="$pdir/data" \
    --web.listen-address="127.0.0.1:$pport" >"$pdir/log" 2>&1 &
  ppid=$!
  bg_track "$ppid"
  start=$(now_ms)
  while (($(now_ms) - start < 30000)); do
    kill -0 "$ppid" 2>/dev/null || fail "prometheus exited: $(_lib_abbrev "$(tail -n 3 "$pdir/log")")"
    value=$(curl -fsS --max-time 5 -G "http://127.0.0.1:$pport/api/v1/query" \
      --data-urlencode "query=sum(capscope_checks_total{cap=\"CHOWN\",container=\"$name\"})" 2>/dev/null |
      json_get - 'd["data"]["result"][0]["value"][1] if d["data"]["result"] else ""' 2>/dev/null || true)
    [[ -n "$value" ]] && break
    sleep 0.5
  done
  echo "prometheus: capscope_checks_total{cap=CHOWN,container=$name} = ${value:-<none>} after $(($(now_ms) - start)) ms" >&2
  bg_stop "$ppid"
  [[ -n "$value" ]] || fail "Prometheus had no capscope_checks_total{cap=\"CHOWN\",container=\"$name\"} within 30 s (log: $(_lib_abbrev "$(tail -n 3 "$pdir/log")"))"
  /usr/bin/python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 1 else 1)' "$value" ||
    fail "Prometheus says capscope_checks_total{cap=\"CHOWN\",container=\"$name\"} = $value, expected >= 1"
  metrics_series_leave "$port" "$name"
}

# metrics_series_leave PORT NAME: stop container NAME; its series must leave
# the daemon's /metrics (after the grace of ten 1 s flushes and a scrape)
# while its profile stays.
metrics_series_leave() {
  local port=$1 name=$2 start text=""
  timeout 60 podman rm -f -t 0 "$name" >/dev/null || fail "podman rm $name failed"
  start=$(now_ms)
  while (($(now_ms) - start < 40000)); do
    text=$(curl -fsS --max-time 10 "http://127.0.0.1:$port/metrics") || fail "curl /metrics failed"
    grep -q "container=\"$name\"" <<<"$text" || break
    sleep 1
  done
  echo "series of $name left /metrics after $(($(now_ms) - start)) ms" >&2
  ! grep -q "container=\"$name\"" <<<"$text" ||
    fail "the series of container $name are still in /metrics 40 s after it was removed"
  cs_show "$name" docker >/dev/null || fail "the profile of $name is gone with its series"
}

# --- deploy/ ----------------------------------------------------------------------

# unit_value KEY: the value of KEY= in deploy/capscope.service (last wins).
unit_value() {
  sed -nE "s/^[[:space:]]*$1=(.*)$/\1/p" "$REPO_ROOT/deploy/capscope.service" | tail -n 1
}

# caps_words LIST: "CAP_A CAP_B" / "a,b" -> sorted "A B" without CAP_.
caps_words() {
  tr ',[:blank:]' '\n' <<<"$1" | sed -E 's/^[+-]?//; s/^(cap_|CAP_)//' | tr '[:lower:]' '[:upper:]' | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//'
}

deploy_caps_sorted() {
  caps_words "${DEPLOY_CAPS[*]}"
}

# setpriv_caps: "+bpf,+perfmon,..." for setpriv.
setpriv_caps() {
  local c out=""
  for c in "${DEPLOY_CAPS[@]}"; do out+=",+${c,,}"; done
  echo "${out#,}"
}

# The unit: what it grants is exactly the measured set; hardening present;
# `systemd-analyze verify` is clean.
test_deploy_unit_verify() {
  local unit="$REPO_ROOT/deploy/capscope.service" root out rc=0
  [[ -f "$unit" ]] || fail "no deploy/capscope.service"
  assert_eq simple "$(unit_value Type)" "Type="
  assert_contains "$(unit_value ExecStart)" "/usr/local/bin/capscope daemon" "ExecStart="
  assert_eq "$(deploy_caps_sorted)" "$(caps_words "$(unit_value CapabilityBoundingSet)")" "CapabilityBoundingSet= (the measured set)"
  assert_eq "$(deploy_caps_sorted)" "$(caps_words "$(unit_value AmbientCapabilities)")" "AmbientCapabilities= (the measured set)"
  assert_eq yes "$(unit_value NoNewPrivileges)" "NoNewPrivileges="
  assert_eq strict "$(unit_value ProtectSystem)" "ProtectSystem="
  assert_contains "$(unit_value ReadWritePaths)" "/var/lib/capscope" "ReadWritePaths="
  [[ -n "$(unit_value RuntimeDirectory)" ]] || fail "no RuntimeDirectory= in the unit"

  command -v systemd-analyze >/dev/null || skip "systemd-analyze not installed (apt-get install systemd); the unit's keys were checked"
  # Offline, in a scratch root: the host's unit files, the unit, and a
  # stand-in for /usr/local/bin/capscope (verify checks it is executable).
  root="$TEST_TMP/root"
  mkdir -p "$root/etc/systemd/system" "$root/usr/local/bin" "$root/usr/lib/systemd"
  [[ -d /usr/lib/systemd/system ]] || skip "no /usr/lib/systemd/system on this host for systemd-analyze verify --root"
  cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
  cp "$unit" "$root/etc/systemd/system/capscope.service"
  printf '#!/bin/sh\nexit 0\n' >"$root/usr/local/bin/capscope"
  chmod 0755 "$root/usr/local/bin/capscope"
  out=$(SYSTEMD_LOG_LEVEL=notice timeout 60 systemd-analyze verify --root="$root" /etc/systemd/system/capscope.service 2>&1) || rc=$?
  echo "systemd-analyze verify: exit $rc: $out" >&2
  if ((rc != 0)) && grep -qiE "not been booted with systemd|Failed to (connect|initialize)|Operation not permitted" <<<"$out"; then
    skip "systemd-analyze verify cannot run here: $(_lib_abbrev "$out")"
  fi
  assert_eq 0 "$rc" "exit status of systemd-analyze verify (output: $out)"
  assert_eq "" "$out" "systemd-analyze verify output (warnings)"
  # For the log: systemd's own exposure estimate of the unit.
  timeout 60 systemd-analyze security --offline=true --root="$root" /etc/systemd/system/capscope.service 2>&1 | tail -n 1 >&2 || true
}

# The set in DEPLOY_CAPS is what capscope itself measures: the daemon,
# recorded while it traces a container, uses exactly these in its own
# process; any other capability in the recording belongs to the
# `podman inspect` it runs for names (and is not granted: names then come
# from conmon's command line).
test_deploy_measured_caps() {
  require_daemon_prereqs
  local out="$TEST_TMP/daemon-profile.json" err="$TEST_TMP/record.err" rec name rc=0 own other
  name=$(unique_name d-measure)
  run_capscope record --format json -o "$out" --duration 6s -- \
    "$CAPSCOPE" daemon --state-dir "$TEST_TMP/state" --socket "$TEST_TMP/m.sock" --flush-interval 1s \
    --metrics "127.0.0.1:$(free_port)" 2>"$err" &
  rec=$!
  bg_track "$rec"
  wait_for_text "$err" "tracing all containers" 20 || fail "the recorded daemon did not start tracing: $(_lib_abbrev "$(cat "$err")")"
  ctr_start "$name" --cap-add=ALL --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" sh -c 'touch /tmp/x && chown 1000 /tmp/x'
  ctr_wait "$name"
  timeout 10 "$CAPSCOPE" profiles --socket "$TEST_TMP/m.sock" >&2 || true
  wait_pid_for "$rec" 30
  rc=$WAIT_RC
  cat "$err" >&2
  assert_eq 0 "$rc" "exit status of capscope record --duration 6s -- capscope daemon"
  # The recorded daemon did its job.
  grep -lF -- "\"$name\"" "$TEST_TMP/state"/*.json >/dev/null || fail "the recorded daemon wrote no profile for $name"
  read -r own other < <(/usr/bin/python3 - "$out" "$CAPSCOPE" <<'PY'
import json, os, sys
p = json.load(open(sys.argv[1]))
me = os.path.realpath(sys.argv[2])
own, other = set(), {}
for c in p["checks"]:
    if c["class"] != "needed" or not c.get("granted"):
        continue
    # The daemon limiting itself after attaching (capset, PR_CAPBSET_DROP)
    # needs SETPCAP only when started as plain root; the unit and the pod
    # set those limits from outside, so it is not part of what they grant.
    if set(c.get("syscalls", [])) <= {"capset", "prctl"}:
        continue
    for exe in c.get("executables", []):
        if os.path.realpath(exe) == me:
            own.add(c["cap"])
        else:
            other.setdefault(c["cap"], set()).add(os.path.basename(exe))
print(",".join(sorted(own)) or "-", ";".join("%s:%s" % (k, "+".join(sorted(v))) for k, v in sorted(other.items())) or "-")
PY
  )
  echo "measured: capscope's own: $own; by its helpers: $other; advice: $(json_get "$out" 'd["advice"]')" >&2
  assert_eq "$(deploy_caps_sorted)" "$(caps_words "$own")" "capabilities the daemon's own process used (what deploy/ grants)"
  # Anything else must come from the podman CLI the daemon runs for names.
  if [[ "$other" != "-" ]]; then
    local entry
    IFS=';' read -ra entries <<<"$other"
    for entry in "${entries[@]}"; do
      [[ "${entry#*:}" =~ ^(podman|timeout|sh|\+)+$ ]] ||
        fail "capability ${entry%%:*} used by ${entry#*:} in the daemon's process tree: not in deploy/'s set and not the podman CLI"
    done
  fi
}

# DESIGN.md: "After attaching it keeps only the capabilities it needs". A
# daemon started as plain root holds no more than deploy/'s set once it
# says it is tracing.
test_deploy_daemon_drops_capabilities() {
  require_daemon_prereqs
  require_cmd capsh
  local set value extra
  daemon_start
  for set in CapEff CapPrm CapBnd; do
    value=$(awk -v k="$set:" '$1 == k { print $2 }' "/proc/$DAEMON_PID/status")
    extra=$(comm -23 <(caps_words "$(capsh --decode="$value" | sed 's/^.*=//')" | tr ' ' '\n') \
      <(deploy_caps_sorted | tr ' ' '\n') | tr '\n' ' ')
    [[ -z "$extra" ]] || fail "the running daemon's $set holds more than deploy/'s set (${DEPLOY_CAPS[*]}): also $(wc -w <<<"$extra") more, e.g. $(cut -d' ' -f1-5 <<<"$extra")"
  done
}

# The unit's set, for real: the daemon under setpriv with exactly the
# unit's bounding, inheritable and ambient sets and no_new_privs traces a
# container correctly.
test_deploy_setpriv_caps() {
  require_daemon_prereqs
  require_cmd setpriv capsh
  local caps name pid eff
  caps=$(setpriv_caps)
  DAEMON_PREFIX=(setpriv --bounding-set=-all,"$caps" --inh-caps=-all,"$caps" --ambient-caps=-all,"$caps" --no-new-privs --)
  daemon_start
  # The daemon process (setpriv execs it): its capability sets.
  pid=$DAEMON_PID
  # Started with the unit's set; once tracing, it keeps a subset of it.
  local set value extra
  for set in CapEff CapBnd; do
    value=$(awk -v k="$set:" '$1 == k { print $2 }' "/proc/$pid/status")
    extra=$(comm -23 <(caps_words "$(capsh --decode="$value" | sed 's/^.*=//')" | tr ' ' '\n') \
      <(deploy_caps_sorted | tr ' ' '\n') | tr '\n' ' ')
    [[ -z "$extra" ]] || fail "the daemon's $set under setpriv holds more than the unit's set: $extra"
  done
  eff=$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")
  assert_contains "$(capsh --decode="$eff")" "cap_sys_ptrace" "the daemon keeps SYS_PTRACE"
  name=$(unique_name d-setpriv)
  ctr_start "$name" --cap-add=ALL --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" sh -c 'sleep 1; touch /tmp/x && chown 1000 /tmp/x'
  ctr_wait "$name"
  wait_advice "$name" "--cap-drop=ALL --cap-add=CHOWN"
  assert_no_setup_caps "$name"
}

# As systemd runs the unit: ProtectSystem=strict, ReadWritePaths= and
# RuntimeDirectory= put the daemon in a private mount namespace with a
# read-only / (emulated here with unshare -m), plus the unit's capabilities.
# It must still trace the host's containers.
test_deploy_unit_sandbox() {
  require_daemon_prereqs
  require_cmd setpriv unshare
  local caps name
  caps=$(setpriv_caps)
  DAEMON_STATE=$TEST_TMP/state
  mkdir -p "$DAEMON_STATE" "$TEST_TMP/run"
  DAEMON_SOCK=$TEST_TMP/run/capscope.sock
  DAEMON_PREFIX=(unshare -m --propagation slave -- sh -c '
    mount --bind "$1" "$1" && mount --bind "$2" "$2" && mount -o remount,bind,ro / &&
    shift 2 && exec "$@"' sandbox "$DAEMON_STATE" "$TEST_TMP/run"
    setpriv --bounding-set=-all,"$caps" --inh-caps=-all,"$caps" --ambient-caps=-all,"$caps" --no-new-privs --)
  daemon_start
  name=$(unique_name d-sandbox)
  ctr_start "$name" --cap-add=ALL --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" sh -c 'sleep 1; touch /tmp/x && chown 1000 /tmp/x'
  ctr_wait "$name"
  assert_host_mntns "$(cat "$DAEMON_LOG")" "in a private mount namespace (as systemd's ProtectSystem= puts it)"
  wait_advice "$name" "--cap-drop=ALL --cap-add=CHOWN"
}

# assert_host_mntns DAEMON_LOG_TEXT WHERE: the daemon (run with -v) logged
# the host's mount namespace as the host's, i.e. this shell's.
assert_host_mntns() {
  local host_ns seen
  host_ns=$(readlink /proc/self/ns/mnt | tr -dc 0-9)
  seen=$(sed -nE 's/.*host mount namespace ([0-9]+).*/\1/p' <<<"$1" | head -n 1)
  echo "host mount namespace: $host_ns; the daemon took: ${seen:-<not logged>}" >&2
  if [[ -n "$seen" && "$seen" != "$host_ns" ]]; then
    fail "the daemon $2 took its own mount namespace ($seen) for the host's ($host_ns): /proc/1/ns/mnt is unreadable here and it fell back to its own"
  fi
}

# kube_pod_setup: deploy/capscope-daemonset.yaml's pod template as a Pod for
# `podman kube play` (podman 4.3 plays Pods, not DaemonSets), with this
# test's state and run dirs as the hostPaths and the image
# localhost/capscope-daemon (busybox + this capscope). Translations for
# podman 4.3: hostPID (ignored before podman 4.5) becomes pidns=host in a
# containers.conf; seccompProfile Unconfined (not read) becomes its
# annotation; ports are not published on the host. Sets KUBE_POD,
# KUBE_CTR, KUBE_RUN, KUBE_YAML, KUBE_CONF.
kube_pod_setup() {
  require_daemon_prereqs
  command -v catatonit >/dev/null || [[ -x /usr/libexec/podman/catatonit ]] ||
    skip "catatonit not installed: podman kube play needs it for the pod's infra container (scripts/setup.sh installs it)"
  /usr/bin/python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml not installed"
  local manifest="$REPO_ROOT/deploy/capscope-daemonset.yaml" image
  [[ -f "$manifest" ]] || fail "no deploy/capscope-daemonset.yaml"
  image=$(bash "$REPO_ROOT/scripts/container-fixtures.sh" daemon-image "$CAPSCOPE") ||
    fail "building the daemon image failed"
  KUBE_POD="capscope-kube-$$"
  KUBE_CTR="$KUBE_POD-capscope"
  KUBE_RUN="$TEST_TMP/run"
  KUBE_YAML="$TEST_TMP/pod.yaml"
  KUBE_CONF="$TEST_TMP/containers.conf"
  mkdir -p "$TEST_TMP/state" "$KUBE_RUN"
  /usr/bin/python3 - "$manifest" "$KUBE_POD" "$image" "$TEST_TMP/state" "$KUBE_RUN" "$(deploy_caps_sorted)" >"$KUBE_YAML" <<'PY'
import sys, yaml
manifest, pod_name, image, state, run, want_caps = sys.argv[1:]
docs = [d for d in yaml.safe_load_all(open(manifest)) if d]
ds = [d for d in docs if d.get("kind") == "DaemonSet"]
if len(ds) != 1:
    sys.exit("expected one DaemonSet in the manifest, found %d" % len(ds))
tpl = ds[0]["spec"]["template"]
spec = tpl["spec"]
assert spec.get("hostPID") is True, "the pod template must have hostPID: true"
(c,) = spec["containers"]
sc = c["securityContext"]
caps = sc["capabilities"]
assert caps["drop"] == ["ALL"], "capabilities.drop must be [ALL]"
assert " ".join(sorted(caps["add"])) == want_caps, "capabilities.add %s != measured %s" % (caps["add"], want_caps)
assert not sc.get("privileged"), "privileged must be off"
mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
host = {v["name"]: v["hostPath"]["path"] for v in spec["volumes"]}
for need in ("/sys/kernel/btf", "/sys/fs/bpf", "/var/lib/capscope"):
    assert need in mounts.values(), "no volumeMount at " + need
assert "/sys/kernel/tracing" in mounts.values() or "/sys/kernel/debug" in mounts.values(), "no tracefs/debugfs mount"
for name, path in mounts.items():
    if path == "/var/lib/capscope":
        host[name] = state
    elif path.startswith("/run"):
        host[name] = run
for v in spec["volumes"]:
    v["hostPath"]["path"] = host[v["name"]]
c["image"] = image
c["ports"] = []  # kube play would publish them on the host
spec.pop("priorityClassName", None)
spec.pop("tolerations", None)
meta = {"name": pod_name, "labels": tpl["metadata"].get("labels", {}),
        "annotations": dict(tpl["metadata"].get("annotations", {}))}
if (sc.get("seccompProfile") or {}).get("type") == "Unconfined":
    meta["annotations"]["seccomp.security.alpha.kubernetes.io/pod"] = "unconfined"
c.setdefault("command", []).append("-v")
yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec},
               sys.stdout, sort_keys=False)
PY
  cat "$KUBE_YAML" >&2
  cat >"$KUBE_CONF" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
pidns = "host"
EOF
  on_exit "timeout 60 podman pod rm -f -t 0 $KUBE_POD >/dev/null 2>&1"
  local out rc=0
  out=$(CONTAINERS_CONF=$KUBE_CONF timeout 120 podman --runtime runc kube play "$KUBE_YAML" 2>&1) || rc=$?
  echo "podman kube play: exit $rc: $out" >&2
  assert_eq 0 "$rc" "exit status of podman --runtime runc kube play (output: $(_lib_abbrev "$out"))"
  # The daemon attaches and says so.
  local start logs=""
  start=$(now_ms)
  while (($(now_ms) - start < 30000)); do
    logs=$(podman logs "$KUBE_CTR" 2>&1 || true)
    grep -q "tracing all containers" <<<"$logs" && break
    sleep 0.3
  done
  echo "--- pod log:" >&2
  echo "$logs" >&2
  assert_contains "$logs" "tracing all containers" "the daemon's log in the pod"
  [[ -S "$KUBE_RUN/capscope.sock" ]] || fail "no socket in the pod's /run/capscope hostPath ($KUBE_RUN)"
}

# The DaemonSet's pod template runs as a Pod under podman kube play, with
# exactly the measured capabilities, and the daemon in it attaches.
test_deploy_kube_pod_starts() {
  kube_pod_setup
  local caps restarts
  caps=$(podman inspect --format '{{.EffectiveCaps}}' "$KUBE_CTR")
  assert_eq "$(deploy_caps_sorted)" "$(caps_words "$(tr -d '[]' <<<"$caps")")" "the pod's container's effective capabilities"
  sleep 2
  restarts=$(podman inspect --format '{{.RestartCount}}' "$KUBE_CTR")
  assert_eq 0 "$restarts" "restarts of the daemon container"
  assert_eq true "$(podman inspect --format '{{.State.Running}}' "$KUBE_CTR")" "the daemon container is running"
}

# ... and it traces the node's containers, attributed per container.
test_deploy_kube_pod_traces() {
  kube_pod_setup
  local name pidns_pod
  pidns_pod=$(readlink "/proc/$(podman inspect --format '{{.State.Pid}}' "$KUBE_CTR")/ns/pid")
  assert_eq "$(readlink /proc/self/ns/pid)" "$pidns_pod" "the daemon pod's PID namespace (hostPID)"
  DAEMON_SOCK="$KUBE_RUN/capscope.sock"
  name=$(unique_name d-kube)
  ctr_start "$name" --cap-add=ALL --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" sh -c 'sleep 1; touch /tmp/x && chown 1000 /tmp/x'
  ctr_wait "$name"
  assert_host_mntns "$(podman logs "$KUBE_CTR" 2>&1)" "in the pod (hostPID, its own mount namespace)"
  wait_advice "$name" "--cap-drop=ALL --cap-add=CHOWN"
}
