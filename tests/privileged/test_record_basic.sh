# shellcheck shell=bash
# `capscope record` on real workloads. Every test asserts both the advice
# (`--format docker -o -`, exactly one line) and that the workload's effect
# really happened, so a tracer that prevented the act cannot pass.
# The functions here run under lib.sh (see run.sh).

# chown of a file to another user needs CHOWN.
test_record_chown() {
  local f="$TEST_TMP/file"
  touch "$f"
  expect_advice "--cap-drop=ALL --cap-add=CHOWN" -- chown 1000 "$f"
  assert_eq "" "$REC_OUTPUT" "workload output"
  assert_eq 1000 "$(stat -c %u "$f")" "owner of $f after chown"
}

# A negative nice value needs SYS_NICE.
test_record_nice_negative() {
  require_helper nice_neg
  expect_advice "--cap-drop=ALL --cap-add=SYS_NICE" -- "$HELPERS/nice_neg"
  assert_eq "nice -5" "$REC_OUTPUT" "nice_neg output"
}

# Binding a port below 1024 needs NET_BIND_SERVICE.
test_record_bind_port_80() {
  require_helper bind_port
  require_free_port 80
  expect_advice "--cap-drop=ALL --cap-add=NET_BIND_SERVICE" -- "$HELPERS/bind_port" 80
  assert_eq "bound 80" "$REC_OUTPUT" "bind_port output"
}

# Creating a device node needs MKNOD.
test_record_mknod() {
  local node="$TEST_TMP/dev"
  expect_advice "--cap-drop=ALL --cap-add=MKNOD" -- mknod "$node" c 1 3
  [[ -c "$node" ]] || fail "$node is not a character device after mknod"
  assert_eq "1:3" "$(stat -c '%Hr:%Lr' "$node")" "device numbers of $node"
}

# chroot needs SYS_CHROOT. The command run inside reads a file that exists
# only in the new root, which proves the chroot happened.
test_record_chroot() {
  local rootfs="$TEST_TMP/rootfs" marker
  bash "$REPO_ROOT/scripts/mkrootfs.sh" "$rootfs" >&2 || fail "scripts/mkrootfs.sh $rootfs failed"
  marker="inside-rootfs-$$-$RANDOM"
  echo "$marker" >"$rootfs/marker"
  expect_advice "--cap-drop=ALL --cap-add=SYS_CHROOT" -- chroot "$rootfs" /bin/cat /marker
  assert_eq "$marker" "$REC_OUTPUT" "output of cat /marker inside the chroot"
}

# A new UTS namespace and sethostname in it need SYS_ADMIN. The helper also
# makes the fork's memory accounting run the overcommit probe (SYS_ADMIN,
# noise): only the real use may count, and here there is one.
test_record_clone_newuts() {
  require_helper clone_newuts
  local host_before host_after
  host_before=$(uname -n)
  expect_advice "--cap-drop=ALL --cap-add=SYS_ADMIN" -- "$HELPERS/clone_newuts"
  assert_eq "hostname capscope-test in new UTS namespace" "$REC_OUTPUT" "clone_newuts output"
  host_after=$(uname -n)
  assert_eq "$host_before" "$host_after" "host's hostname (must not change)"
}

# An unprivileged user binding a high port needs nothing; capscope's own
# switch to that user is not the workload's.
test_record_user_unprivileged() {
  require_helper bind_port
  require_free_port 8000
  # A copy that uid 1000 can surely run, wherever the checkout lives.
  chmod 0755 "$TEST_TMP"
  mkdir -p "$TEST_TMP/bin"
  cp "$HELPERS/bind_port" "$TEST_TMP/bin/bind_port"
  chmod 0755 "$TEST_TMP/bin" "$TEST_TMP/bin/bind_port"
  expect_advice "--cap-drop=ALL" --user 1000:1000 -- "$TEST_TMP/bin/bind_port" 8000
  assert_eq "bound 8000" "$REC_OUTPUT" "bind_port output as uid 1000"
}

# Only memory and processes: every check is the overcommit probe (noise).
test_record_mem_churn() {
  require_helper mem_churn
  expect_advice "--cap-drop=ALL" -- "$HELPERS/mem_churn"
  assert_eq "" "$REC_OUTPUT" "mem_churn output"
}

# A workload that daemonizes: the chown happens in a grandchild, 300 ms after
# the first process exited. The session must last until the grandchild is
# done, so the file is already owned by 1000 when capscope returns.
test_record_daemonized_child() {
  require_helper daemonize_then
  local f="$TEST_TMP/file"
  touch "$f"
  expect_advice "--cap-drop=ALL --cap-add=CHOWN" -- "$HELPERS/daemonize_then" chown 1000 "$f"
  assert_eq 1000 "$(stat -c %u "$f")" "owner of $f when capscope returned"
}

# Another process on the host keeps chowning while a workload that needs
# nothing is recorded: the host's checks are not the workload's.
test_record_ignores_host_activity() {
  local f="$TEST_TMP/host-file" count="$TEST_TMP/host-count" loop before after
  touch "$f"
  : >"$count"
  (
    while :; do
      chown 1000 "$f"
      chown 0 "$f"
      echo x >>"$count"
    done
  ) >/dev/null 2>&1 &
  loop=$!
  bg_track "$loop"
  # Let the loop get going, so it surely overlaps the recording.
  for _ in $(seq 50); do
    [[ -s "$count" ]] && break
    sleep 0.1
  done
  [[ -s "$count" ]] || fail "the host chown loop did not start"
  before=$(wc -l <"$count")
  expect_advice "--cap-drop=ALL" -- sleep 1
  after=$(wc -l <"$count")
  bg_stop "$loop"
  ((after > before)) || fail "the host chown loop made no progress during the recording ($before -> $after)"
  echo "host loop chowned during the recording: $((after - before)) round(s)" >&2
}

# A shell script that needs three capabilities: all three, sorted.
test_record_script_three_caps() {
  require_helper bind_port
  require_free_port 80
  local script="$TEST_TMP/workload.sh" f="$TEST_TMP/file" node="$TEST_TMP/node"
  touch "$f"
  cat >"$script" <<'SCRIPT'
#!/bin/sh
set -eu
chown 1000 "$1"
"$2" 80
mknod "$3" c 1 3
SCRIPT
  chmod 0755 "$script"
  expect_advice "--cap-drop=ALL --cap-add=CHOWN --cap-add=MKNOD --cap-add=NET_BIND_SERVICE" \
    -- "$script" "$f" "$HELPERS/bind_port" "$node"
  assert_eq "bound 80" "$REC_OUTPUT" "script output"
  assert_eq 1000 "$(stat -c %u "$f")" "owner of $f"
  [[ -c "$node" ]] || fail "$node is not a character device"
}

# The README's example workload: CHOWN and NET_BIND_SERVICE, nothing else.
test_record_example_demo() {
  require_free_port 80
  local demo="$REPO_ROOT/examples/privileged-demo.sh"
  [[ -x "$demo" ]] || fail "$demo missing or not executable"
  expect_advice "--cap-drop=ALL --cap-add=CHOWN --cap-add=NET_BIND_SERVICE" -- "$demo"
  assert_contains "$REC_OUTPUT" "listened on TCP port 80" "demo output"
  assert_contains "$REC_OUTPUT" "chowned it to uid 1000" "demo output"
}

# `--format json` writes a profile that follows schema/profile.schema.json.
test_record_json_profile_schema() {
  local schema="$REPO_ROOT/schema/profile.schema.json" f="$TEST_TMP/file" profile="$TEST_TMP/p.json" rc=0
  [[ -f "$schema" ]] || skip "no schema/profile.schema.json in the repository yet"
  [[ -x /usr/bin/python3 ]] || skip "/usr/bin/python3 missing (apt-get install python3 python3-jsonschema)"
  /usr/bin/python3 -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema not installed"
  touch "$f"
  run_capscope record --format json -o "$profile" -- chown 1000 "$f" >&2 || rc=$?
  assert_eq 0 "$rc" "exit status of capscope record --format json"
  assert_eq 1000 "$(stat -c %u "$f")" "owner of $f"
  [[ -s "$profile" ]] || fail "no profile written to $profile"
  cat "$profile" >&2
  /usr/bin/python3 - "$schema" "$profile" <<'PY' || fail "profile does not validate against schema/profile.schema.json (see output)"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
errors = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.path))
for e in errors:
    print("schema error at /%s: %s" % ("/".join(map(str, e.path)), e.message), file=sys.stderr)
if doc.get("schema") != "capscope.profile/v1":
    print("schema field is %r, expected 'capscope.profile/v1'" % doc.get("schema"), file=sys.stderr)
    sys.exit(1)
sys.exit(1 if errors else 0)
PY
  assert_contains "$(cat "$profile")" "CHOWN" "profile of a chown"
}

# Every check's first/last seen lies inside the recording window, for a
# workload whose checks land on both CPUs (a per-CPU count that started on
# another CPU once reported "first seen" at boot time).
test_record_times_inside_window() {
  require_helper mem_churn
  local profile="$TEST_TMP/p.json" rc=0
  run_capscope record --format json -o "$profile" -- sh -c \
    "$HELPERS/mem_churn 100 & $HELPERS/mem_churn 100 & wait" >&2 || rc=$?
  assert_eq 0 "$rc" "exit status of capscope record"
  local outside
  # Checks whose first or last seen lies more than 1 s outside the window.
  outside=$(json_get "$profile" '(lambda t, lo, hi: [(c["cap"], c["class"], c["first_seen"], c["last_seen"]) for c in d["checks"] if not (lo <= t(c["first_seen"]) <= hi and lo <= t(c["last_seen"]) <= hi)])(
    lambda s: datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ"),
    datetime.strptime(d["window"]["start"], "%Y-%m-%dT%H:%M:%S.%fZ") - timedelta(seconds=1),
    datetime.strptime(d["window"]["end"], "%Y-%m-%dT%H:%M:%S.%fZ") + timedelta(seconds=1))')
  echo "checks: $(json_get "$profile" 'len(d["checks"])') outside the window: $outside" >&2
  assert_eq "" "$outside" "checks outside the recording window"
  [[ "$(json_get "$profile" 'len(d["checks"])')" -gt 0 ]] || fail "no checks in the profile"
}

# Exact counts at full rate on two threads, with the BPF side's task and
# count caches (the default) and without them (CAPSCOPE_NO_CACHES=1: every
# check goes through the hash maps): the SYS_NICE count is exactly the
# number of checks capgen made (one per call, see tests/bench/capgen.cpp),
# and no first-seen event was lost.
test_record_exact_counts_both_paths() {
  local capgen="$REPO_ROOT/build/tests/bench/capgen" profile got nocache
  [[ -x "$capgen" ]] || skip "load generator not built (expected $capgen)"
  for nocache in 0 1; do
    profile="$TEST_TMP/p$nocache.json"
    CAPSCOPE_NO_CACHES=$nocache run_capscope record --format json -o "$profile" -- \
      "$capgen" --op ioprio --threads 2 --iters 25000 >&2 ||
      fail "capscope record of capgen exited non-zero (CAPSCOPE_NO_CACHES=$nocache)"
    got=$(json_get "$profile" '(sum(c["granted"] + c["denied"] for c in d["checks"] if c["cap"] == "SYS_NICE"), d["lost_events"], d["map_overflows"]["tasks"] + d["map_overflows"]["counts"])')
    assert_eq "50000 0 0" "$got" "SYS_NICE checks, lost events, map overflows (CAPSCOPE_NO_CACHES=$nocache)"
  done
  # Keys in turn (SYS_NICE needed, SYS_ADMIN overcommit, every check a
  # different key from the one before): the hot key moves on every check.
  profile="$TEST_TMP/alt.json"
  run_capscope record --format json -o "$profile" -- \
    "$capgen" --op alternate --threads 2 --iters 20000 >&2 ||
    fail "capscope record of capgen --op alternate exited non-zero"
  # capgen's own start-up makes a few dozen more overcommit checks.
  got=$(json_get "$profile" '(lambda over: (sum(c["granted"] for c in d["checks"] if c["cap"] == "SYS_NICE"), "overcommit>=40000" if over >= 40000 else over, d["lost_events"]))(
    sum(c["granted"] for c in d["checks"] if c["cap"] == "SYS_ADMIN" and c["class"] == "overcommit"))')
  assert_eq "40000 overcommit>=40000 0" "$got" "SYS_NICE and overcommit checks of 2 x 20000 alternating calls"
}

# The stack-free classifier (tracepoint mode: cap_capable's callers read at
# offsets learnt from a real stack) must give every doubtful check the class
# the real stack gives. The same workloads are recorded with it and without
# it (CAPSCOPE_NO_FAST_CLASS=1): the overcommit probes of 20000 mmaps, 20000
# SYS_ADMIN checks that are really needed (ioprio-rt: these always take the
# real stack), and a fork, a namespace and a sethostname. The classes and
# counts of the loops' checks are the same both ways, and with it on, most
# overcommit probes were classified without a stack and no sampled check
# disagreed with its stack.
test_record_stack_free_classes_agree() {
  require_helper clone_newuts
  local capgen="$REPO_ROOT/build/tests/bench/capgen" fast op got want line
  [[ -x "$capgen" ]] || skip "load generator not built (expected $capgen)"
  for op in mmap ioprio-rt; do
    for fast in 1 0; do
      CAPSCOPE_NO_FAST_CLASS=$((1 - fast)) run_capscope record -v --format json \
        -o "$TEST_TMP/$op-$fast.json" -- "$capgen" --op "$op" --threads 1 --iters 20000 \
        >"$TEST_TMP/$op-$fast.out" 2>"$TEST_TMP/$op-$fast.err" ||
        fail "capscope record of capgen --op $op failed (fast=$fast): $(tail -n 3 "$TEST_TMP/$op-$fast.err")"
    done
    line=$(grep 'classified without a stack' "$TEST_TMP/$op-1.err") ||
      fail "record -v did not report the stack-free classifier"
    echo "$op: $line" >&2
    [[ "$line" == *"disagreed: 0)"* ]] || fail "a sampled stack disagreed with the stack-free class: $line"
    if [[ $op == mmap ]]; then
      [[ "$line" =~ without\ a\ stack:\ ([0-9]+) ]] && ((BASH_REMATCH[1] >= 19000)) ||
        fail "fewer than 19000 of 20000 overcommit probes classified without a stack: $line"
    fi
    for fast in 1 0; do
      # The loop's checks: 20000 overcommit probes for mmap (plus capgen's
      # own few dozen start-up ones), 20000 needed checks for ioprio-rt.
      got=$(json_get "$TEST_TMP/$op-$fast.json" '(lambda by: ("overcommit>=20000" if by.get("overcommit", 0) >= 20000 else by, "needed", by.get("needed", 0)) if args[0] == "mmap" else ("needed", by.get("needed", 0)))(
        {c["class"]: c["granted"] for c in d["checks"] if c["cap"] == "SYS_ADMIN" and c["class"] != "setup"})' "$op")
      [[ $fast == 1 ]] && want=$got
      assert_eq "$want" "$got" "SYS_ADMIN classes of capgen --op $op with the stack-free classifier (first) and without"
    done
    case $op in
    mmap) assert_eq "overcommit>=20000 needed 0" "$want" "SYS_ADMIN classes of 20000 mmaps" ;;
    ioprio-rt) assert_eq "needed 20000" "$want" "SYS_ADMIN classes of 20000 ioprio_set(RT)" ;;
    esac
  done
  # A mixed workload: the (cap, class, syscall) keys agree both ways.
  for fast in 1 0; do
    CAPSCOPE_NO_FAST_CLASS=$((1 - fast)) run_capscope record --format json -o "$TEST_TMP/mix-$fast.json" -- \
      sh -c "$HELPERS/clone_newuts && $HELPERS/mem_churn" >&2 || fail "record of the mixed workload failed (fast=$fast)"
  done
  local keys='sorted({(c["cap"], c["class"], ",".join(c["syscalls"])) for c in d["checks"]})'
  assert_eq "$(json_get "$TEST_TMP/mix-0.json" "$keys")" "$(json_get "$TEST_TMP/mix-1.json" "$keys")" \
    "(cap, class, syscalls) of clone_newuts + mem_churn without (expected) and with the stack-free classifier"
}

# An executable whose path is not UTF-8 (any bytes are a valid file name):
# the JSON profile is still written, with the bad byte replaced, and still
# names the capability it used.
test_record_json_non_utf8_exe() {
  local dir="$TEST_TMP/bin" f="$TEST_TMP/owned" out="$TEST_TMP/p.json"
  local exe
  exe="$dir/$(printf 'ch\377own')"
  mkdir -p "$dir"
  cp "$(command -v chown)" "$exe"
  touch "$f"
  "$CAPSCOPE" record --format json -o "$out" -- "$exe" 1000 "$f" ||
    fail "record --format json of a non-UTF-8 executable failed"
  python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$out" ||
    fail "$out is not valid JSON"
  assert_eq "CHOWN" "$(json_get "$out" 'd["advice"]["add"][0]')" "advised capability"
  grep -q 'ch\\ufffdown\|ch�own' "$out" || fail "executable name not in $out"
  assert_eq 1000 "$(stat -c %u "$f")" "owner of $f after chown"
}

# The compat object (bpf/cs_compat.h: no BPF atomic instructions, no task
# cache, registers copied from the task's stack) is what kernels older than
# 5.12 load; CAPSCOPE_COMPAT_OBJECT=1 loads it here too. A chown and a
# set-id call that changes nothing keep their advice, syscall and class.
test_record_compat_object() {
  local f="$TEST_TMP/owned" out="$TEST_TMP/p.json" err="$TEST_TMP/err"
  require_helper moot_calls
  touch "$f"
  CAPSCOPE_COMPAT_OBJECT=1 "$CAPSCOPE" record -v --format json -o "$out" -- \
    sh -c "chown 1000 '$f' && '$HELPERS/moot_calls' setid-same" 2>"$err" ||
    { cat "$err" >&2; fail "record with the compat object failed"; }
  grep -q "ok (compat object" "$err" || { cat "$err" >&2; fail "the compat object was not loaded"; }
  assert_eq "CHOWN" "$(json_get "$out" '",".join(d["advice"]["add"])')" "advice"
  assert_eq "fchownat" "$(json_get "$out" '",".join(c.get("syscalls", [""])[0] for c in d["checks"] if c["cap"] == "CHOWN")')" "syscall of the CHOWN check"
  assert_eq "moot" "$(json_get "$out" '",".join(sorted(set(c["class"] for c in d["checks"] if c["cap"] in ("SETUID", "SETGID"))))')" "class of the set-id checks"
  assert_eq 1000 "$(stat -c %u "$f")" "owner of $f after chown"
}
