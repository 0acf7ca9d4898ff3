# shellcheck shell=bash
# `capscope verify` on real workloads: each run really happens under exactly
# the given set, so every test asserts capscope's verdict AND the workload's
# effect (an owner, a niceness, a bound port, a device node, bytes read).
# The functions here run under lib.sh (see run.sh).
# Workloads are `sh -c '...' sh ARG`: the single quotes are meant.
# shellcheck disable=SC2016

# verify_run ARGS...: `capscope verify ARGS` with the result on stdout
# (callers pass -o - --format ...). Sets:
#   VER_RC      exit status
#   VER_RESULT  the last line of stdout (the --format docker result)
#   VER_OUTPUT  stdout before it (the workload's own output, every run)
#   VER_ALL     all of stdout
#   VER_STDERR  stderr (per-run lines, the report, the workload's stderr)
# shellcheck disable=SC2034  # VER_* are read by the tests
verify_run() {
  local out="$TEST_TMP/.verify.stdout" err="$TEST_TMP/.verify.stderr"
  VER_RC=0
  run_capscope verify "$@" >"$out" 2>"$err" || VER_RC=$?
  VER_ALL=$(cat "$out")
  VER_RESULT=$(tail -n 1 "$out")
  VER_OUTPUT=$(sed '$d' "$out")
  VER_STDERR=$(cat "$err")
  {
    echo "--- capscope verify $*  => exit $VER_RC"
    echo "--- stdout:"
    cat "$out"
    echo "--- stderr:"
    cat "$err"
    echo "---"
  } >&2
}

# caps_of_advice "--cap-drop=ALL --cap-add=A --cap-add=B" -> "A,B"
caps_of_advice() {
  local flag caps=()
  for flag in $1; do
    [[ "$flag" == --cap-add=* ]] && caps+=("${flag#--cap-add=}")
  done
  local IFS=,
  printf '%s' "${caps[*]}"
}

# verdict_of CAP: the verdict column of CAP in the last report's
# "Each capability removed in turn" table.
verdict_of() {
  printf '%s\n' "$VER_STDERR" | awk -v cap="$1" '$1 == cap && NF >= 2 && $2 ~ /^(kept|unnecessary|ambiguous|replaced|flaky)$/ { v = $2 } END { print v }'
}

# record_then_minimize EXPECTED_ADVICE -- CMD...: record CMD, assert its
# advice, then `verify --minimize` exactly that advice: it must pass, keep
# every capability (never "unnecessary"), and prove the same set.
record_then_minimize() {
  local expected=$1 caps cap
  shift
  expect_advice "$expected" "$@"
  [[ "$1" == -- ]] && shift
  caps=$(caps_of_advice "$REC_ADVICE")
  verify_run --caps "$caps" --minimize --format docker -o - -- "$@"
  assert_eq 0 "$VER_RC" "verify --minimize of the advice ($caps)"
  assert_eq "$expected" "$VER_RESULT" "proven-minimal set"
  assert_contains "$VER_STDERR" "result   PASS with the given set" "verify report"
  assert_not_contains "$VER_STDERR" "unnecessary" "verify report"
  for cap in ${caps//,/ }; do
    local v
    v=$(verdict_of "$cap")
    [[ "$v" == kept || "$v" == ambiguous ]] || fail "$cap: verdict '$v', expected kept (or ambiguous)"
    # Its removal was really run, and failed or was flagged.
    assert_contains "$VER_STDERR" "without $cap (" "a run without $cap"
  done
}

# --- the exact sets ---------------------------------------------------------

# The workload sees exactly LIST in bounding, permitted and effective,
# nothing inheritable or ambient, and no no_new_privs (Docker's default);
# still uid 0. With --no-new-privs, no_new_privs too.
test_verify_sets_exact_caps() {
  verify_run --caps chown,CAP_NET_BIND_SERVICE -o - --format docker -- sh -c 'grep -E "^(Uid|Cap|NoNewPrivs)" /proc/self/status'
  assert_eq 0 "$VER_RC" "exit status"
  local want=0000000000000401 # CHOWN (0) + NET_BIND_SERVICE (10)
  assert_contains "$VER_OUTPUT" $'CapInh:\t0000000000000000' "inheritable set"
  assert_contains "$VER_OUTPUT" $'CapPrm:\t'"$want" "permitted set"
  assert_contains "$VER_OUTPUT" $'CapEff:\t'"$want" "effective set"
  assert_contains "$VER_OUTPUT" $'CapBnd:\t'"$want" "bounding set"
  assert_contains "$VER_OUTPUT" $'CapAmb:\t0000000000000000' "ambient set"
  assert_contains "$VER_OUTPUT" $'NoNewPrivs:\t0' "no_new_privs (off by default)"
  assert_contains "$VER_OUTPUT" $'Uid:\t0\t0\t0\t0' "still uid 0"
  assert_eq "--cap-drop=ALL --cap-add=CHOWN --cap-add=NET_BIND_SERVICE" "$VER_RESULT" "verified set"
  verify_run --caps chown --no-new-privs -o - --format docker -- sh -c 'grep -E "^(CapEff|NoNewPrivs)" /proc/self/status'
  assert_eq 0 "$VER_RC" "exit status with --no-new-privs"
  assert_contains "$VER_OUTPUT" $'NoNewPrivs:\t1' "no_new_privs with --no-new-privs"
  assert_contains "$VER_OUTPUT" $'CapEff:\t0000000000000001' "effective set with --no-new-privs"
}

# A seccomp filter installed without no_new_privs needs SYS_ADMIN (its
# NOAUDIT check decides): verify with no capabilities fails, as it would in
# a container started with --cap-drop=ALL; SYS_ADMIN passes; and with
# --no-new-privs (the kernel then does not ask) no capability is needed.
test_verify_seccomp_without_nnp() {
  require_helper seccomp_install
  verify_run --caps '' -o - --format docker -- "$HELPERS/seccomp_install"
  assert_eq 1 "$VER_RC" "exit status of verify --caps '' (seccomp filter without no_new_privs)"
  verify_run --caps SYS_ADMIN -o - --format docker -- "$HELPERS/seccomp_install"
  assert_eq 0 "$VER_RC" "exit status of verify --caps SYS_ADMIN"
  assert_eq "--cap-drop=ALL --cap-add=SYS_ADMIN" "$VER_RESULT" "verified set"
  verify_run --caps '' --no-new-privs -o - --format docker -- "$HELPERS/seccomp_install"
  assert_eq 0 "$VER_RC" "exit status of verify --caps '' --no-new-privs"
}

# With --user the set is carried over the uid switch as ambient caps.
test_verify_user_gets_ambient_set() {
  verify_run --caps NET_BIND_SERVICE --user 1000:1000 -o - --format docker -- sh -c 'grep -E "^(Uid|CapEff|CapBnd|CapAmb)" /proc/self/status'
  assert_eq 0 "$VER_RC" "exit status"
  assert_contains "$VER_OUTPUT" $'Uid:\t1000\t1000\t1000\t1000' "uid"
  assert_contains "$VER_OUTPUT" $'CapEff:\t0000000000000400' "effective set"
  assert_contains "$VER_OUTPUT" $'CapBnd:\t0000000000000400' "bounding set"
  assert_contains "$VER_OUTPUT" $'CapAmb:\t0000000000000400' "ambient set"
}

# --- the record workloads: the advice passes and every cap is kept ----------

test_verify_chown_advice_minimal() {
  local f="$TEST_TMP/file"
  touch "$f"
  record_then_minimize "--cap-drop=ALL --cap-add=CHOWN" -- chown 1000 "$f"
  assert_eq 1000 "$(stat -c %u "$f")" "owner of $f"
  assert_contains "$VER_STDERR" "denied: CHOWN (fchownat in setattr_prepare)" "what the run without CHOWN was denied"
}

test_verify_nice_advice_minimal() {
  require_helper nice_neg
  record_then_minimize "--cap-drop=ALL --cap-add=SYS_NICE" -- "$HELPERS/nice_neg"
  # The baseline run reniced itself; the run without SYS_NICE could not.
  assert_eq "nice -5" "$VER_OUTPUT" "nice_neg output (only the passing run prints)"
  assert_contains "$VER_STDERR" "nice_neg: setpriority(PRIO_PROCESS, 0, -5): Permission denied" "stderr tail of the failing run"
}

test_verify_bind_port_80_advice_minimal() {
  require_helper bind_port
  require_free_port 80
  record_then_minimize "--cap-drop=ALL --cap-add=NET_BIND_SERVICE" -- "$HELPERS/bind_port" 80
  assert_eq "bound 80" "$VER_OUTPUT" "bind_port output"
}

# Each run makes its own node (mknod fails on an existing one); the first
# line of output names the one the passing run made.
test_verify_mknod_advice_minimal() {
  local script="$TEST_TMP/mk.sh" node
  cat >"$script" <<'SCRIPT'
#!/bin/sh
node="$1/node.$$"
mknod "$node" c 1 3 && echo "$node"
SCRIPT
  chmod 0755 "$script"
  record_then_minimize "--cap-drop=ALL --cap-add=MKNOD" -- "$script" "$TEST_TMP"
  node=$(printf '%s\n' "$VER_OUTPUT" | head -n 1)
  [[ -c "$node" ]] || fail "'$node' is not a character device after verify"
  assert_eq "1:3" "$(stat -c '%Hr:%Lr' "$node")" "device numbers of $node"
}

test_verify_chroot_advice_minimal() {
  local rootfs="$TEST_TMP/rootfs" marker
  bash "$REPO_ROOT/scripts/mkrootfs.sh" "$rootfs" >&2 || fail "scripts/mkrootfs.sh $rootfs failed"
  marker="inside-rootfs-$$-$RANDOM"
  echo "$marker" >"$rootfs/marker"
  record_then_minimize "--cap-drop=ALL --cap-add=SYS_CHROOT" -- chroot "$rootfs" /bin/cat /marker
  assert_eq "$marker" "$VER_OUTPUT" "cat /marker inside the chroot (passing run only)"
}

test_verify_script_three_caps_minimal() {
  require_helper bind_port
  require_free_port 80
  local script="$TEST_TMP/workload.sh" f="$TEST_TMP/file" node
  touch "$f"
  cat >"$script" <<'SCRIPT'
#!/bin/sh
set -eu
chown 1000 "$1"
"$2" 80
mknod "$3/node.$$" c 1 3
echo "$3/node.$$"
SCRIPT
  chmod 0755 "$script"
  record_then_minimize "--cap-drop=ALL --cap-add=CHOWN --cap-add=MKNOD --cap-add=NET_BIND_SERVICE" \
    -- "$script" "$f" "$HELPERS/bind_port" "$TEST_TMP"
  assert_eq 1000 "$(stat -c %u "$f")" "owner of $f"
  node=$(printf '%s\n' "$VER_OUTPUT" | grep node | head -n 1)
  [[ -c "$node" ]] || fail "'$node' is not a character device"
  assert_contains "$VER_OUTPUT" "bound 80" "script output"
}

# --- reductions and ambiguity ----------------------------------------------

# A capability the workload never asks for is proven unnecessary.
test_verify_minimize_drops_unneeded_cap() {
  local f="$TEST_TMP/file" json="$TEST_TMP/verify.json"
  touch "$f"
  verify_run --caps CHOWN,NET_RAW --minimize --format docker -o - -- chown 1000 "$f"
  assert_eq 0 "$VER_RC" "exit status"
  assert_eq "--cap-drop=ALL --cap-add=CHOWN" "$VER_RESULT" "proven-minimal set"
  assert_eq unnecessary "$(verdict_of NET_RAW)" "verdict for NET_RAW"
  assert_eq kept "$(verdict_of CHOWN)" "verdict for CHOWN"
  assert_eq 1000 "$(stat -c %u "$f")" "owner of $f"
  # The same result as JSON.
  run_capscope verify --caps CHOWN,NET_RAW --minimize --format json -o "$json" -- chown 1000 "$f" 2>&1 >/dev/null | tail -n 3 >&2
  assert_eq "capscope.verify/v1 pass CHOWN,NET_RAW CHOWN" \
    "$(json_get "$json" '(d["schema"], d["result"], ",".join(d["given"]), ",".join(d["proven"]))')" \
    "verify --format json: schema, result, given, proven"
  assert_eq "CHOWN=kept,NET_RAW=unnecessary" "$(json_get "$json" 'sorted(x["cap"] + "=" + x["verdict"] for x in d["decisions"])')" \
    "verify --format json: decisions"
  assert_eq "baseline,removal,removal" "$(json_get "$json" '[t["kind"] for t in d["trials"]]')" "verify --format json: trials"
}

# The workload survives the denial (it ignores chown's failure): passing
# without CHOWN proves nothing, because CHOWN was denied in that run.
test_verify_survived_denial_is_ambiguous() {
  local f="$TEST_TMP/file"
  touch "$f"
  verify_run --caps CHOWN --minimize --format docker -o - -- sh -c 'chown 1000 "$1" 2>/dev/null; exit 0' sh "$f"
  assert_eq 0 "$VER_RC" "exit status"
  assert_eq ambiguous "$(verdict_of CHOWN)" "verdict for CHOWN"
  assert_eq "--cap-drop=ALL --cap-add=CHOWN" "$VER_RESULT" "CHOWN is kept"
  assert_contains "$VER_STDERR" "without CHOWN (none): PASS (exit 0)" "the run without CHOWN"
  assert_contains "$VER_STDERR" "denied: CHOWN" "the run without CHOWN"
  # The verdict names the operation that failed and what to check.
  assert_contains "$VER_STDERR" "fchownat: EPERM at " "the failed operation in the verdict"
  assert_contains "$VER_STDERR" "Check whether the program still needs what that operation does" "what to check"
  assert_eq 1000 "$(stat -c %u "$f")" "owner of $f (from the run with CHOWN)"
}

# ioprio_check_cap asks SYS_ADMIN before SYS_NICE: the run with SYS_NICE in
# its place shows SYS_ADMIN denied there and SYS_NICE granted. That is the
# narrower path working (the either/or rule), not a degradation: the
# minimization ends at SYS_NICE.
test_verify_ionice_either_or_ends_at_sys_nice() {
  require_cmd ionice
  verify_run --minimize --caps SYS_ADMIN --format docker -o - -- ionice -c1 -n4 true
  assert_eq 0 "$VER_RC" "exit status"
  assert_eq "--cap-drop=ALL --cap-add=SYS_NICE" "$VER_RESULT" "proven-minimal set"
  assert_eq replaced "$(verdict_of SYS_ADMIN)" "verdict for SYS_ADMIN"
  assert_contains "$VER_STDERR" "without SYS_ADMIN (none): FAIL" "ionice really needs one of them"
  assert_contains "$VER_STDERR" "SYS_NICE instead of SYS_ADMIN (SYS_NICE): PASS" "the SYS_NICE run"
  assert_contains "$VER_STDERR" "either/or site where the kernel then granted SYS_NICE" "why"
  # The effect: the real-time class really set with SYS_NICE alone.
  verify_run --caps SYS_NICE --format docker -o - -- ionice -c1 -n4 sh -c 'ionice -p $$'
  assert_eq 0 "$VER_RC" "exit status with SYS_NICE"
  assert_eq "realtime: prio 4" "$VER_OUTPUT" "the I/O class set"
}

# coreutils nice warns and exits 0 when it cannot renice. Without --check
# SYS_NICE is ambiguous; a --check that proves the workload's real effect
# (the file handed to uid 1000) shows it unnecessary. The check removes the
# file, so no run can pass on what an earlier run left behind.
test_verify_nice_degrades_check_decides() {
  local f="$TEST_TMP/file" log="$TEST_TMP/checks.log" workload
  # A fresh file each run (root cannot touch uid 1000's file without
  # DAC_OVERRIDE or FOWNER).
  workload=(sh -c 'rm -f "$1" && touch "$1" && nice -n -5 chown 1000 "$1"' sh "$f")

  verify_run --caps CHOWN,SYS_NICE --minimize --format docker -o - -- "${workload[@]}"
  assert_eq 0 "$VER_RC" "exit status without --check"
  assert_eq ambiguous "$(verdict_of SYS_NICE)" "SYS_NICE without --check"
  assert_eq kept "$(verdict_of CHOWN)" "CHOWN without --check"
  assert_contains "$VER_STDERR" "cannot set niceness" "nice's warning passes through"
  assert_eq 1000 "$(stat -c %u "$f")" "owner of $f"

  rm -f "$f"
  verify_run --caps CHOWN,SYS_NICE --minimize --check "test \"\$(stat -c %u '$f')\" = 1000 && echo ok >>'$log' && rm '$f'" \
    --check-timeout 5s --format docker -o - -- "${workload[@]}"
  assert_eq 0 "$VER_RC" "exit status with --check"
  assert_eq unnecessary "$(verdict_of SYS_NICE)" "SYS_NICE with --check"
  assert_eq kept "$(verdict_of CHOWN)" "CHOWN with --check"
  assert_eq "--cap-drop=ALL --cap-add=CHOWN" "$VER_RESULT" "proven-minimal set"
  # baseline + the run without SYS_NICE passed the check; without CHOWN not.
  assert_eq 2 "$(wc -l <"$log")" "successful checks"
}

# --- substitutions ----------------------------------------------------------

# Reading another user's 0600 file: DAC_OVERRIDE works, but the kernel
# asks for DAC_READ_SEARCH first, and that is enough.
test_verify_dac_override_narrowed_to_read_search() {
  local f="$TEST_TMP/secret" secret="secret-$RANDOM"
  chmod 0755 "$TEST_TMP"
  echo "$secret" >"$f"
  chown 1000:1000 "$f"
  chmod 0600 "$f"
  verify_run --caps DAC_OVERRIDE --minimize --format docker -o - -- cat "$f"
  assert_eq 0 "$VER_RC" "exit status"
  assert_eq "--cap-drop=ALL --cap-add=DAC_READ_SEARCH" "$VER_RESULT" "proven-minimal set"
  assert_eq replaced "$(verdict_of DAC_OVERRIDE)" "verdict for DAC_OVERRIDE"
  assert_contains "$VER_STDERR" "DAC_READ_SEARCH instead of DAC_OVERRIDE (DAC_READ_SEARCH): PASS" "the substitution run"
  # Read by the baseline and by the DAC_READ_SEARCH run.
  assert_eq "$secret"$'\n'"$secret" "$VER_OUTPUT" "what cat read"
}

# A SYS_ADMIN-or-narrower call site, measured on 6.18: opening
# /proc/PID/map_files/* goes through checkpoint_restore_ns_capable(),
# which accepts CHECKPOINT_RESTORE (asked first) or SYS_ADMIN.
test_verify_sys_admin_narrowed_to_checkpoint_restore() {
  local script="$TEST_TMP/mapfiles.sh"
  cat >"$script" <<'SCRIPT'
#!/bin/sh
f=$(ls /proc/$$/map_files | head -n 1)
magic=$(head -c 4 "/proc/$$/map_files/$f") || exit 1
[ "$magic" = "$(printf '\177ELF')" ] && echo elf-magic-ok
SCRIPT
  chmod 0755 "$script"
  verify_run --caps SYS_ADMIN --minimize --format docker -o - -- "$script"
  assert_eq 0 "$VER_RC" "exit status"
  assert_eq "--cap-drop=ALL --cap-add=CHECKPOINT_RESTORE" "$VER_RESULT" "proven-minimal set"
  assert_eq replaced "$(verdict_of SYS_ADMIN)" "verdict for SYS_ADMIN"
  assert_contains "$VER_STDERR" "denied: SYS_ADMIN (openat in proc_map_files_get_link)" "the run without SYS_ADMIN"
  assert_eq "elf-magic-ok"$'\n'"elf-magic-ok" "$VER_OUTPUT" "the mapping was read (baseline, then CHECKPOINT_RESTORE)"
}

# Another one: perfmon_capable() accepts PERFMON or SYS_ADMIN.
test_verify_sys_admin_narrowed_to_perfmon() {
  require_cmd perf
  local paranoid
  paranoid=$(cat /proc/sys/kernel/perf_event_paranoid)
  ((paranoid > 0)) || skip "kernel.perf_event_paranoid=$paranoid: system-wide perf needs no capability here"
  verify_run --caps SYS_ADMIN --minimize --format docker -o - -- perf stat -a -e cpu-clock true
  assert_eq 0 "$VER_RC" "exit status"
  assert_eq "--cap-drop=ALL --cap-add=PERFMON" "$VER_RESULT" "proven-minimal set"
  assert_eq replaced "$(verdict_of SYS_ADMIN)" "verdict for SYS_ADMIN"
  assert_contains "$VER_STDERR" "Performance counter stats for 'system wide'" "perf counted system-wide"
}

# --- --check, --repeat, --caps-from, record --verify --------------------------

# A server: passes when the check (an HTTP GET) succeeds; then stopped.
test_verify_check_server() {
  require_free_port 80
  local www="$TEST_TMP/www" marker="served-$RANDOM"
  mkdir -p "$www"
  echo "$marker" >"$www/x.txt"
  verify_run --caps NET_BIND_SERVICE,NET_RAW --minimize --check "wget -q -O- http://127.0.0.1:80/x.txt | grep -qx $marker" \
    --check-timeout 5s --format docker -o - -- busybox httpd -f -p 80 -h "$www"
  assert_eq 0 "$VER_RC" "exit status"
  assert_eq "--cap-drop=ALL --cap-add=NET_BIND_SERVICE" "$VER_RESULT" "proven-minimal set"
  assert_eq kept "$(verdict_of NET_BIND_SERVICE)" "verdict for NET_BIND_SERVICE"
  assert_eq unnecessary "$(verdict_of NET_RAW)" "verdict for NET_RAW"
  assert_contains "$VER_STDERR" "check passed" "the check"
  assert_contains "$VER_STDERR" "httpd: bind: Permission denied" "stderr tail of the run without NET_BIND_SERVICE"
  port_in_use 80 && fail "the server still listens on port 80 after verify"
  return 0
}

test_verify_repeat_reports_flaky() {
  local f="$TEST_TMP/file"
  touch "$f"
  # Fails every other run, whatever its capabilities.
  verify_run --caps CHOWN --repeat 2 --format docker -o - -- sh -c 'if [ -e "$1.m" ]; then rm "$1.m"; exit 3; fi; touch "$1.m"; chown 1000 "$1"' sh "$f"
  assert_eq 1 "$VER_RC" "exit status"
  assert_contains "$VER_STDERR" "run 2/2: FAIL (exit 3)" "second run"
  assert_contains "$VER_STDERR" "is flaky with the given set" "report"
  assert_eq 1000 "$(stat -c %u "$f")" "owner of $f"
}

test_verify_caps_from_profile() {
  local f="$TEST_TMP/file" profile="$TEST_TMP/p.json" rc=0
  touch "$f"
  run_capscope record --format json -o "$profile" -- chown 1000 "$f" >&2 || rc=$?
  assert_eq 0 "$rc" "record"
  chown 0 "$f"
  # No command: the recorded one is used.
  verify_run --caps-from "$profile" --format docker -o -
  assert_eq 0 "$VER_RC" "exit status"
  assert_eq "--cap-drop=ALL --cap-add=CHOWN" "$VER_RESULT" "verified set"
  assert_contains "$VER_STDERR" "the recorded command: chown 1000 $f" "report"
  assert_eq 1000 "$(stat -c %u "$f")" "owner of $f"
}

# shellcheck disable=SC2153  # REC_STDERR is set by record_docker (lib.sh)
test_verify_record_verify() {
  local f="$TEST_TMP/file"
  touch "$f"
  record_docker --verify -- chown 1000 "$f"
  assert_eq 0 "$REC_RC" "exit status of record --verify"
  assert_eq "--cap-drop=ALL --cap-add=CHOWN" "$REC_ADVICE" "advice"
  assert_contains "$REC_STDERR" "given set CHOWN: PASS (exit 0)" "verification run"
  assert_contains "$REC_STDERR" "Verified set: CHOWN" "verification report"
  assert_eq 1000 "$(stat -c %u "$f")" "owner of $f"
}

# --- a real container ------------------------------------------------------

test_verify_podman_container() {
  require_cmd podman runc
  local rootfs="$TEST_TMP/rootfs"
  bash "$REPO_ROOT/scripts/mkrootfs.sh" "$rootfs" >&2 || fail "scripts/mkrootfs.sh $rootfs failed"
  verify_run --caps CHOWN --minimize --runtime podman "${VERIFY_RUNTIME_OPTS[@]}" --rootfs "$rootfs" --format docker -o - -- \
    sh -c 'touch /tmp/f && chown 1000 /tmp/f && stat -c %u /tmp/f'
  if ((VER_RC != 0)) && [[ "$VER_STDERR" == *"Error: "* && "$VER_STDERR" != *"Operation not permitted"* ]]; then
    fail "podman itself failed (exit $VER_RC)"
  fi
  assert_eq 0 "$VER_RC" "exit status"
  assert_eq "--cap-drop=ALL --cap-add=CHOWN" "$VER_RESULT" "proven-minimal set"
  assert_eq "1000" "$VER_OUTPUT" "owner inside the container (passing run only)"
  assert_eq kept "$(verdict_of CHOWN)" "verdict for CHOWN"
  # One fewer: the container really fails.
  assert_contains "$VER_STDERR" "without CHOWN (none): FAIL (exit 1)" "the container without CHOWN"
  assert_contains "$VER_STDERR" "chown: /tmp/f: Operation not permitted" "the container's stderr"
  assert_contains "$VER_STDERR" "denied: CHOWN" "what the container was denied"
  # Nothing leaked into the rootfs (--tmpfs /tmp).
  [[ ! -e "$rootfs/tmp/f" ]] || fail "the container wrote into $rootfs/tmp"
}

# --- bad input ---------------------------------------------------------------

test_verify_empty_set_is_valid() {
  verify_run --caps '' --format docker -o - -- sh -c 'echo made >"$1"' sh "$TEST_TMP/out"
  assert_eq 0 "$VER_RC" "exit status"
  assert_eq "--cap-drop=ALL" "$VER_RESULT" "verified set"
  assert_eq made "$(cat "$TEST_TMP/out")" "the workload ran"
  verify_run --caps '' -- true
  assert_eq 0 "$VER_RC" "verify --caps '' -- true"
  assert_contains "$VER_STDERR" "Verified set: none" "report"
}

test_verify_unknown_cap() {
  verify_run --caps CHOWN,NO_SUCH_CAP -- touch "$TEST_TMP/never"
  assert_eq 125 "$VER_RC" "exit status"
  assert_eq 1 "$(printf '%s\n' "$VER_STDERR" | wc -l)" "lines on stderr"
  assert_contains "$VER_STDERR" "unknown capability 'NO_SUCH_CAP'" "error"
  assert_contains "$VER_STDERR" "NET_BIND_SERVICE" "valid names listed"
  [[ ! -e "$TEST_TMP/never" ]] || fail "the workload ran despite the bad set"
}

test_verify_command_not_found() {
  verify_run --caps CHOWN -- /nonexistent/capscope-no-such-cmd
  assert_eq 127 "$VER_RC" "exit status"
  assert_contains "$VER_STDERR" "no such file or directory" "error"
  verify_run --caps CHOWN -- capscope-no-such-cmd-in-path
  assert_eq 127 "$VER_RC" "exit status (PATH lookup)"
}

test_verify_cap_missing_from_host_bounding_set() {
  local bnd
  bnd=$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)
  (((16#$bnd >> 24) & 1)) && skip "this host's bounding set has CAP_SYS_RESOURCE"
  verify_run --caps CHOWN,SYS_RESOURCE -- touch "$TEST_TMP/never"
  assert_eq 125 "$VER_RC" "exit status"
  assert_contains "$VER_STDERR" "SYS_RESOURCE not in this host's bounding set" "error"
  [[ ! -e "$TEST_TMP/never" ]] || fail "the workload ran despite the impossible set"
}

test_verify_minimize_when_given_set_fails() {
  local f="$TEST_TMP/file"
  touch "$f"
  verify_run --caps NET_RAW --minimize --format docker -o - -- chown 1000 "$f"
  assert_eq 1 "$VER_RC" "exit status"
  assert_contains "$VER_STDERR" "The workload fails even with the given set; nothing to minimize." "report"
  assert_contains "$VER_STDERR" "denied CHOWN" "report names the denied capability"
  assert_eq "" "$VER_ALL" "no flags for a set that failed"
  assert_eq 0 "$(stat -c %u "$f")" "owner of $f (unchanged)"
}
