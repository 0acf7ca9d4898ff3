#!/bin/sh
# Runs inside the capscope test guest (busybox sh, kernel without the
# capability:cap_capable tracepoint). For each attach mode: record real
# workloads and assert the same advice as on a 6.18 host with the tracepoint.
# Prints "VMTEST PASS|FAIL|SKIP NAME" per test and a summary line
# "VMTEST SUMMARY: N passed, N failed, N skipped".
# Environment (from the kernel command line via /init): VMTEST_MODES.
CS=/bin/capscope
H=/helpers
MODES=$(echo "${VMTEST_MODES:-fexit,kprobe}" | tr , " ")
TO=${VMTEST_RECORD_TIMEOUT:-120}
passed=0 failed=0 skipped=0
W=/tmp/vmtest
mkdir -p "$W"

pass() { passed=$((passed + 1)); echo "VMTEST PASS $1"; }
fail() { failed=$((failed + 1)); echo "VMTEST FAIL $1: $2"; }
skip() { skipped=$((skipped + 1)); echo "VMTEST SKIP $1: $2"; }

# Does the overcommit probe reach an out-of-line cap_capable on this kernel?
# Counted with tracefs kprobes (not capscope): hits of cap_vm_enough_memory
# and of cap_capable while mem_churn runs. Some builds (Debian 12's 6.1)
# inline cap_capable into cap_vm_enough_memory, and then no fexit or kprobe
# on cap_capable can ever see that check.
probe_reaches_cap_capable() {
  T=/sys/kernel/tracing
  echo 'p:vmt_cvm cap_vm_enough_memory' >>$T/kprobe_events 2>/dev/null || return 2
  echo 'p:vmt_cap cap_capable' >>$T/kprobe_events 2>/dev/null || return 2
  echo >$T/trace
  echo 1 >$T/events/kprobes/enable
  /helpers/mem_churn 3 >/dev/null 2>&1 &
  wait $!
  echo 0 >$T/events/kprobes/enable
  PROBE_CVM=$(grep 'mem_churn-' $T/trace | grep -c 'vmt_cvm:')
  PROBE_CAP=$(grep 'mem_churn-' $T/trace | grep -c 'vmt_cap:')
  echo '-:vmt_cvm' >>$T/kprobe_events; echo '-:vmt_cap' >>$T/kprobe_events
  echo "    kernel fact: under mem_churn cap_vm_enough_memory ran $PROBE_CVM time(s), cap_capable $PROBE_CAP time(s)"
  [ "$PROBE_CVM" -gt 0 ] && [ "$PROBE_CAP" -eq 0 ] && return 1
  return 0
}

# record MODE OUTFILE [record options] -- CMD...: the docker advice, the
# last line of stdout, goes to $ADVICE; stdout+stderr are in OUTFILE.
record() {
  mode=$1 out=$2
  shift 2
  RC=0
  timeout "$TO" "$CS" record --attach "$mode" --format docker -o - "$@" >"$out.stdout" 2>"$out.stderr" || RC=$?
  ADVICE=$(tail -n 1 "$out.stdout")
}

show() { # show OUTFILE: the record's output, indented, for the guest log
  echo "    --- stdout:"; sed 's/^/    | /' "$1.stdout"
  echo "    --- stderr:"; sed 's/^/    | /' "$1.stderr"
}

# expect NAME MODE EXPECTED [record options] -- CMD...
expect() {
  name=$1 mode=$2 want=$3
  shift 3
  o="$W/$(echo "$name" | tr / -)"
  record "$mode" "$o" "$@"
  if [ "$RC" != 0 ]; then
    fail "$name" "capscope record exited $RC"; show "$o"; return 1
  fi
  if [ "$ADVICE" != "$want" ]; then
    fail "$name" "advice '$ADVICE', expected '$want'"; show "$o"; return 1
  fi
  pass "$name"
}

# ---- doctor --------------------------------------------------------------
"$CS" doctor >"$W/doctor.out" 2>&1
rc=$?
echo "VMTEST doctor output (exit $rc):"
sed 's/^/    /' "$W/doctor.out"
t_doctor() {
  why=""
  grep -Eq '^tracepoint +capability:cap_capable absent' "$W/doctor.out" ||
    why="$why; tracepoint not reported absent"
  grep -Eq '^record will use: fexit' "$W/doctor.out" || why="$why; doctor does not choose fexit"
  grep -Eq '^ +fexit +loads and attaches' "$W/doctor.out" || why="$why; fexit not available"
  grep -Eq '^ +kprobe +loads and attaches' "$W/doctor.out" || why="$why; kprobe not available"
  grep -Eq '^ +tracepoint +loads and attaches' "$W/doctor.out" && why="$why; tracepoint mode claims to work"
  if [ -z "$why" ]; then pass doctor; else fail doctor "${why#; }"; fi
}
t_doctor

# ---- per attach mode ------------------------------------------------------
PROBE_INLINED=0
probe_reaches_cap_capable || { [ $? = 1 ] && PROBE_INLINED=1; }
for m in $MODES; do
  f="$W/file-$m"
  touch "$f"
  if expect "$m/chown" "$m" "--cap-drop=ALL --cap-add=CHOWN" -- chown 1000 "$f"; then
    owner=$(stat -c %u "$f")
    [ "$owner" = 1000 ] || fail "$m/chown-effect" "owner is $owner after chown, expected 1000"
  fi

  expect "$m/bind_port_80" "$m" "--cap-drop=ALL --cap-add=NET_BIND_SERVICE" -- "$H/bind_port" 80

  expect "$m/user_1000_port_8000" "$m" "--cap-drop=ALL" --user 1000 -- "$H/bind_port" 8000

  expect "$m/clone_newuts" "$m" "--cap-drop=ALL --cap-add=SYS_ADMIN" -- "$H/clone_newuts"

  expect "$m/mem_churn" "$m" "--cap-drop=ALL" -- "$H/mem_churn"

  # Noise agreement: the class the BPF side gave each new check (from
  # `opts` and its own stack walk) must agree with the stack it reports:
  # every check whose frames include security_vm_enough_memory_mm is
  # overcommit noise. The workload adds clone_newuts, whose SYS_ADMIN
  # (a doubtful capability: the BPF side walks the stack) is really needed,
  # so the events file has something in it whatever the kernel inlines.
  name="$m/noise_agreement"
  ev="$W/events-$m.jsonl"
  RC=0
  timeout "$TO" "$CS" record --attach "$m" -f json -o "$W/profile-$m.json" --events "$ev" \
    -- sh -c '/helpers/mem_churn && /helpers/clone_newuts' \
    >"$W/$m-noise.stdout" 2>"$W/$m-noise.stderr" || RC=$?
  if [ "$RC" != 0 ]; then
    fail "$name" "capscope record exited $RC"; show "$W/$m-noise"
    continue
  fi
  total=$(grep -c . "$ev" 2>/dev/null)
  probe=$(grep -c 'security_vm_enough_memory_mm' "$ev" 2>/dev/null)
  bad=$(grep 'security_vm_enough_memory_mm' "$ev" 2>/dev/null | grep -vc '"kernel_class":"overcommit"')
  classes=$(sed -n 's/.*"kernel_class":"\([a-z_]*\)".*/\1/p' "$ev" 2>/dev/null | sort | uniq -c | tr '\n' ' ')
  echo "    $name: ${total:-0} event(s), ${probe:-0} with security_vm_enough_memory_mm; kernel_class: $classes"
  # The stack and class of a check the BPF side classified from its stack.
  sa=$(grep '"cap":"SYS_ADMIN"' "$ev" 2>/dev/null | grep '"syscall":"sethostname"' | head -n 1)
  case $sa in
  *'"kernel_class":"needed"'*'"frames":['*'"'* | *'"frames":['*'"'*'"kernel_class":"needed"'*)
    pass "$m/events_stack" ;;
  *)
    fail "$m/events_stack" "no SYS_ADMIN sethostname check of class needed with a stack in $ev"
    sed 's/^/    | /' "$ev" ;;
  esac
  if [ "${probe:-0}" -eq 0 ] && [ "$PROBE_INLINED" = 1 ]; then
    skip "$name" "this kernel inlines cap_capable into cap_vm_enough_memory, so the overcommit probe never calls cap_capable and neither fexit nor kprobe can see it (nothing to classify; mem_churn advice still checked)"
  elif [ "${probe:-0}" -eq 0 ]; then
    fail "$name" "no event has security_vm_enough_memory_mm in its frames"
    sed 's/^/    | /' "$ev"
  elif [ "$bad" -ne 0 ]; then
    fail "$name" "$bad event(s) with security_vm_enough_memory_mm are not kernel_class overcommit"
    grep 'security_vm_enough_memory_mm' "$ev" | grep -v '"kernel_class":"overcommit"' | sed 's/^/    | /'
  else
    pass "$name"
  fi
done

echo "VMTEST SUMMARY: $passed passed, $failed failed, $skipped skipped"
if [ "$failed" -eq 0 ]; then echo "VMTEST RESULT: PASS"; else echo "VMTEST RESULT: FAIL"; fi
[ "$failed" -eq 0 ]
