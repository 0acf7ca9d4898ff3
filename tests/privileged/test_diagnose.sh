# shellcheck shell=bash
# `capscope diagnose`: which denied capability made which syscall fail.
# Each test runs a real failing (or surviving) workload and asserts both the
# failure itself and capscope's explanation of it.

# diag_run OUT_FILE ARGS...: capscope diagnose -o OUT_FILE ARGS, sets DIAG_RC.
diag_run() {
  local out=$1
  shift
  DIAG_RC=0
  run_capscope diagnose -o "$out" "$@" >"$TEST_TMP/.diag.stdout" 2>"$TEST_TMP/.diag.stderr" || DIAG_RC=$?
  {
    echo "--- capscope diagnose -o $out $*  => exit $DIAG_RC"
    cat "$TEST_TMP/.diag.stdout" "$TEST_TMP/.diag.stderr"
    echo "--- explanation:"
    cat "$out"
  } >&2
}

# A container without capabilities binding port 80: exactly NET_BIND_SERVICE.
test_diagnose_container_bind_80() {
  require_podman
  container_fixtures
  local name out="$TEST_TMP/diag.txt"
  name=$(unique_name diag-bind)
  podman_cleanup "$name"
  diag_run "$out" -- podman run --rm --name "$name" "${PODMAN_RUN_OPTS[@]}" \
    --cap-drop=ALL --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" nc -l -p 80
  [[ $DIAG_RC -ne 0 ]] || fail "the container should have failed to bind port 80 (exit $DIAG_RC)"
  assert_contains "$(cat "$TEST_TMP/.diag.stderr")" "bind: Permission denied" "nc's own error"
  assert_contains "$(cat "$out")" "bind() failed with EACCES after CAP_NET_BIND_SERVICE was denied" "explanation"
  assert_contains "$(cat "$out")" "Fix: --cap-drop=ALL --cap-add=NET_BIND_SERVICE" "fix line"
  assert_eq 1 "$(grep -c '^Fix:' "$out")" "one fix line"
}

# Root reading another user's 0600 file without capabilities: the read
# needs DAC_READ_SEARCH (the narrowest the kernel accepts for a read), and
# with DAC_OVERRIDE granted the denied DAC_READ_SEARCH is survived.
test_diagnose_container_read_0600() {
  require_podman
  container_fixtures
  local rootfs="$TEST_TMP/rootfs" out="$TEST_TMP/diag.txt"
  cp -a "$ROOTFS/." "$rootfs/"
  echo "top secret" >"$rootfs/secret"
  chown 1000:1000 "$rootfs/secret"
  chmod 600 "$rootfs/secret"
  diag_run "$out" -- podman run --rm "${PODMAN_RUN_OPTS[@]}" --cap-drop=ALL \
    --tmpfs /tmp:notmpcopyup --rootfs "$rootfs" cat /secret
  [[ $DIAG_RC -ne 0 ]] || fail "cat should have failed without capabilities"
  assert_contains "$(cat "$out")" "openat() failed with EACCES after" "explanation"
  assert_contains "$(cat "$out")" "Fix: --cap-drop=ALL --cap-add=DAC_READ_SEARCH" "fix"
  # The fix really works.
  local got
  got=$(timeout 60 podman run --rm "${PODMAN_RUN_OPTS[@]}" --cap-drop=ALL --cap-add=DAC_READ_SEARCH \
    --tmpfs /tmp:notmpcopyup --rootfs "$rootfs" cat /secret) || fail "cat failed with the advised DAC_READ_SEARCH"
  assert_eq "top secret" "$got" "content read with the advised flag"
  # With DAC_OVERRIDE the read works and the DAC_READ_SEARCH denial is survived.
  diag_run "$out" -- podman run --rm "${PODMAN_RUN_OPTS[@]}" --cap-drop=ALL --cap-add=DAC_OVERRIDE \
    --tmpfs /tmp:notmpcopyup --rootfs "$rootfs" cat /secret
  assert_eq 0 "$DIAG_RC" "exit status with DAC_OVERRIDE"
  assert_contains "$(cat "$TEST_TMP/.diag.stdout")" "top secret" "content read"
  assert_contains "$(cat "$out")" "SURVIVED openat() succeeded although CAP_DAC_READ_SEARCH was denied" "survived"
  assert_not_contains "$(cat "$out")" "FAILED" "no failure"
}

# A missing file is not a capability problem: nothing is blamed.
test_diagnose_missing_file_not_blamed() {
  require_podman
  container_fixtures
  local out="$TEST_TMP/diag.txt"
  diag_run "$out" -- podman run --rm "${PODMAN_RUN_OPTS[@]}" --cap-drop=ALL \
    --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" cat /no-such-file
  [[ $DIAG_RC -ne 0 ]] || fail "cat of a missing file should fail"
  assert_contains "$(cat "$TEST_TMP/.diag.stderr")" "No such file" "cat's error"
  assert_not_contains "$(cat "$out")" "CAP_" "no capability blamed"
  assert_contains "$(cat "$out")" "no syscall failed with EPERM/EACCES" "explanation"
}

# A syscall refused by a seccomp filter fails with EPERM, but capabilities
# did not deny it: diagnose says so and names seccomp.
test_diagnose_seccomp_not_blamed() {
  require_helper seccomp_deny
  local out="$TEST_TMP/diag.txt" dir="$TEST_TMP/newdir"
  diag_run "$out" -- "$HELPERS/seccomp_deny" "$dir"
  assert_eq 1 "$DIAG_RC" "the helper's status (mkdir refused)"
  [[ ! -e "$dir" ]] || fail "$dir exists: the seccomp filter did not refuse mkdir"
  assert_contains "$(cat "$out")" "failed with EPERM but no capability was denied in it" "explanation"
  assert_contains "$(cat "$out")" "seccomp" "names seccomp"
  assert_not_contains "$(cat "$out")" "FAILED" "not blamed on capabilities"
}

# Without a container: a non-root chown fails after CHOWN was denied.
test_diagnose_non_root_chown() {
  local dir f out="$TEST_TMP/diag.txt"
  dir=$(mktemp -d /tmp/capscope-diag.XXXXXX)
  on_exit "rm -rf '$dir'"
  chmod 755 "$dir" # uid 1000 must reach the file: only chown may fail
  f="$dir/f"
  touch "$f"
  chown 1000 "$f"
  diag_run "$out" --user 1000 -- chown 0 "$f"
  [[ $DIAG_RC -ne 0 ]] || fail "chown to root as uid 1000 should fail"
  assert_eq 1000 "$(stat -c %u "$f")" "owner unchanged"
  assert_contains "$(cat "$out")" "failed with EPERM after CAP_CHOWN was denied -> add CAP_CHOWN" "explanation"
}
