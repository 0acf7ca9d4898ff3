# shellcheck shell=bash
# The call-site cache (bpf/cs_sitecache.h): in tracepoint mode a doubtful
# check is classified from return addresses read above the tracepoint's
# ctx, each looked up in a cache filled by earlier real stack walks. Every
# test records the same workload with it (the default) and with real
# stacks only (CAPSCOPE_NO_FAST_CLASS=1) and asserts the classes and counts
# agree, that the cache answered most checks, and that no sampled real
# stack disagreed with it (the disagreement counter of `record -v`).
# The functions here run under lib.sh (see run.sh).

# sitecache_record NAME NO_FAST CMD...: record CMD to $TEST_TMP/NAME.json
# (-v output in NAME.err).
sitecache_record() {
  local name=$1 nofast=$2
  shift 2
  CAPSCOPE_NO_FAST_CLASS=$nofast run_capscope record -v --format json \
    -o "$TEST_TMP/$name.json" -- "$@" >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.err" ||
    fail "capscope record ($name) failed: $(tail -n 3 "$TEST_TMP/$name.err")"
}

# sitecache_line NAME: the -v line about the cache; fails on a disagreement.
sitecache_line() {
  local line
  line=$(grep 'call-site cache:' "$TEST_TMP/$1.err") ||
    fail "record -v did not report the call-site cache ($1)"
  echo "$1: $line" >&2
  [[ "$line" == *"disagreed: 0" ]] || fail "a sampled stack disagreed with the call-site cache ($1): $line"
  [[ "$line" =~ cache:\ ([0-9]+)\ hits ]] || fail "no hit count in: $line"
  echo "${BASH_REMATCH[1]}"
}

# stackfree_line NAME: the -v count of checks classified without a stack
# (every stack-free path); fails on a disagreement.
stackfree_line() {
  local line
  line=$(grep 'classified without a stack:' "$TEST_TMP/$1.err") ||
    fail "record -v did not report the stack-free checks ($1)"
  echo "$1: $line" >&2
  [[ "$line" == *"disagreed: 0)"* ]] || fail "a sampled stack disagreed with a stack-free answer ($1): $line"
  [[ "$line" =~ without\ a\ stack:\ ([0-9]+) ]] || fail "no count in: $line"
  echo "${BASH_REMATCH[1]}"
}

# Each capgen op of the benchmark: one doubtful check per call, 20000 calls.
# Overcommit probes stay overcommit, the needed SYS_ADMIN of ioprio-rt stays
# needed, set-id and capset calls that change nothing stay moot (decided per
# call after the cached class), NOAUDIT SYS_PTRACE stays advisory.
test_sitecache_ops_agree_with_stacks() {
  local capgen="$REPO_ROOT/build/tests/bench/capgen" op cap want got hits
  [[ -x "$capgen" ]] || skip "load generator not built (expected $capgen)"
  for spec in "mmap SYS_ADMIN overcommit" "ioprio-rt SYS_ADMIN needed" \
    "setgid SETGID moot" "capset SETPCAP moot" "procstat SYS_PTRACE advisory"; do
    read -r op cap want <<<"$spec"
    sitecache_record "$op-cache" 0 "$capgen" --op "$op" --threads 1 --iters 20000
    sitecache_record "$op-stack" 1 "$capgen" --op "$op" --threads 1 --iters 20000
    hits=$(sitecache_line "$op-cache")
    if [[ $op == setgid || $op == capset ]]; then
      # SETGID and SETPCAP are listed at an exec-time site only: outside
      # execve no stack is needed (exec_rule in bpf/cs_classify.h), so the
      # cache is not even asked.
      hits=$(stackfree_line "$op-cache")
      ((hits >= 19000)) || fail "$op: fewer than 19000 of 20000 checks classified without a stack ($hits)"
    else
      ((hits >= 19000)) || fail "$op: fewer than 19000 of 20000 checks classified by the call-site cache ($hits)"
    fi
    # The loop's checks (capgen's start-up adds a few dozen overcommit
    # probes, so mmap's count is a lower bound).
    local expr='(lambda by: by)({c["class"]: c["granted"] for c in d["checks"] if c["cap"] == args[0] and c["class"] != "setup"})'
    got=$(json_get "$TEST_TMP/$op-cache.json" "$expr" "$cap")
    assert_eq "$(json_get "$TEST_TMP/$op-stack.json" "$expr" "$cap")" "$got" \
      "$cap classes of capgen --op $op, real stacks (expected) and the call-site cache"
    got=$(json_get "$TEST_TMP/$op-cache.json" \
      'sum(c["granted"] for c in d["checks"] if c["cap"] == args[0] and c["class"] == args[1])' "$cap" "$want")
    if [[ $op == mmap ]]; then
      ((got >= 20000)) || fail "mmap: $got overcommit checks, expected >= 20000"
    else
      assert_eq 20000 "$got" "$cap $want checks of 20000 capgen --op $op calls"
    fi
  done
}

# Two SYS_ADMIN checks in turn from different call sites of different
# classes (capgen --op alternate-sites: ioprio_set RT, needed; mmap,
# overcommit). The per-CPU memo keeps the last site's answer only while
# the words above ctx match the frames that decided it, so each call must
# still get its own class: exactly one needed check per ioprio_set and
# every overcommit probe overcommit, as with real stacks.
test_sitecache_alternating_sites() {
  local capgen="$REPO_ROOT/build/tests/bench/capgen" hits got
  [[ -x "$capgen" ]] || skip "load generator not built (expected $capgen)"
  sitecache_record alt-cache 0 "$capgen" --op alternate-sites --threads 1 --iters 20000
  sitecache_record alt-stack 1 "$capgen" --op alternate-sites --threads 1 --iters 20000
  hits=$(sitecache_line alt-cache)
  ((hits >= 38000)) || fail "fewer than 38000 of 40000 checks classified by the call-site cache ($hits)"
  got=$(json_get "$TEST_TMP/alt-cache.json" \
    'sum(c["granted"] for c in d["checks"] if c["cap"] == "SYS_ADMIN" and c["class"] == "needed")')
  assert_eq 20000 "$got" "needed SYS_ADMIN checks of 20000 ioprio_set(RT) calls alternating with mmap"
  local expr='sorted((c["class"], ",".join(c["syscalls"])) for c in d["checks"] if c["cap"] == "SYS_ADMIN" and c["class"] != "setup")'
  assert_eq "$(json_get "$TEST_TMP/alt-stack.json" "$expr")" "$(json_get "$TEST_TMP/alt-cache.json" "$expr")" \
    "SYS_ADMIN classes and syscalls, real stacks (expected) and the call-site cache"
}

# An advisory wrapper called directly from a needed site is needed
# (class_of_stack): seccomp's NOAUDIT gate. The cache first learns
# ns_capable_noaudit from 20000 advisory /proc/PID/stat reads, then sees 30
# filter installs without no_new_privs: their gate checks must still be
# needed (the frame after the wrapper is looked at every time), the
# stat reads advisory, and the keys the same as with real stacks.
test_sitecache_advisory_from_needed_after_warmup() {
  require_helper seccomp_install
  local capgen="$REPO_ROOT/build/tests/bench/capgen" got hits
  [[ -x "$capgen" ]] || skip "load generator not built (expected $capgen)"
  local script="$capgen --op procstat --threads 1 --iters 20000 >/dev/null &&
    for i in \$(seq 30); do $HELPERS/seccomp_install >/dev/null || exit 1; done"
  sitecache_record warm-cache 0 sh -c "$script"
  sitecache_record warm-stack 1 sh -c "$script"
  hits=$(sitecache_line warm-cache)
  ((hits >= 19000)) || fail "fewer than 19000 checks classified by the call-site cache ($hits)"
  local expr='sorted((c["cap"], c["class"], ",".join(c["syscalls"]), c["granted"]) for c in d["checks"] if c["cap"] == "SYS_PTRACE" or (c["cap"] == "SYS_ADMIN" and "prctl" in c["syscalls"]))'
  got=$(json_get "$TEST_TMP/warm-cache.json" "$expr")
  echo "keys: $got" >&2
  assert_eq "$(json_get "$TEST_TMP/warm-stack.json" "$expr")" "$got" \
    "SYS_PTRACE and prctl SYS_ADMIN keys, real stacks (expected) and the call-site cache"
  got=$(json_get "$TEST_TMP/warm-cache.json" \
    'sum(c["granted"] for c in d["checks"] if c["cap"] == "SYS_ADMIN" and c["class"] == "needed" and c["syscalls"] == ["prctl"])')
  assert_eq 30 "$got" "needed SYS_ADMIN checks in prctl (the seccomp gate) of 30 installs"
  got=$(json_get "$TEST_TMP/warm-cache.json" \
    'sum(c["granted"] for c in d["checks"] if c["cap"] == "SYS_PTRACE" and c["class"] == "advisory")')
  assert_eq 20000 "$got" "advisory SYS_PTRACE checks of 20000 /proc/PID/stat reads"
}

# The exec-only rule (bpf/cs_classify.h): set-id and SETPCAP checks
# outside exec are classified without a stack, and give the same keys as
# real stacks. setpriv switching to uid 65534 and exec'ing a setuid-root
# copy of `true` makes set-id checks in setresuid/setgroups and capset
# checks, then an exec of a set-id program. (No capability is asked inside
# that exec here: a plain set-id exec checks none, and under no_new_privs
# the kernel skips the transition; the exec-time site list itself is
# checked by the unit tier, test_noise.cpp.)
test_sitecache_exec_rule_agrees_with_stacks() {
  local t="$TEST_TMP/suid-true" got
  cp /bin/true "$t" && chmod 4755 "$t" && chmod 755 "$TEST_TMP"
  local script="for i in \$(seq 50); do setpriv --reuid 65534 --regid 65534 --clear-groups $t || exit 1; done"
  sitecache_record exec-rule 0 sh -c "$script"
  sitecache_record exec-stack 1 sh -c "$script"
  local expr='sorted((c["cap"], c["class"], ",".join(c["syscalls"]), c["granted"] + c["denied"]) for c in d["checks"] if c["cap"] in ("SETUID", "SETGID", "SETPCAP") and c["class"] != "setup")'
  got=$(json_get "$TEST_TMP/exec-rule.json" "$expr")
  echo "keys: $got" >&2
  assert_eq "$(json_get "$TEST_TMP/exec-stack.json" "$expr")" "$got" \
    "set-id and SETPCAP keys around a setuid exec, real stacks (expected) and stack-free"
  got=$(json_get "$TEST_TMP/exec-rule.json" \
    'sum(c["granted"] for c in d["checks"] if c["cap"] == "SETUID" and c["class"] == "needed" and "setresuid" in c["syscalls"])')
  assert_eq 50 "$got" "needed SETUID checks in setresuid of 50 setpriv runs"
  got=$(stackfree_line exec-rule)
  ((got >= 150)) || fail "setpriv's set-id checks were not classified without a stack ($got)"
}

# With the cache off (CAPSCOPE_NO_SITE_CACHE=1) the fast classifier alone
# still classifies as before: the cache is not needed for correctness.
test_sitecache_off_switch() {
  local capgen="$REPO_ROOT/build/tests/bench/capgen" line
  [[ -x "$capgen" ]] || skip "load generator not built (expected $capgen)"
  CAPSCOPE_NO_SITE_CACHE=1 run_capscope record -v --format json -o "$TEST_TMP/off.json" -- \
    "$capgen" --op ioprio-rt --threads 1 --iters 5000 >/dev/null 2>"$TEST_TMP/off.err" ||
    fail "record with CAPSCOPE_NO_SITE_CACHE=1 failed: $(tail -n 3 "$TEST_TMP/off.err")"
  line=$(grep 'call-site cache:' "$TEST_TMP/off.err") || fail "record -v did not report the call-site cache"
  assert_contains "$line" "cache: 0 hits, 0 misses" "-v line with the cache off"
  assert_eq 5000 "$(json_get "$TEST_TMP/off.json" \
    'sum(c["granted"] for c in d["checks"] if c["cap"] == "SYS_ADMIN" and c["class"] == "needed")')" \
    "needed SYS_ADMIN checks of 5000 ioprio_set(RT) with the cache off"
}
