# shellcheck shell=bash
# The tools around profiles, on real recordings: merge, diff, record
# --expect (the CI gates), advise's errors, and caps PID.
# The functions here run under lib.sh (see run.sh).

PY=/usr/bin/python3

# mg_record PROFILE -- CMD...: record CMD as a JSON profile; CMD must succeed.
mg_record() {
  local profile=$1 rc=0
  shift
  run_capscope record --format json -o "$profile" "$@" >&2 || rc=$?
  assert_eq 0 "$rc" "exit status of capscope record $*"
  [[ -s "$profile" ]] || fail "no profile written to $profile"
}

# mg_run ARGS...: capscope ARGS; sets MG_RC, MG_OUT (stdout), MG_ERR.
mg_run() {
  MG_RC=0
  run_capscope "$@" >"$TEST_TMP/.mg.out" 2>"$TEST_TMP/.mg.err" || MG_RC=$?
  MG_OUT=$(cat "$TEST_TMP/.mg.out")
  MG_ERR=$(cat "$TEST_TMP/.mg.err")
  {
    echo "--- capscope $* => exit $MG_RC"
    echo "$MG_OUT"
    echo "--- stderr:"
    echo "$MG_ERR"
  } >&2
}

# Two runs of one command merge: union of capabilities, counts summed, runs
# counted; the output is a profile (parsed back) written atomically.
test_merge_runs_of_one_command() {
  [[ -x $PY ]] || skip "$PY missing"
  local a="$TEST_TMP/a.json" b="$TEST_TMP/b.json" m="$TEST_TMP/m.json"
  touch "$TEST_TMP/f1" "$TEST_TMP/f2"
  mg_record "$a" -- sh -c "chown 1000 '$TEST_TMP/f1'"
  mg_record "$b" -- sh -c "chown 1000 '$TEST_TMP/f2' && mknod '$TEST_TMP/n' c 1 3"
  mg_run merge "$a" "$b" -o "$m"
  assert_eq 0 "$MG_RC" "exit status of capscope merge"
  assert_eq "" "$MG_OUT" "merge -o FILE stdout"
  assert_eq "CHOWN,MKNOD|2|2|capscope.profile/v1" \
    "$(json_get "$m" '"|".join([",".join(d["advice"]["add"]), str(d["runs"]), str([c for c in d["checks"] if c["cap"] == "CHOWN" and c["class"] == "needed"][0]["granted"]), d["schema"]])')" \
    "the merged profile (advice|runs|CHOWN granted|schema)"
  # To stdout, and in a flags format.
  mg_run merge "$a" "$b" --format docker
  assert_eq "0:--cap-drop=ALL --cap-add=CHOWN --cap-add=MKNOD" "$MG_RC:$MG_OUT" "merge --format docker"
  # The merged profile is a profile: advise takes it.
  mg_run advise "$m" --format docker
  assert_eq "0:--cap-drop=ALL --cap-add=CHOWN --cap-add=MKNOD" "$MG_RC:$MG_OUT" "advise on the merged profile"
}

# Profiles of different workloads are refused unless --force.
test_merge_refuses_different_workloads() {
  local a="$TEST_TMP/a.json" b="$TEST_TMP/b.json"
  touch "$TEST_TMP/f"
  mg_record "$a" -- chown 1000 "$TEST_TMP/f"
  mg_record "$b" -- mknod "$TEST_TMP/n" c 1 3
  mg_run merge "$a" "$b"
  assert_eq 125 "$MG_RC" "exit status of merging two workloads"
  assert_eq "capscope: merge: profiles of different workloads ('command:chown' and 'command:mknod'); --force merges them anyway" \
    "$MG_ERR" "the refusal"
  assert_eq "" "$MG_OUT" "stdout of a refused merge"
  mg_run merge --force "$a" "$b" --format docker
  assert_eq "0:--cap-drop=ALL --cap-add=CHOWN --cap-add=MKNOD" "$MG_RC:$MG_OUT" "merge --force"
  # Bad input: one clear line, 125.
  echo '{"schema": "something/else"}' >"$TEST_TMP/bad.json"
  mg_run merge "$a" "$TEST_TMP/bad.json"
  assert_eq 125 "$MG_RC" "exit status of merging a non-profile"
  assert_contains "$MG_ERR" "capscope: merge: malformed profile $TEST_TMP/bad.json: not a capscope profile" "the error"
  assert_eq 1 "$(wc -l <<<"$MG_ERR")" "lines of the error"
  mg_run merge "$a" "$TEST_TMP/missing.json"
  assert_eq 125 "$MG_RC" "exit status of merging a missing file"
  assert_contains "$MG_ERR" "cannot read profile $TEST_TMP/missing.json" "the error"
}

# diff: exit 1 listing each new capability and what needed it (syscall,
# call site, executable); exit 0 when nothing is new.
test_diff_ci_gate() {
  local old="$TEST_TMP/old.json" new="$TEST_TMP/new.json"
  touch "$TEST_TMP/f"
  mg_record "$old" -- chown 1000 "$TEST_TMP/f"
  mg_record "$new" -- sh -c "chown 1000 '$TEST_TMP/f' && mknod '$TEST_TMP/n' c 1 3"
  mg_run diff "$old" "$new"
  assert_eq 1 "$MG_RC" "exit status of diff with a new capability"
  assert_contains "$MG_OUT" $'old advice: CHOWN\nnew advice: CHOWN, MKNOD\n' "diff output"
  assert_contains "$MG_OUT" "New capabilities:"$'\n'"  MKNOD: needed by mknodat at vfs_mknod, run by /usr/bin/mknod" "diff output"
  assert_contains "$MG_OUT" "FAIL: 1 capability beyond the old advice" "diff verdict"
  mg_run diff "$new" "$old"
  assert_eq 0 "$MG_RC" "exit status of diff with nothing new"
  assert_contains "$MG_OUT" "No longer needed: MKNOD" "diff output"
  assert_contains "$MG_OUT" "OK: nothing beyond the old advice" "diff verdict"
  mg_run diff "$old" "$old"
  assert_eq 0 "$MG_RC" "exit status of diff of a profile with itself"
  mg_run diff "$old" "$TEST_TMP/nope.json"
  assert_eq 125 "$MG_RC" "exit status of diff with a missing file"
  assert_contains "$MG_ERR" "capscope: diff: cannot read profile $TEST_TMP/nope.json" "the error"
}

# record --expect: 0 when nothing beyond LIST, 1 naming what needed the
# rest, the workload's own failure passes through, bad names are 125.
test_record_expect_ci_gate() {
  local f="$TEST_TMP/f"
  touch "$f"
  mg_run record --expect CHOWN --format docker -o - -- chown 1000 "$f"
  assert_eq "0:--cap-drop=ALL --cap-add=CHOWN" "$MG_RC:$MG_OUT" "record --expect CHOWN of a chown"
  mg_run record --expect cap_chown,MKNOD -o "$TEST_TMP/report" -- chown 1000 "$f"
  assert_eq 0 "$MG_RC" "record --expect with more than needed, CAP_ prefix and any case"
  mg_run record --expect '' -o "$TEST_TMP/report" -- chown 1000 "$f"
  assert_eq 1 "$MG_RC" "exit status of record --expect '' of a chown"
  assert_eq "capscope: record --expect: needs CHOWN beyond the expected set (nothing):
  CHOWN: needed by fchownat at setattr_prepare, run by /usr/bin/chown" "$MG_ERR" "the --expect failure"
  assert_eq 1000 "$(stat -c %u "$f")" "the chown still happened"
  # The workload's own failure wins.
  mg_run record --expect '' -o "$TEST_TMP/report" -- sh -c 'exit 3'
  assert_eq 3 "$MG_RC" "exit status of a failing workload under --expect"
  mg_run record --expect BOGUS -o "$TEST_TMP/report" -- true
  assert_eq 125 "$MG_RC" "exit status of --expect with an unknown name"
  assert_contains "$MG_ERR" "capscope: record: --expect: unknown capability 'BOGUS'; valid names: CHOWN, DAC_OVERRIDE" "the error"
}

# advise: offline on files, clear errors otherwise (daemon hook for names).
test_advise_errors() {
  local p="$TEST_TMP/p.json"
  touch "$TEST_TMP/f"
  mg_record "$p" -- chown 1000 "$TEST_TMP/f"
  mg_run advise "$p"
  assert_eq 0 "$MG_RC" "advise with the default format"
  assert_contains "$MG_OUT" $'Advice:\n  --cap-drop=ALL --cap-add=CHOWN\n' "the report on stdout"
  assert_contains "$MG_OUT" "Why each capability:" "the report"
  assert_eq "" "$MG_ERR" "advise stderr"
  mg_run advise "$p" --format yaml
  assert_eq 125 "$MG_RC" "advise with an unknown format"
  assert_contains "$MG_ERR" "unknown format 'yaml' (valid: report, json, docker, podman, nerdctl, compose, k8s, systemd, oci, capsh, kyverno, gatekeeper)" "the error"
  mg_run advise "$p" --format k8s --patch "$TEST_TMP/config.json"
  assert_eq 125 "$MG_RC" "advise --patch with a non-OCI format"
  assert_contains "$MG_ERR" "--patch writes an OCI config.json; use it with --format oci" "the error"
  mg_run advise no-such-thing-$$ --socket "$TEST_TMP/none.sock"
  assert_eq 125 "$MG_RC" "advise of an unknown name without a daemon"
  assert_contains "$MG_ERR" "no such profile file 'no-such-thing-$$'" "the error"
  assert_contains "$MG_ERR" "$TEST_TMP/none.sock" "the error names the socket"
  echo 'not json' >"$TEST_TMP/bad.json"
  mg_run advise "$TEST_TMP/bad.json"
  assert_eq 125 "$MG_RC" "advise of a malformed profile"
  assert_contains "$MG_ERR" "malformed profile $TEST_TMP/bad.json: invalid JSON" "the error"
  assert_eq 1 "$(wc -l <<<"$MG_ERR")" "lines of the error"
}

# caps PID: the five sets by name, for a process with a known set, and the
# container of a container process.
test_caps_pid() {
  require_cmd setpriv
  local pid
  setpriv --inh-caps=-all --bounding-set=-all,+chown,+kill -- sleep 30 &
  pid=$!
  bg_track "$pid"
  sleep 0.2
  mg_run caps "$pid"
  assert_eq 0 "$MG_RC" "exit status of caps PID"
  assert_contains "$MG_OUT" "$pid (sleep), uid 0/0/0/0" "caps header"
  assert_contains "$MG_OUT" "  effective    0x0000000000000021  CHOWN,KILL" "effective set"
  assert_contains "$MG_OUT" "  permitted    0x0000000000000021  CHOWN,KILL" "permitted set"
  assert_contains "$MG_OUT" "  inheritable  0x0000000000000000  (none)" "inheritable set"
  assert_contains "$MG_OUT" "  bounding     0x0000000000000021  CHOWN,KILL" "bounding set"
  assert_contains "$MG_OUT" "  ambient      0x0000000000000000  (none)" "ambient set"
  bg_stop "$pid"
  mg_run caps 12x
  assert_eq "125:capscope: caps: '12x' is not a process id" "$MG_RC:$MG_ERR" "caps with a bad pid"
  mg_run caps 4000000000
  assert_eq "125:capscope: caps: no process 4000000000" "$MG_RC:$MG_ERR" "caps of a missing process"
}

test_caps_pid_in_container() {
  require_podman
  container_fixtures
  local name pid id
  name=$(unique_name caps)
  ctr_start "$name" --cap-drop=ALL --cap-add=NET_BIND_SERVICE --rootfs "$ROOTFS" sleep 60
  pid=$(podman inspect --format '{{.State.Pid}}' "$name")
  id=$(podman inspect --format '{{.Id}}' "$name")
  mg_run caps "$pid"
  assert_eq 0 "$MG_RC" "exit status of caps PID for a container process"
  assert_contains "$MG_OUT" "  effective    0x0000000000000400  NET_BIND_SERVICE" "effective set in the container"
  assert_contains "$MG_OUT" "  container    podman $id ($name)" "the container"
}
