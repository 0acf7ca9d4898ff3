# shellcheck shell=bash
# The moot class: checks whose outcome for this call does not depend on the
# capability (bpf/cs_moot.h), decided in the kernel program from the call's
# arguments and the caller's credentials. Each moot case is run as a real
# workload and must be kept out of the advice, listed with -v, counted in the
# "kept out" line and shown with class "moot" in the JSON profile; each
# positive control makes the same kind of call where the capability does
# decide, and must not be moot. The functions here run under lib.sh.

MOOT_SYSCTL=/proc/sys/net/core/somaxconn

_moot_python() {
  [[ -x /usr/bin/python3 ]] || skip "/usr/bin/python3 missing (apt-get install python3)"
}

# _moot_record NAME [RECORD OPTIONS] -- CMD...: record with a JSON profile
# ($TEST_TMP/NAME.json), then its -v report (capscope advise -v); sets
# MOOT_RC (the workload's exit status) and MOOT_REPORT.
_moot_record() {
  local name=$1
  shift
  MOOT_RC=0
  run_capscope record --format json -o "$TEST_TMP/$name.json" "$@" \
    >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.err" || MOOT_RC=$?
  {
    echo "--- capscope record --format json $*  => exit $MOOT_RC"
    cat "$TEST_TMP/$name.out" "$TEST_TMP/$name.err"
  } >&2
  [[ -s "$TEST_TMP/$name.json" ]] || fail "no profile written by: capscope record $*"
  MOOT_REPORT=$(run_capscope advise -v "$TEST_TMP/$name.json" 2>&1) ||
    fail "capscope advise -v $name.json failed: $(_lib_abbrev "$MOOT_REPORT")"
  printf -- '--- advise -v:\n%s\n' "$MOOT_REPORT" >&2
}

# _moot_checks NAME CAP SYSCALL: "class granted denied" for each check entry
# of capability CAP made in SYSCALL, one per line, from NAME's JSON profile;
# set-up checks (capscope's own --user switch) left out.
_moot_checks() {
  /usr/bin/python3 - "$TEST_TMP/$1.json" "$2" "$3" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for c in doc.get("checks", []):
    if c.get("class") == "setup":
        continue
    if c.get("cap") == sys.argv[2] and sys.argv[3] in c.get("syscalls", []):
        print(c["class"], c["granted"], c["denied"])
PY
}

# _moot_advice NAME: the advice's "add" list, space-separated.
_moot_advice() {
  /usr/bin/python3 - "$TEST_TMP/$1.json" <<'PY'
import json, sys
print(" ".join(json.load(open(sys.argv[1]))["advice"]["add"]))
PY
}

# _moot_expect_moot NAME CAP SYSCALL: every CAP check in SYSCALL is moot (at
# least one), CAP is not advised, and the -v report lists and counts it.
_moot_expect_moot() {
  local name=$1 cap=$2 sc=$3 rows
  rows=$(_moot_checks "$name" "$cap" "$sc")
  [[ -n "$rows" ]] || fail "$name: no $cap check in $sc in the profile"
  if grep -qv '^moot ' <<<"$rows"; then
    fail "$name: $cap checks in $sc are not all moot: $(_lib_abbrev "$rows")"
  fi
  assert_not_contains " $(_moot_advice "$name") " " $cap " "$name: advice.add"
  assert_contains "$MOOT_REPORT" "Kept out of the advice" "$name: the report's kept-out line"
  grep -E "Kept out of the advice: .*moot [0-9]+" <<<"$MOOT_REPORT" >/dev/null ||
    fail "$name: the kept-out line does not count moot checks: $(grep -F 'Kept out' <<<"$MOOT_REPORT")"
  grep -E "^ +$cap +moot " <<<"$MOOT_REPORT" >/dev/null ||
    fail "$name: -v lists no '$cap moot' row: $(_lib_abbrev "$MOOT_REPORT")"
}

# _moot_expect_not_moot NAME CAP SYSCALL: at least one CAP check in SYSCALL,
# and none of them moot.
_moot_expect_not_moot() {
  local name=$1 cap=$2 sc=$3 rows
  rows=$(_moot_checks "$name" "$cap" "$sc")
  [[ -n "$rows" ]] || fail "$name: no $cap check in $sc in the profile"
  if grep -q '^moot ' <<<"$rows"; then
    fail "$name: a $cap check in $sc is moot, but the capability decides it: $(_lib_abbrev "$rows")"
  fi
}

# A non-root process re-sets its own ids (busybox applets do this at start):
# SETGID and SETUID are asked, denied, and the call succeeds anyway.
test_moot_setid_same_as_user() {
  _moot_python
  require_helper moot_calls
  _moot_record setid --user 1000:1000 -- "$HELPERS/moot_calls" setid-same
  assert_eq 0 "$MOOT_RC" "exit status of moot_calls setid-same as 1000:1000"
  assert_eq "uid 1000 gid 1000" "$(cat "$TEST_TMP/setid.out")" "ids after setgid(getgid()); setuid(getuid())"
  _moot_expect_moot setid SETGID setgid
  _moot_expect_moot setid SETUID setuid
  assert_eq "" "$(_moot_advice setid)" "advice.add for setgid(getgid()); setuid(getuid()) as a user"
}

# Positive control: root changing its uid needs SETUID (without it the call
# fails), so the check is not moot and SETUID is advised.
test_moot_setuid_change_is_needed() {
  _moot_python
  require_helper moot_calls
  _moot_record setuid_change -- "$HELPERS/moot_calls" setuid-to 65534
  assert_eq 0 "$MOOT_RC" "exit status of moot_calls setuid-to 65534 as root"
  assert_eq "uid 65534 euid 65534" "$(cat "$TEST_TMP/setuid_change.out")" "ids after setuid(65534)"
  _moot_expect_not_moot setuid_change SETUID setuid
  assert_contains " $(_moot_advice setuid_change) " " SETUID " "advice.add for setuid(65534) as root"
}

# capset(2) that keeps the inheritable set: CAP_SETPCAP is asked and does not
# matter; as root (granted) and as a user (denied).
test_moot_capset_keep() {
  _moot_python
  require_helper moot_calls
  _moot_record capset_root -- "$HELPERS/moot_calls" capset-keep
  assert_eq 0 "$MOOT_RC" "exit status of moot_calls capset-keep as root"
  _moot_expect_moot capset_root SETPCAP capset
  _moot_record capset_user --user 1000:1000 -- "$HELPERS/moot_calls" capset-keep
  assert_eq 0 "$MOOT_RC" "exit status of moot_calls capset-keep as 1000:1000"
  _moot_expect_moot capset_user SETPCAP capset
  assert_eq "" "$(_moot_advice capset_user)" "advice.add for a capset that keeps the sets, as a user"
}

# Positive control: growing the inheritable set beyond inheritable |
# permitted needs SETPCAP: that capset's check is not moot (the first capset
# of the helper, which only shrinks permitted, is).
test_moot_capset_grow_is_needed() {
  _moot_python
  require_helper moot_calls
  _moot_record capset_grow -- "$HELPERS/moot_calls" capset-grow
  assert_eq 0 "$MOOT_RC" "exit status of moot_calls capset-grow as root"
  local rows
  rows=$(_moot_checks capset_grow SETPCAP capset)
  assert_contains "$rows" "needed " "SETPCAP checks in capset (one grows inheritable)"
  assert_contains "$rows" "moot " "SETPCAP checks in capset (one only shrinks permitted)"
  assert_contains " $(_moot_advice capset_grow) " " SETPCAP " "advice.add for a capset growing inheritable"
}

# Reading a 0644 net sysctl: NET_ADMIN asked on each open and read, moot for
# a user (other bits allow the read as well as owner bits) and for root.
test_moot_sysctl_net_read() {
  _moot_python
  require_helper moot_calls
  [[ -r $MOOT_SYSCTL ]] || skip "$MOOT_SYSCTL not readable here"
  _moot_record sysctl_user --user 1000:1000 -- "$HELPERS/moot_calls" sysctl-read "$MOOT_SYSCTL"
  assert_eq 0 "$MOOT_RC" "exit status of reading $MOOT_SYSCTL as 1000:1000"
  assert_eq "$(cat "$MOOT_SYSCTL")" "$(cat "$TEST_TMP/sysctl_user.out")" "what the user read"
  if [[ -z "$(_moot_checks sysctl_user NET_ADMIN openat)" ]]; then
    # Kernels whose BTF lacks net_ctl_permissions, or kprobe mode: the
    # mode of the entry is not known, so nothing can be moot there.
    skip "no NET_ADMIN check at all when reading $MOOT_SYSCTL (attach mode $(grep -o '"attach_mode": *"[a-z]*"' "$TEST_TMP/sysctl_user.json"))"
  fi
  _moot_expect_moot sysctl_user NET_ADMIN openat
  assert_eq "" "$(_moot_advice sysctl_user)" "advice.add for reading $MOOT_SYSCTL as a user"
  _moot_record sysctl_root -- "$HELPERS/moot_calls" sysctl-read "$MOOT_SYSCTL"
  assert_eq 0 "$MOOT_RC" "exit status of reading $MOOT_SYSCTL as root"
  _moot_expect_moot sysctl_root NET_ADMIN openat
  assert_eq "" "$(_moot_advice sysctl_root)" "advice.add for reading $MOOT_SYSCTL as root"
}

# Positive control: a user opening a net sysctl for writing is refused
# without NET_ADMIN (other bits r--) and would be allowed with it (owner
# bits rw-): not moot. (Root opening it for writing is moot: euid 0 gets the
# owner bits either way; that is checked too, writing back the value it
# read. The write(2) itself stays needed: a handler may ask NET_ADMIN there.)
test_moot_sysctl_net_write() {
  _moot_python
  require_helper moot_calls
  [[ -r $MOOT_SYSCTL ]] || skip "$MOOT_SYSCTL not readable here"
  _moot_record sysctl_wuser --user 1000:1000 -- "$HELPERS/moot_calls" sysctl-write "$MOOT_SYSCTL"
  assert_eq 3 "$MOOT_RC" "exit status of opening $MOOT_SYSCTL for writing as 1000:1000 (3: EACCES)"
  [[ -n "$(_moot_checks sysctl_wuser NET_ADMIN openat)" ]] ||
    skip "no NET_ADMIN check at all when opening $MOOT_SYSCTL"
  local rows
  rows=$(_moot_checks sysctl_wuser NET_ADMIN openat)
  assert_contains "$rows" "needed " "NET_ADMIN checks in openat (the write open is refused without it)"
  _moot_record sysctl_wroot -- "$HELPERS/moot_calls" sysctl-write "$MOOT_SYSCTL"
  assert_eq 0 "$MOOT_RC" "exit status of writing $MOOT_SYSCTL back as root"
  rows=$(_moot_checks sysctl_wroot NET_ADMIN openat)
  [[ -n "$rows" ]] || fail "sysctl_wroot: no NET_ADMIN check in openat"
  if grep -qv '^moot ' <<<"$rows"; then
    fail "sysctl_wroot: root's NET_ADMIN checks in openat are not all moot: $(_lib_abbrev "$rows")"
  fi
  assert_contains "$(_moot_checks sysctl_wroot NET_ADMIN write)" "needed " \
    "root's NET_ADMIN check in write(2) (kept needed: a handler may ask it there)"
}
