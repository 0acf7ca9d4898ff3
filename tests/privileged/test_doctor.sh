# shellcheck shell=bash
# `capscope doctor`: what this kernel supports and which attach mode runs.

test_doctor_runs() {
  local rc=0 out
  out=$(run_capscope doctor 2>&1) || rc=$?
  printf '%s\n' "$out" >&2
  assert_eq 0 "$rc" "exit status of capscope doctor"
  [[ "${out,,}" == *tracepoint* ]] || fail "capscope doctor does not mention the tracepoint: $(_lib_abbrev "$out")"
}
