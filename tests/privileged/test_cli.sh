# shellcheck shell=bash
# The command-line contract: help, version, errors (125), exit status
# passthrough (127/126/N), and the workload's stdout left untouched.

# These load no BPF: they run without root too (ctest cli_no_root).
no_root_needed test_cli_help test_cli_version test_cli_unknown_flag \
  test_cli_record_unknown_flag test_cli_record_bad_format \
  test_cli_record_without_command

# run_cli ARGS...: capscope ARGS, setting CLI_RC, CLI_OUT, CLI_ERR.
run_cli() {
  CLI_RC=0
  run_capscope "$@" >"$TEST_TMP/.cli.out" 2>"$TEST_TMP/.cli.err" || CLI_RC=$?
  CLI_OUT=$(cat "$TEST_TMP/.cli.out")
  CLI_ERR=$(cat "$TEST_TMP/.cli.err")
  {
    echo "--- capscope $*  => exit $CLI_RC"
    echo "--- stdout:"
    echo "$CLI_OUT"
    echo "--- stderr:"
    echo "$CLI_ERR"
    echo "---"
  } >&2
}

test_cli_help() {
  run_cli --help
  assert_eq 0 "$CLI_RC" "exit status of capscope --help"
  assert_contains "$CLI_OUT$CLI_ERR" "record" "capscope --help"
}

test_cli_version() {
  run_cli --version
  assert_eq 0 "$CLI_RC" "exit status of capscope --version"
  assert_contains "$CLI_OUT$CLI_ERR" "capscope" "capscope --version"
  [[ "$CLI_OUT$CLI_ERR" =~ [0-9]+\.[0-9]+ ]] || fail "capscope --version shows no version number: $CLI_OUT$CLI_ERR"
  # ... and the commit it was built from, when built from a git checkout.
  local head
  if head=$(git -C "$REPO_ROOT" rev-parse --short=12 HEAD 2>/dev/null); then
    assert_contains "$CLI_OUT$CLI_ERR" "(commit $head" "capscope --version"
  fi
}

test_cli_unknown_flag() {
  run_cli --no-such-flag-capscope
  assert_eq 125 "$CLI_RC" "exit status for an unknown flag"
  [[ -n "$CLI_ERR" ]] || fail "no error message on stderr for an unknown flag"
  assert_eq 1 "$(printf '%s\n' "$CLI_ERR" | wc -l)" "lines on stderr for an unknown flag"
}

test_cli_record_unknown_flag() {
  run_cli record --no-such-flag-capscope -- true
  assert_eq 125 "$CLI_RC" "exit status for an unknown record flag"
  [[ -n "$CLI_ERR" ]] || fail "no error message on stderr for an unknown record flag"
}

test_cli_record_bad_format() {
  run_cli record --format no-such-format -- true
  assert_eq 125 "$CLI_RC" "exit status for --format no-such-format"
  [[ -n "$CLI_ERR" ]] || fail "no error message on stderr for a bad --format"
}

test_cli_record_without_command() {
  run_cli record
  assert_eq 125 "$CLI_RC" "exit status of record without a command"
  [[ -n "$CLI_ERR" ]] || fail "no error message on stderr for record without a command"
}

test_cli_record_command_not_found() {
  run_cli record -- /nonexistent/cmd
  assert_eq 127 "$CLI_RC" "exit status of record -- /nonexistent/cmd"
  run_cli record -- capscope-no-such-command-on-path
  assert_eq 127 "$CLI_RC" "exit status of record for a command not on PATH"
}

test_cli_record_not_executable() {
  run_cli record -- /etc/passwd
  assert_eq 126 "$CLI_RC" "exit status of record -- /etc/passwd"
}

test_cli_record_exit_status() {
  run_cli record -- sh -c 'exit 7'
  assert_eq 7 "$CLI_RC" "exit status of record -- sh -c 'exit 7'"
  run_cli record -- true
  assert_eq 0 "$CLI_RC" "exit status of record -- true"
}

# The workload's stdout passes through untouched; the report goes to stderr.
test_cli_record_stdout_clean() {
  run_cli record -- echo hi
  assert_eq 0 "$CLI_RC" "exit status of record -- echo hi"
  assert_eq "hi" "$CLI_OUT" "stdout of record -- echo hi"
  [[ -n "$CLI_ERR" ]] || fail "no report on stderr"
}

# -o to a device writes into it: /dev/null stays the null device (a rename
# over it would have replaced it with a regular file).
test_cli_output_to_device() {
  require_root
  run_capscope record -o /dev/null -- true || fail "record -o /dev/null failed"
  [[ -c /dev/null ]] || {
    rm -f /dev/null && mknod -m 666 /dev/null c 1 3
    fail "/dev/null is no longer a character device after record -o /dev/null"
  }
}
