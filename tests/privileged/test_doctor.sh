# shellcheck shell=bash
# `capscope doctor`: what this kernel supports and which attach mode runs.

test_doctor_runs() {
  local rc=0 out
  out=$(run_capscope doctor 2>&1) || rc=$?
  printf '%s\n' "$out" >&2
  assert_eq 0 "$rc" "exit status of capscope doctor"
  [[ "${out,,}" == *tracepoint* ]] || fail "capscope doctor does not mention the tracepoint: $(_lib_abbrev "$out")"
}

# Every listed call site that is not in kallsyms is named, with what
# becomes of its checks; the scope key the BPF program falls back to is
# named; the 32-bit line on x86-64.
test_doctor_names_fallbacks() {
  local out resolved total listed fn
  out=$(run_capscope doctor 2>&1) || fail "capscope doctor failed: $(_lib_abbrev "$out")"
  printf '%s\n' "$out" >&2
  [[ "$out" =~ noise\ call\ sites\ resolved:\ ([0-9]+)\ of\ ([0-9]+) ]] ||
    fail "no 'noise call sites resolved' line"
  resolved=${BASH_REMATCH[1]} total=${BASH_REMATCH[2]}
  listed=$(grep -c 'not in kallsyms' <<<"$out" || true)
  assert_eq $((total - resolved)) "$listed" "unresolved call sites named by doctor"
  while read -r fn _; do
    [[ -n $fn ]] || continue
    if grep -q " $fn\$" /proc/kallsyms; then
      fail "doctor says $fn is not in kallsyms, but /proc/kallsyms has it"
    fi
  done < <(grep 'not in kallsyms' <<<"$out")
  grep 'not in kallsyms' <<<"$out" | grep -qv 'covered by\|no other' &&
    fail "an unresolved site without what becomes of its checks"
  assert_contains "$out" "scope key   " "doctor output"
  grep -Eq 'scope key   (ns_common.ns_id|mnt_namespace.seq|mount namespace inode)' <<<"$out" ||
    fail "the scope key line names none of the three keys"
  if [[ $(uname -m) == x86_64 ]]; then
    assert_contains "$out" "32-bit      " "doctor output on x86-64"
  fi
  # Where the call-site cache's walks end: the syscall dispatch, when
  # kallsyms has it (it does on every kernel this runs on).
  if grep -Eq ' (do_syscall_64|invoke_syscall|el0_svc_common)$' /proc/kallsyms; then
    grep -Eq '^walks end   at .*(do_syscall_64|invoke_syscall|el0_svc_common)' <<<"$out" ||
      fail "doctor does not name the syscall dispatch where walks end"
  else
    assert_contains "$out" "walks end   at the stack's end" "doctor output without a dispatch function"
  fi
}
