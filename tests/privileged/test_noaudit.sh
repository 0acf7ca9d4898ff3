# shellcheck shell=bash
# NOAUDIT capability checks (CAP_OPT_NOAUDIT): the kernel only asks at most
# of them (advisory, never advice), but not at all: seccomp without
# no_new_privs fails with EACCES unless its NOAUDIT SYS_ADMIN check passes.
# Each test asserts the advice, the class the BPF side gave the check (from
# the events file, with the stack it walked) and, with setpriv, that the
# advice really works. tests/vm/guest-tests.sh asserts the same in the fexit
# and kprobe modes, where the class also comes from `opts`.
# The functions here run under lib.sh (see run.sh).

# noaudit_events FILE CAP: one line "SITE KERNEL_CLASS CLASS SYSCALL" for every
# check of CAP in the events FILE made through ns_capable_noaudit, SITE being
# the wrapper's caller (the next frame); the frames go to the test's log.
noaudit_events() {
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
path, cap = sys.argv[1:3]
for line in open(path):
    e = json.loads(line)
    names = [f.split(".")[0] for f in e["frames"]]
    if e["cap"] != cap or "ns_capable_noaudit" not in names:
        continue
    i = names.index("ns_capable_noaudit")
    site = names[i + 1] if i + 1 < len(names) else "-"
    print(site, e["kernel_class"], e["class"], e["syscall"])
    print("  ", e["kernel_class"], e["class"], e["count"], e["frames"], file=sys.stderr)
PY
}

# Root reading another user's /proc/PID/stat (what `ps` does): the kernel
# asks SYS_PTRACE with PTRACE_MODE_NOAUDIT, and the read works without it.
test_noaudit_proc_stat() {
  require_helper read_other_stat
  require_cmd setpriv
  [[ -x /usr/bin/python3 ]] || skip "/usr/bin/python3 missing (apt-get install python3)"
  # The process to read runs outside the recording: becoming uid 65534
  # needs SETUID and SETGID, which are not the reader's.
  "$HELPERS/read_other_stat" --hold 120 >"$TEST_TMP/hold.out" &
  local holder=$!
  bg_track "$holder"
  wait_for_text "$TEST_TMP/hold.out" "held $holder" 10 ||
    fail "read_other_stat --hold did not become uid 65534"
  local ev=$TEST_TMP/events.jsonl
  expect_advice "--cap-drop=ALL" --events "$ev" -- "$HELPERS/read_other_stat" "$holder"
  assert_contains "$REC_OUTPUT" "pid $holder uid 65534 state " "read_other_stat output"
  # The wrapper's caller is __ptrace_may_access (do_task_stat further out).
  local classes
  classes=$(noaudit_events "$ev" SYS_PTRACE | sort -u)
  assert_eq "__ptrace_may_access advisory advisory read" "$classes" \
    "site, kernel_class, class and syscall of the NOAUDIT SYS_PTRACE check"
  # The advice works: no capability at all, and the read still succeeds.
  local out
  out=$(setpriv --inh-caps=-all --bounding-set=-all -- "$HELPERS/read_other_stat" "$holder" 2>&1) ||
    fail "read_other_stat with no capabilities failed: $out"
  assert_contains "$out" "pid $holder uid 65534" "read_other_stat with no capabilities"
}

# A seccomp filter without no_new_privs: seccomp_prepare_filter refuses it
# (EACCES) unless ns_capable_noaudit(SYS_ADMIN), so that NOAUDIT check is
# needed. The BPF JIT compiling the filter makes NOAUDIT SYS_ADMIN checks
# of its own under the same syscall, which stay advisory.
test_noaudit_seccomp_without_nnp() {
  require_helper seccomp_install
  require_cmd setpriv
  [[ -x /usr/bin/python3 ]] || skip "/usr/bin/python3 missing (apt-get install python3)"
  local ev=$TEST_TMP/events.jsonl
  expect_advice "--cap-drop=ALL --cap-add=SYS_ADMIN" --events "$ev" -- "$HELPERS/seccomp_install"
  assert_eq "installed" "$REC_OUTPUT" "seccomp_install output"
  local classes
  classes=$(noaudit_events "$ev" SYS_ADMIN | sort -u)
  assert_eq "do_seccomp needed needed prctl" "$(grep '^do_seccomp ' <<<"$classes")" \
    "site, kernel_class, class and syscall of the seccomp gate's check"
  # Anything else NOAUDIT (the JIT's checks, do_jit on 6.18) is advisory.
  assert_eq "" "$(grep -v '^do_seccomp ' <<<"$classes" | grep -v ' advisory advisory ')" \
    "NOAUDIT SYS_ADMIN checks that are not the gate and not advisory"
  # The advice is right, and no less would do.
  local out rc=0
  out=$(setpriv --inh-caps=-all --bounding-set=-all,+sys_admin -- "$HELPERS/seccomp_install" 2>&1) ||
    fail "seccomp_install with SYS_ADMIN only failed: $out"
  assert_eq "installed" "$out" "seccomp_install with SYS_ADMIN only"
  out=$(setpriv --inh-caps=-all --bounding-set=-all -- "$HELPERS/seccomp_install" 2>&1) || rc=$?
  assert_eq 1 "$rc" "seccomp_install exit status with no capabilities"
  assert_contains "$out" "Permission denied" "seccomp_install with no capabilities"
}

# The same filter after PR_SET_NO_NEW_PRIVS: the kernel does not ask at all.
test_noaudit_seccomp_with_nnp() {
  require_helper seccomp_install
  require_cmd setpriv
  expect_advice "--cap-drop=ALL" -- "$HELPERS/seccomp_install" --nnp
  assert_eq "installed" "$REC_OUTPUT" "seccomp_install --nnp output"
  local out
  out=$(setpriv --inh-caps=-all --bounding-set=-all -- "$HELPERS/seccomp_install" --nnp 2>&1) ||
    fail "seccomp_install --nnp with no capabilities failed: $out"
  assert_eq "installed" "$out" "seccomp_install --nnp with no capabilities"
}
