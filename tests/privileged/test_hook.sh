# shellcheck shell=bash
# shellcheck disable=SC2016,SC2153  # container commands in single quotes; ROOTFS comes from container_fixtures
# `capscope hook`, the OCI hook: real podman (runc) reading a hooks
# directory (`podman --hooks-dir DIR`) that holds packaging/hooks.d/
# capscope.json rewritten to this build's binary. A container annotated
# io.capscope.profile=PATH is recorded from its first instruction and its
# profile written when it stops (or is killed); one without the
# annotation gets no tracer; bad annotations never stop the container
# unless io.capscope.required=true.
# The functions here run under lib.sh (see run.sh).

no_root_needed test_hook_stdin_errors

# hook_setup: HOOKS_DIR with the package's hooks.d entry pointing at
# $CAPSCOPE, OUT (a directory for profiles) and the podman fixtures.
hook_setup() {
  require_podman
  container_fixtures
  HOOKS_DIR=$TEST_TMP/hooks.d
  OUT=$TEST_TMP/out
  mkdir -p "$HOOKS_DIR" "$OUT"
  local bin
  bin=$(readlink -f "$CAPSCOPE")
  sed "s#\"/usr/bin/capscope\"#\"$bin\"#" "$REPO_ROOT/packaging/hooks.d/capscope.json" \
    >"$HOOKS_DIR/capscope.json"
  grep -qF "\"$bin\"" "$HOOKS_DIR/capscope.json" ||
    fail "packaging/hooks.d/capscope.json has no \"path\": \"/usr/bin/capscope\" to rewrite"
}

# hook_run NAME [PODMAN RUN OPTIONS...] -- CMD...: `podman --hooks-dir run`
# of the fixture rootfs (private /tmp); options before the rootfs, CMD after
# it. The caller registers podman_cleanup NAME first: hook_run often runs in
# a subshell ($(...), &), whose exit would run the test's cleanup.
hook_run() {
  local name=$1
  shift
  local opts=()
  while (($#)) && [[ $1 != -- ]]; do
    opts+=("$1")
    shift
  done
  shift
  timeout 120 podman --hooks-dir "$HOOKS_DIR" run --name "$name" "${PODMAN_RUN_OPTS[@]}" \
    --cap-add=ALL --tmpfs /tmp:notmpcopyup "${opts[@]}" --rootfs "$ROOTFS" "$@"
}

# wait_file PATH SECONDS: wait until PATH exists, or fail.
wait_file() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    [[ -e "$1" ]] && return 0
    sleep 0.1
  done
  fail "$1 was not written within $2 s (hook tracer log: $(cat "$1.log" 2>/dev/null; cat "$1.err" 2>/dev/null))"
}

# tracers: pids of this build's hook tracers (forked from `capscope hook`,
# named capscope-tracer).
tracers() {
  local bin p
  bin=$(readlink -f "$CAPSCOPE")
  for p in $(pgrep -x capscope-tracer); do
    [[ "$(readlink "/proc/$p/exe" 2>/dev/null)" == "$bin" ]] && echo "$p"
  done
  return 0
}

# wait_chowned NAME: wait until container NAME has logged "chowned" (its
# command's chown is done), or fail.
wait_chowned() {
  local i
  for ((i = 0; i < 300; i++)); do
    [[ "$(podman logs "$1" 2>/dev/null)" == *chowned* ]] && return 0
    sleep 0.1
  done
  fail "the container never chowned"
}

# hook_tracer_of NAME: TRACER_PID, the hook tracer of container NAME (from
# its pid file), or fail.
hook_tracer_of() {
  local id
  id=$(podman inspect --format '{{.Id}}' "$1") || fail "podman inspect $1 failed"
  TRACER_PID=$(cat "/run/capscope/hooks/$id.pid") || fail "no pid file for the tracer of $1"
  [[ " $(tracers | tr '\n' ' ') " == *" $TRACER_PID "* ]] ||
    fail "pid file names $TRACER_PID, which is no hook tracer"
}

# advice_of PROFILE: "CHOWN,MKNOD" (advice.add of a profile).
advice_of() {
  json_get "$1" 'd["advice"]["add"]'
}

# A container that chowns a file and binds port 80: exactly CHOWN and
# NET_BIND_SERVICE, in the profile (valid against the schema, named by
# podman's id and name), in the docker and k8s files io.capscope.format
# asks for,
# and in `capscope advise PROFILE`; none of runc's setup.
test_hook_records_container() {
  hook_setup
  local name out rc=0 id
  name=$(unique_name hook-rec)
  podman_cleanup "$name"
  out=$(hook_run "$name" --rm --annotation "io.capscope.profile=$OUT/web.json" \
    --annotation 'io.capscope.format=docker k8s' -- \
    sh -c 'touch /tmp/x && chown 1000 /tmp/x && stat -c %u /tmp/x && nc -l -p 80 & sleep 1; kill %1' 2>&1) || rc=$?
  echo "podman run: exit $rc, output: $out" >&2
  assert_eq 0 "$rc" "exit status of the hooked container"
  assert_eq 1000 "$out" "owner of /tmp/x after the chown in the hooked container"
  # poststop waits for the tracer, so the profile is normally there when
  # podman returns (podman's own cleanup may still be racing: bounded wait).
  [[ -f "$OUT/web.json" ]] || echo "note: no profile yet when podman run --rm returned" >&2
  wait_file "$OUT/web.json" 30
  cat "$OUT/web.json" >&2
  assert_eq "CHOWN,NET_BIND_SERVICE" "$(advice_of "$OUT/web.json")" "advice.add of the hook's profile"
  assert_eq "container podman $name" "$(json_get "$OUT/web.json" '(d["workload"]["kind"], d["workload"]["runtime"], d["workload"]["name"])')" \
    "the profile's workload (kind runtime name)"
  id=$(json_get "$OUT/web.json" 'd["workload"]["id"]')
  [[ "$id" =~ ^[0-9a-f]{64}$ ]] || fail "the profile's workload id '$id' is not podman's container id"
  assert_eq "--cap-drop=ALL --cap-add=CHOWN --cap-add=NET_BIND_SERVICE" "$(cat "$OUT/web.docker")" \
    "the docker advice written next to the profile (io.capscope.format=docker)"
  assert_contains "$(cat "$OUT/web.k8s")" "add: [CHOWN, NET_BIND_SERVICE]" \
    "the k8s securityContext written next to the profile"
  assert_eq "--cap-drop=ALL --cap-add=CHOWN --cap-add=NET_BIND_SERVICE" \
    "$(run_capscope advise "$OUT/web.json" --format docker)" "capscope advise of the hook's profile"
  # The container ran with --cap-add=ALL: the hook read what it held.
  assert_contains "$(json_get "$OUT/web.json" 'd["held_unused"]')" "SYS_ADMIN" "held_unused of a --cap-add=ALL container"
  [[ ! -e "$OUT/web.json.err" ]] || fail "an error file was written: $(cat "$OUT/web.json.err")"
  /usr/bin/python3 "$REPO_ROOT/tests/unit/validate_schema.py" "$OUT" >&2 ||
    fail "the hook's profile does not match schema/profile.schema.json"
}

# Two hooked containers running at the same time, each with its own
# tracer: each profile has only its own container's capability.
test_hook_two_containers_at_once() {
  hook_setup
  local a b pa pb rca=0 rcb=0
  a=$(unique_name hook-two-a)
  b=$(unique_name hook-two-b)
  # Each waits for the other to be running before it acts and ends.
  podman_cleanup "$a" "$b"
  # (trap - EXIT: the subshells must not run the test's cleanup.)
  (
    trap - EXIT
    hook_run "$a" --rm --annotation "io.capscope.profile=$OUT/a.json" -- \
      sh -c 'touch /tmp/x && chown 1000 /tmp/x && sleep 4'
  ) >"$TEST_TMP/a.out" 2>&1 &
  pa=$!
  (
    trap - EXIT
    hook_run "$b" --rm --annotation "io.capscope.profile=$OUT/b.json" -- \
      sh -c 'mknod /tmp/n c 1 3 && sleep 4'
  ) >"$TEST_TMP/b.out" 2>&1 &
  pb=$!
  bg_track "$pa"
  bg_track "$pb"
  # Both tracers at once, before either container ends.
  local i n=0
  for ((i = 0; i < 600; i++)); do
    n=$(tracers | wc -l)
    ((n >= 2)) && break
    sleep 0.05
  done
  echo "tracers seen at once: $n" >&2
  ((n >= 2)) || fail "never saw two hook tracers at once (saw $n)"
  wait "$pa" || rca=$?
  wait "$pb" || rcb=$?
  cat "$TEST_TMP/a.out" "$TEST_TMP/b.out" >&2
  assert_eq "0 0" "$rca $rcb" "exit status of the two hooked containers"
  wait_file "$OUT/a.json" 30
  wait_file "$OUT/b.json" 30
  assert_eq "CHOWN" "$(advice_of "$OUT/a.json")" "advice of $a (chown)"
  assert_eq "MKNOD" "$(advice_of "$OUT/b.json")" "advice of $b (mknod)"
  assert_eq "$a $b" "$(json_get "$OUT/a.json" 'd["workload"]["name"]') $(json_get "$OUT/b.json" 'd["workload"]["name"]')" \
    "each profile names its own container"
}

# A container killed with `podman kill` (SIGKILL to its init) still gets
# its profile, with what it did before, `podman exec` included.
test_hook_killed_container() {
  hook_setup
  local name
  name=$(unique_name hook-kill)
  podman_cleanup "$name"
  hook_run "$name" -d --annotation "io.capscope.profile=$OUT/k.json" \
    --annotation io.capscope.checkpoint=0 -- \
    sh -c 'touch /tmp/x && chown 1000 /tmp/x && echo chowned && sleep 1000' >/dev/null
  wait_chowned "$name"
  timeout 60 podman exec "$name" mknod /tmp/n c 1 3 || fail "podman exec mknod failed"
  [[ ! -e "$OUT/k.json" ]] || fail "a profile was written while the container still ran"
  timeout 60 podman kill "$name" >/dev/null
  wait_file "$OUT/k.json" 30
  assert_eq "CHOWN,MKNOD" "$(advice_of "$OUT/k.json")" "advice of the killed container (chown by its command, mknod by podman exec)"
  ctr_wait "$name"
  assert_eq 137 "$CTR_RC" "exit status of the killed container"
}

# The tracer stopped by SIGTERM (a shutdown) while the container runs
# still writes what it recorded.
test_hook_tracer_sigterm_writes() {
  hook_setup
  local name pid
  name=$(unique_name hook-term)
  podman_cleanup "$name"
  hook_run "$name" -d --annotation "io.capscope.profile=$OUT/t.json" -- \
    sh -c 'touch /tmp/x && chown 1000 /tmp/x && echo chowned && sleep 1000' >/dev/null
  wait_chowned "$name"
  hook_tracer_of "$name"
  pid=$TRACER_PID
  kill -TERM "$pid"
  wait_file "$OUT/t.json" 30
  assert_eq "CHOWN" "$(advice_of "$OUT/t.json")" "advice written on SIGTERM"
  assert_eq running "$(podman inspect --format '{{.State.Status}}' "$name")" "the container after its tracer's SIGTERM"
}

# A tracer killed without warning (SIGKILL: no chance to write) while its
# container runs leaves the last checkpoint (io.capscope.checkpoint=1s): a
# valid profile with what the container did before it, and the container
# and its poststop are unaffected.
test_hook_checkpoint_survives_sigkill() {
  hook_setup
  local name i pid
  name=$(unique_name hook-ckpt)
  podman_cleanup "$name"
  hook_run "$name" -d --annotation "io.capscope.profile=$OUT/c.json" \
    --annotation io.capscope.checkpoint=1s -- \
    sh -c 'touch /tmp/x && chown 1000 /tmp/x && echo chowned && sleep 1000' >/dev/null
  wait_chowned "$name"
  # A checkpoint taken after the chown: the file's mtime passes the
  # chown's time by more than the checkpoint interval.
  local t0
  t0=$(date +%s)
  for ((i = 0; i < 300; i++)); do
    [[ -e "$OUT/c.json" ]] && (($(stat -c %Y "$OUT/c.json") >= t0 + 2)) && break
    sleep 0.1
  done
  if [[ ! -e "$OUT/c.json" ]] || (($(stat -c %Y "$OUT/c.json") < t0 + 2)); then
    fail "no checkpoint written 2 s after the chown within 30 s (interval 1s)"
  fi
  hook_tracer_of "$name"
  pid=$TRACER_PID
  kill -KILL "$pid"
  assert_eq "CHOWN" "$(advice_of "$OUT/c.json")" "advice in the checkpoint left by a SIGKILLed tracer"
  run_capscope advise "$OUT/c.json" --format docker >/dev/null ||
    fail "capscope advise cannot read the checkpoint"
  assert_eq running "$(podman inspect --format '{{.State.Status}}' "$name")" "the container after its tracer's SIGKILL"
  timeout 60 podman kill "$name" >/dev/null
  ctr_wait "$name"
  assert_eq CHOWN "$(advice_of "$OUT/c.json")" "the checkpoint after the container ended (nobody rewrote it)"
}

# No annotation: the hook is not run, no tracer starts. With it: exactly
# one tracer for the container, named by its pid file.
test_hook_no_annotation_no_tracer() {
  hook_setup
  local plain marked before id pid i n
  plain=$(unique_name hook-plain)
  marked=$(unique_name hook-marked)
  podman_cleanup "$plain" "$marked"
  before=$(tracers | sort | tr '\n' ' ')
  hook_run "$plain" -d -- sleep 30 >/dev/null
  id=$(podman inspect --format '{{.Id}}' "$plain")
  sleep 1
  assert_eq "$before" "$(tracers | sort | tr '\n' ' ')" "hook tracers after starting a container without the annotation"
  [[ ! -e "/run/capscope/hooks/$id.pid" ]] || fail "a tracer pid file exists for the unannotated container"
  timeout 60 podman rm -f -t 0 "$plain" >/dev/null
  # The control: the annotated container gets its tracer.
  hook_run "$marked" -d --annotation "io.capscope.profile=$OUT/m.json" -- sleep 30 >/dev/null
  id=$(podman inspect --format '{{.Id}}' "$marked")
  pid=$(cat "/run/capscope/hooks/$id.pid") || fail "no pid file for the annotated container's tracer"
  n=0
  for i in $(tracers); do
    [[ -z "$before" || " $before " != *" $i "* ]] && n=$((n + 1))
  done
  assert_eq 1 "$n" "new hook tracers for the annotated container"
  [[ " $(tracers | tr '\n' ' ') " == *" $pid "* ]] || fail "its pid file names $pid, which is no hook tracer"
  timeout 60 podman rm -f -t 0 "$marked" >/dev/null
  wait_file "$OUT/m.json" 30
  assert_eq "" "$(advice_of "$OUT/m.json")" "advice of a container that only slept"
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  ! kill -0 "$pid" 2>/dev/null || fail "the tracer $pid still runs after its container was removed"
}

# Bad annotations: the container still runs and the reason is in
# PROFILE.err; with io.capscope.required=true the container is refused
# and podman shows the reason.
test_hook_bad_annotation() {
  hook_setup
  local a b c out rc=0
  a=$(unique_name hook-bad-a)
  b=$(unique_name hook-bad-b)
  c=$(unique_name hook-bad-c)
  podman_cleanup "$a" "$b" "$c"
  out=$(hook_run "$a" --rm --annotation "io.capscope.profile=$OUT/a.json" \
    --annotation io.capscope.format=bogus -- echo ran 2>&1) || rc=$?
  assert_eq "0 ran" "$rc $out" "a container with a bad io.capscope.format (exit, output)"
  [[ ! -e "$OUT/a.json" ]] || fail "a profile was written for a rejected request"
  assert_contains "$(cat "$OUT/a.json.err")" "io.capscope.format=bogus: unknown format 'bogus'" "the error file"

  rc=0
  out=$(hook_run "$b" --rm --annotation "io.capscope.profile=$TEST_TMP/no/such/dir/b.json" -- echo ran 2>&1) || rc=$?
  assert_eq "0 ran" "$rc $out" "a container whose profile cannot be written (exit, output)"

  rc=0
  out=$(hook_run "$c" --rm --annotation "io.capscope.profile=$TEST_TMP/no/such/dir/c.json" \
    --annotation io.capscope.required=true -- echo ran 2>&1) || rc=$?
  echo "required: exit $rc, output: $out" >&2
  ((rc != 0)) || fail "io.capscope.required=true with an unwritable profile: the container ran"
  assert_not_contains "$out" "ran" "the output of the refused container"
  assert_contains "$out" "capscope hook: container" "podman's error (the hook's stderr)"
  assert_contains "$out" "no/such/dir does not exist" "podman's error (the hook's stderr)"
}

# Run by hand: one-line errors, and never a failure without the annotation
# asking for it. Needs no root: no tracer is started.
test_hook_stdin_errors() {
  local out rc=0
  out=$(echo 'not json' | "$CAPSCOPE" hook 2>&1) || rc=$?
  assert_eq "0" "$rc" "exit status of capscope hook on garbage"
  assert_eq "capscope hook: the OCI state on stdin is not a JSON object" "$out" "its message"
  rc=0
  out=$(printf '{"ociVersion":"1.0.2","id":"abc","status":"running","pid":1,"annotations":{"io.capscope.profile":"%s","io.capscope.required":"true"}}' "$TEST_TMP/x.json" |
    "$CAPSCOPE" hook 2>&1) || rc=$?
  assert_eq "1" "$rc" "exit status at an unsupported stage with io.capscope.required=true"
  assert_contains "$out" "status 'running'" "its message"
  assert_contains "$(cat "$TEST_TMP/x.json.err")" "status 'running'" "the error file next to the profile"
  rc=0
  out=$("$CAPSCOPE" hook --ready-timeout soon </dev/null 2>&1) || rc=$?
  assert_eq "125" "$rc" "exit status with a bad --ready-timeout"
  assert_contains "$out" "bad --ready-timeout 'soon'" "its message"
}

# A tracer that does not attach in time (--ready-timeout in the hooks.d
# args) is stopped and the container runs unrecorded, the reason in
# PROFILE.err; no tracer is left behind.
test_hook_attach_timeout() {
  hook_setup
  local name out rc=0 before
  name=$(unique_name hook-slow)
  podman_cleanup "$name"
  sed -i 's#"args": \["capscope", "hook"\]#"args": ["capscope", "hook", "--ready-timeout", "1ms"]#' "$HOOKS_DIR/capscope.json"
  grep -qF -- '"--ready-timeout", "1ms"' "$HOOKS_DIR/capscope.json" || fail "could not add --ready-timeout to the hooks.d args"
  before=$(tracers | sort | tr '\n' ' ')
  out=$(hook_run "$name" --rm --annotation "io.capscope.profile=$OUT/s.json" -- echo ran 2>&1) || rc=$?
  assert_eq "0 ran" "$rc $out" "a container whose tracer did not attach in time (exit, output)"
  assert_contains "$(cat "$OUT/s.json.err")" "the tracer did not attach within 1ms" "the error file"
  sleep 1
  [[ ! -e "$OUT/s.json" ]] || fail "a profile was written by a tracer that was stopped"
  assert_eq "$before" "$(tracers | sort | tr '\n' ' ')" "hook tracers left after the time limit"
}

# The container's command itself (its init, no shell before it) needs the
# capability at once and exits: recorded, because the tracer is attached
# before runc execs it.
test_hook_first_instruction() {
  hook_setup
  local name out rc=0
  name=$(unique_name hook-first)
  podman_cleanup "$name"
  out=$(hook_run "$name" --rm --annotation "io.capscope.profile=$OUT/f.json" -- chown 1000 /tmp 2>&1) || rc=$?
  assert_eq "0 " "$rc $out" "a container whose command is chown (exit, output)"
  wait_file "$OUT/f.json" 30
  assert_eq "CHOWN" "$(advice_of "$OUT/f.json")" "advice of a container whose first instruction chowns"
  assert_eq "1" "$(json_get "$OUT/f.json" 'sum(c["granted"] for c in d["checks"] if c["cap"] == "CHOWN" and c["class"] == "needed")')" \
    "CHOWN checks granted (the one chown)"
}

# The hook writes as root where an annotation says (CRI-O: whoever may
# create a pod): it never overwrites a file that is not a capscope
# profile, and with `capscope hook --dir DIR` accepts only paths under DIR
# (nor does it write PATH.err elsewhere).
test_hook_dir_and_overwrite() {
  hook_setup
  local a b c out rc=0
  a=$(unique_name hook-victim)
  b=$(unique_name hook-outside)
  c=$(unique_name hook-inside)
  podman_cleanup "$a" "$b" "$c"
  echo keep >"$TEST_TMP/victim"
  out=$(hook_run "$a" --rm --annotation "io.capscope.profile=$TEST_TMP/victim" -- chown 1000 /tmp 2>&1) || rc=$?
  assert_eq "0 " "$rc $out" "a container annotated with an existing non-profile file (exit, output)"
  sleep 1
  assert_eq keep "$(cat "$TEST_TMP/victim")" "the existing file after the hooked container"
  [[ ! -e "$TEST_TMP/victim.err" ]] || fail "an error file was written next to the refused path"

  sed -i "s#\"args\": \\[\"capscope\", \"hook\"\\]#\"args\": [\"capscope\", \"hook\", \"--dir\", \"$OUT\"]#" "$HOOKS_DIR/capscope.json"
  grep -qF -- "\"--dir\", \"$OUT\"" "$HOOKS_DIR/capscope.json" || fail "could not add --dir to the hooks.d args"
  rc=0
  out=$(hook_run "$b" --rm --annotation "io.capscope.profile=$TEST_TMP/outside.json" \
    --annotation io.capscope.format=bogus -- chown 1000 /tmp 2>&1) || rc=$?
  assert_eq "0 " "$rc $out" "a container whose profile is outside --dir (exit, output)"
  sleep 1
  [[ ! -e "$TEST_TMP/outside.json" && ! -e "$TEST_TMP/outside.json.err" ]] ||
    fail "a file was written outside --dir: $(ls "$TEST_TMP")"
  rc=0
  out=$(hook_run "$c" --rm --annotation "io.capscope.profile=$OUT/inside.json" -- chown 1000 /tmp 2>&1) || rc=$?
  assert_eq "0 " "$rc $out" "a container whose profile is under --dir (exit, output)"
  wait_file "$OUT/inside.json" 30
  assert_eq CHOWN "$(advice_of "$OUT/inside.json")" "advice of the container recorded under --dir"
}
