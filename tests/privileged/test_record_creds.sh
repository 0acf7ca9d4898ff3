# shellcheck shell=bash
# Whose credentials a check is made with. Overlayfs acts on the lower/upper
# layers with its mounter's (root's) credentials: those checks are borrowed,
# not the workload's. Root reading another user's file needs a DAC
# capability (only one: the narrowest that works); an unprivileged user
# trying the same is denied, and the report warns about it.
# The functions here run under lib.sh (see run.sh).

# _creds_python: Debian's python3 (a `python3` on PATH may be another one).
_creds_python() {
  [[ -x /usr/bin/python3 ]] || skip "/usr/bin/python3 missing (apt-get install python3)"
}

# _creds_overlay DIR: mount an overlay at DIR/merged whose lower layer has a
# directory d and a file d/f ("hello"), both owned by uid 1000; unmounted when
# the test ends. Everything under DIR is reachable by uid 1000.
_creds_overlay() {
  local dir=$1
  mkdir -p "$dir/lower/d" "$dir/upper" "$dir/work" "$dir/merged"
  echo hello >"$dir/lower/d/f"
  chown -R 1000:1000 "$dir/lower/d"
  chmod 0755 "$TEST_TMP" "$dir" "$dir/lower" "$dir/upper" "$dir/merged"
  if ! mount -t overlay overlay -o "lowerdir=$dir/lower,upperdir=$dir/upper,workdir=$dir/work" "$dir/merged" 2>"$TEST_TMP/mount.err"; then
    skip "cannot mount an overlay here: $(cat "$TEST_TMP/mount.err")"
  fi
  on_exit "umount '$dir/merged' 2>/dev/null || umount -l '$dir/merged' 2>/dev/null || true"
}

# uid 1000 appends to its own file on an overlay. The copy-up into the upper
# layer is done with root's (the mounter's) credentials: CHOWN, FOWNER,
# DAC_OVERRIDE... checks that are borrowed and must not be advised.
test_record_creds_overlay_borrowed() {
  _creds_python
  local ov="$TEST_TMP/ov" profile="$TEST_TMP/p.json" rc=0
  _creds_overlay "$ov"
  run_capscope record --user 1000 --format json -o "$profile" -- sh -c "echo more >> '$ov/merged/d/f'" >&2 || rc=$?
  assert_eq 0 "$rc" "exit status of record --user 1000 -- sh -c 'echo more >> merged/d/f'"
  assert_eq $'hello\nmore' "$(cat "$ov/merged/d/f")" "content of merged/d/f after the append"
  [[ -f "$ov/upper/d/f" ]] || fail "no copy-up: $ov/upper/d/f does not exist"
  assert_eq 1000 "$(stat -c %u "$ov/upper/d/f")" "owner of the copied-up upper/d/f"
  [[ -s "$profile" ]] || fail "no profile written to $profile"
  cat "$profile" >&2
  assert_eq true "$(json_get "$profile" 'd["advice"]["add"] == []')" \
    "advice.add is empty (borrowed checks are not the workload's): $(json_get "$profile" 'd["advice"]["add"]')"
  local borrowed
  borrowed=$(json_get "$profile" 'sorted({c["cap"] for c in d["checks"] if c["class"] == "borrowed"})')
  [[ -n "$borrowed" ]] || fail "no check has class 'borrowed'; classes: $(json_get "$profile" 'sorted({c["class"] for c in d["checks"]})')"
  echo "borrowed: $borrowed" >&2

  # The same act, docker advice: nothing to add.
  expect_advice "--cap-drop=ALL" --user 1000 -- sh -c "echo more >> '$ov/merged/d/f'"
  assert_eq $'hello\nmore\nmore' "$(cat "$ov/merged/d/f")" "content of merged/d/f after the second append"
}

# Root reads uid 1000's 0600 file: one DAC capability is needed, and only
# one (DAC_READ_SEARCH suffices to read; DAC_OVERRIDE would also do).
test_record_creds_root_reads_other_users_file() {
  local f="$TEST_TMP/secret"
  echo "secret-$$" >"$f"
  chown 1000:1000 "$f"
  chmod 0600 "$f"
  record_docker -- cat "$f"
  assert_eq 0 "$REC_RC" "exit status of record -- cat (stderr: $(_lib_abbrev "$REC_STDERR"))"
  assert_eq "secret-$$" "$REC_OUTPUT" "what cat read"
  case $REC_ADVICE in
    "--cap-drop=ALL --cap-add=DAC_READ_SEARCH" | "--cap-drop=ALL --cap-add=DAC_OVERRIDE") ;;
    *) fail "docker advice for root reading another user's 0600 file: expected exactly one of DAC_READ_SEARCH/DAC_OVERRIDE, got '$REC_ADVICE'" ;;
  esac
}

# uid 1000 cannot read another user's 0600 file: cat fails, both DAC checks
# are denied, and the report says so (WARNING: denied ...); the advice has
# nothing to add. (The file is uid 1001's: uid 1000 could read its own.)
test_record_creds_user_denied_warns() {
  local f="$TEST_TMP/secret" rc=0 report warning
  chmod 0755 "$TEST_TMP"
  echo "secret-$$" >"$f"
  chown 1001:1001 "$f"
  chmod 0600 "$f"
  run_capscope record --user 1000 -- cat "$f" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  report=$(cat "$TEST_TMP/err")
  {
    echo "--- capscope record --user 1000 -- cat $f => exit $rc"
    cat "$TEST_TMP/out" "$TEST_TMP/err"
  } >&2
  assert_eq 1 "$rc" "exit status of record --user 1000 -- cat (cat's)"
  assert_eq "" "$(cat "$TEST_TMP/out")" "what cat read as uid 1000"
  assert_contains "$report" "Permission denied" "cat's own error"
  warning=$(grep -F "WARNING: denied" <<<"$report" || true)
  [[ -n "$warning" ]] || fail "no 'WARNING: denied' line in the report: $(_lib_abbrev "$report")"
  [[ "$warning" == *DAC_READ_SEARCH* || "$warning" == *DAC_OVERRIDE* ]] ||
    fail "the 'WARNING: denied' line names neither DAC_READ_SEARCH nor DAC_OVERRIDE: $warning"

  record_docker --user 1000 -- cat "$f"
  assert_eq 1 "$REC_RC" "exit status of record --user 1000 --format docker -- cat"
  assert_eq "--cap-drop=ALL" "$REC_ADVICE" "docker advice for a denied read"
  assert_eq "" "$REC_OUTPUT" "what cat read as uid 1000"
}

# PATH search as execvp does it, under the workload's user: an entry that
# refuses the user (a 0700 directory under /root, first in root's PATH) is
# passed over, not reported as "Permission denied". Root would find the decoy
# there; uid 65534 must find the real `id` further on.
test_record_creds_user_path_skips_refusing_entry() {
  local d
  d=$(mktemp -d /root/capscope-path.XXXXXX)
  on_exit "rm -rf '$d'"
  chmod 0700 "$d"
  printf '#!/bin/sh\necho decoy\n' >"$d/id"
  chmod 0755 "$d/id"
  PATH="$d:$PATH" record_docker --user 65534:65534 -- id -u
  assert_eq 0 "$REC_RC" "exit status of record --user 65534:65534 -- id -u (stderr: $(_lib_abbrev "$REC_STDERR"))"
  assert_eq 65534 "$REC_OUTPUT" "what id printed (the real one, as uid 65534)"
  assert_eq "--cap-drop=ALL" "$REC_ADVICE" "advice"
  # Nothing found after the refusing entry: its EACCES is what is reported.
  rm -f "$d/id"
  printf '#!/bin/sh\necho decoy\n' >"$d/capscope-only-here"
  chmod 0755 "$d/capscope-only-here"
  PATH="$d:$PATH" record_docker --user 65534:65534 -- capscope-only-here
  assert_eq 126 "$REC_RC" "exit status when the only match refuses the user"
  assert_contains "$REC_STDERR" "Permission denied" "the reason"
}
