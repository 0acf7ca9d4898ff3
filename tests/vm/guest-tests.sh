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

# noaudit_sites EVENTS: "CAP SITE KERNEL_CLASS CLASS" for every check in the
# events file made through ns_capable_noaudit; SITE is the wrapper's caller
# (the next frame), the call site whose class the noise table decides.
noaudit_sites() {
  awk '{
    cap = ""; kc = ""; cl = ""
    if (match($0, /"cap":"[A-Z_]*"/)) cap = substr($0, RSTART + 7, RLENGTH - 8)
    if (match($0, /"kernel_class":"[a-z_]*"/)) kc = substr($0, RSTART + 16, RLENGTH - 17)
    if (match($0, /"class":"[a-z_]*"/)) cl = substr($0, RSTART + 9, RLENGTH - 10)
    if (!match($0, /"frames":\[[^]]*\]/)) next
    n = split(substr($0, RSTART + 10, RLENGTH - 11), f, ",")
    for (i = 1; i <= n; i++) { gsub(/"/, "", f[i]); sub(/\..*/, "", f[i]) }
    for (i = 1; i <= n; i++)
      if (f[i] == "ns_capable_noaudit") { print cap, (i < n ? f[i + 1] : "-"), kc, cl; break }
  }' "$1"
}

# The class the 6.18 host's stack walk (tracepoint, no `opts`) gives each
# NOAUDIT call site these workloads reach, as tests/privileged/test_noaudit.sh
# asserts there: CAP:SITE:CLASS. Those in HOST_NOAUDIT_SEEN must be seen
# (the JIT's check shares a key with the seccomp gate's in fexit and kprobe
# modes, both advisory to the kernel side, so it has no event of its own).
HOST_NOAUDIT="SYS_PTRACE:__ptrace_may_access:advisory SYS_ADMIN:do_jit:advisory SYS_ADMIN:do_seccomp:needed"
HOST_NOAUDIT_SEEN="SYS_PTRACE:__ptrace_may_access SYS_ADMIN:do_seccomp"
host_class() { # host_class CAP SITE: the host's class, or nothing
  for hc in $HOST_NOAUDIT; do
    case $hc in "$1:$2:"*) echo "${hc##*:}"; return ;; esac
  done
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

# ---- modes this kernel cannot offer ------------------------------------------
# absent_why MODE: why this kernel cannot run MODE, or nothing. Known facts,
# asserted below (doctor refuses the mode, record --attach MODE fails at
# once), not skipped: arm64 kernels before 6.4 have no ftrace direct calls
# (DYNAMIC_FTRACE_WITH_DIRECT_CALLS), so a BPF trampoline (fentry/fexit)
# cannot attach to a kernel function there.
ARCH=$(uname -m)
KVER=$(uname -r | sed -E 's/^([0-9]+)\.([0-9]+).*/\1 \2/')
kernel_before() { # kernel_before MAJOR MINOR
  set -- $KVER "$1" "$2"
  [ "$1" -lt "$3" ] || { [ "$1" -eq "$3" ] && [ "$2" -lt "$4" ]; }
}
absent_why() {
  case $1 in
  fexit)
    if [ "$ARCH" = aarch64 ] && kernel_before 6 4; then
      echo "arm64 before Linux 6.4 has no ftrace direct calls: BPF trampolines (fentry/fexit) cannot attach to kernel functions"
    fi ;;
  esac
}
# The mode doctor must choose: the first of fexit, kprobe this kernel has.
WANT_MODE=""
for m in fexit kprobe; do
  [ -n "$(absent_why $m)" ] || { WANT_MODE=$m; break; }
done
echo "    kernel fact: $ARCH, $(uname -r); doctor should choose ${WANT_MODE:-nothing}"

# ---- doctor --------------------------------------------------------------
"$CS" doctor >"$W/doctor.out" 2>&1
rc=$?
echo "VMTEST doctor output (exit $rc):"
sed 's/^/    /' "$W/doctor.out"
t_doctor() {
  why=""
  grep -Eq '^tracepoint +capability:cap_capable absent' "$W/doctor.out" ||
    why="$why; tracepoint not reported absent"
  grep -Eq "^record will use: $WANT_MODE\$" "$W/doctor.out" || why="$why; doctor does not choose $WANT_MODE"
  for m in fexit kprobe; do
    if [ -n "$(absent_why $m)" ]; then
      # Refused, with the kernel's reason on the mode's line.
      grep -Eq "^ +$m +loads and attaches" "$W/doctor.out" && why="$why; $m claims to work ($(absent_why $m))"
      grep -Eq "^ +$m +[^ ]" "$W/doctor.out" || why="$why; no line for $m"
      # ... and doctor names the reason (the loader's hint for the error).
      case $m in
      fexit) grep -Eq "^ +fexit +.*no ftrace direct calls" "$W/doctor.out" ||
        why="$why; doctor's fexit line does not say why (no ftrace direct calls)" ;;
      esac
    else
      grep -Eq "^ +$m +loads and attaches" "$W/doctor.out" || why="$why; $m not available"
    fi
  done
  grep -Eq '^ +tracepoint +loads and attaches' "$W/doctor.out" && why="$why; tracepoint mode claims to work"
  if [ -z "$why" ]; then pass doctor; else fail doctor "${why#; }"; fi
}
t_doctor

# A deliberate break: forcing the tracepoint mode, which this kernel lacks,
# is a clear one-line error and a non-zero exit within seconds, not a hang,
# and the workload never runs.
# t_forced MODE [TEST]: forcing MODE, which this kernel lacks, fails so.
t_forced() {
  fm=$1 ft=${2:-forced_$1}
  rm -f "$W/forced.ran"
  start=$(date +%s)
  RC=0
  timeout 60 "$CS" record --attach "$fm" -o - -- touch "$W/forced.ran" \
    >"$W/forced.stdout" 2>"$W/forced.stderr" || RC=$?
  took=$(($(date +%s) - start))
  lines=$(grep -c . "$W/forced.stderr")
  echo "    $ft: exit $RC after ${took}s: $(cat "$W/forced.stderr")"
  why=""
  [ "$RC" = 124 ] && why="$why; still running after 60 s"
  [ "$RC" = 0 ] && why="$why; exited 0"
  [ "$lines" = 1 ] || why="$why; $lines lines on stderr, expected 1"
  grep -q "$fm" "$W/forced.stderr" || why="$why; the error does not name the $fm mode"
  [ -e "$W/forced.ran" ] && why="$why; the workload ran"
  if [ -z "$why" ]; then pass "$ft"; else fail "$ft" "${why#; }"; fi
}
t_forced tracepoint forced_tracepoint

# ---- per attach mode ------------------------------------------------------
PROBE_INLINED=0
probe_reaches_cap_capable || { [ $? = 1 ] && PROBE_INLINED=1; }
# A process of uid 65534 for read_other_stat, outside every recording
# (becoming 65534 needs SETUID and SETGID, which are not the reader's).
"$H/read_other_stat" --hold 3600 >"$W/hold.out" 2>&1 &
HOLDER=$!
i=0
until grep -q "^held $HOLDER" "$W/hold.out" || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
grep -q "^held $HOLDER" "$W/hold.out" || echo "    read_other_stat --hold did not start: $(cat "$W/hold.out")"
for m in $MODES; do
  if [ -n "$(absent_why "$m")" ]; then
    # Asserted absent, with the reason; its workloads cannot run.
    echo "    $m/absent: $(absent_why "$m")"
    t_forced "$m" "$m/absent"
    continue
  fi
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

  # Moot (bpf/cs_moot.h): a user's setgid(getgid()); setuid(getuid()) and a
  # capset keeping the sets ask SETGID/SETUID/SETPCAP, and end the same way
  # without them: decided from the syscall's arguments, in every mode.
  ev="$W/events-$m-moot.jsonl"
  if expect "$m/moot_setid" "$m" "--cap-drop=ALL" --user 1000 --events "$ev" -- "$H/moot_calls" setid-same; then
    act=$(grep -E '"cap":"SET(UID|GID)"' "$ev" | grep '"phase":"active"')
    n=$(echo "$act" | grep -c '"kernel_class":"moot"')
    other=$(echo "$act" | grep -c . )
    if [ "$n" -ge 2 ] && [ "$n" = "$other" ]; then
      pass "$m/moot_setid_class"
    else
      fail "$m/moot_setid_class" "$n of $other active SETUID/SETGID events are moot, expected all (at least 2)"
      sed 's/^/    | /' "$ev"
    fi
  fi
  # capset's SETPCAP check (cap_inh_is_capped) calls cap_capable directly;
  # builds that inline it there (Debian 12's 6.1) show no check at all, and
  # then neither case can be told apart.
  ev="$W/events-$m-capset.jsonl"
  if expect "$m/moot_capset" "$m" "--cap-drop=ALL" --events "$ev" -- "$H/moot_calls" capset-keep; then
    act=$(grep '"cap":"SETPCAP"' "$ev" | grep '"phase":"active"')
    if [ -z "$act" ]; then
      skip "$m/moot_capset_class" "no SETPCAP check seen in capset: this kernel inlines cap_capable into cap_inh_is_capped"
    elif echo "$act" | grep -vq '"kernel_class":"moot"'; then
      fail "$m/moot_capset_class" "a capset keeping the sets has a SETPCAP check that is not moot"
      sed 's/^/    | /' "$ev"
    else
      pass "$m/moot_capset_class"
    fi
  fi
  ev="$W/events-$m-capset-grow.jsonl"
  record "$m" "$W/capset-grow-$m" --events "$ev" -- "$H/moot_calls" capset-grow
  if [ "$RC" != 0 ]; then
    fail "$m/capset_grow" "capscope record exited $RC"; show "$W/capset-grow-$m"
  elif ! grep '"cap":"SETPCAP"' "$ev" | grep -q '"phase":"active"'; then
    skip "$m/capset_grow" "no SETPCAP check seen in capset: this kernel inlines cap_capable into cap_inh_is_capped"
  elif [ "$ADVICE" != "--cap-drop=ALL --cap-add=SETPCAP" ]; then
    fail "$m/capset_grow" "advice '$ADVICE', expected '--cap-drop=ALL --cap-add=SETPCAP'"; show "$W/capset-grow-$m"
  else
    pass "$m/capset_grow"
  fi

  # Root reading another user's /proc/PID/stat: SYS_PTRACE asked with
  # PTRACE_MODE_NOAUDIT. Advisory from `opts` and from the stack walk
  # (ns_capable_noaudit), as the host's stack walk says: no advice.
  ev="$W/events-$m-stat.jsonl"
  if expect "$m/proc_stat" "$m" "--cap-drop=ALL" --events "$ev" -- "$H/read_other_stat" "$HOLDER"; then
    got=$(noaudit_sites "$ev" | grep '^SYS_PTRACE __ptrace_may_access ' | sort -u | tr '\n' ';')
    if [ "$got" = "SYS_PTRACE __ptrace_may_access advisory advisory;" ]; then
      pass "$m/proc_stat_class"
    else
      fail "$m/proc_stat_class" "NOAUDIT SYS_PTRACE check: '$got', expected kernel_class and class advisory"
      sed 's/^/    | /' "$ev"
    fi
  fi

  # seccomp without no_new_privs: the NOAUDIT SYS_ADMIN check decides
  # (EACCES without it). `opts` says advisory; the BPF side's stack walk
  # finds the wrapper called from do_seccomp, a needed site, which
  # overrides it: needed in the kernel and in the profile, as on the host.
  # With no_new_privs the kernel does not ask.
  ev="$W/events-$m-seccomp.jsonl"
  if expect "$m/seccomp_gate" "$m" "--cap-drop=ALL --cap-add=SYS_ADMIN" --events "$ev" -- "$H/seccomp_install"; then
    got=$(noaudit_sites "$ev" | grep '^SYS_ADMIN do_seccomp ' | sort -u | tr '\n' ';')
    echo "    $m/seccomp_gate: CAP SITE KERNEL_CLASS CLASS: $got"
    case $got in
    "SYS_ADMIN do_seccomp needed needed;") pass "$m/seccomp_gate_class" ;;
    *) fail "$m/seccomp_gate_class" "seccomp gate check: '$got', expected kernel_class and class needed"
      sed 's/^/    | /' "$ev" ;;
    esac
  fi
  expect "$m/seccomp_nnp" "$m" "--cap-drop=ALL" -- "$H/seccomp_install" --nnp

  # Noise agreement: the class each new check was counted as (from `opts`
  # and the BPF side's own stack walk) must be the one the host's stack walk
  # gives the same call site: every NOAUDIT check of SYS_ADMIN or SYS_PTRACE
  # these workloads make (HOST_NOAUDIT), and every check whose frames
  # include security_vm_enough_memory_mm is overcommit noise. Some builds
  # (Debian 12's 6.1) inline cap_capable into cap_vm_enough_memory; then no
  # fexit or kprobe on cap_capable can see the overcommit probe, and only
  # the NOAUDIT checks are compared. clone_newuts adds a needed SYS_ADMIN
  # check the BPF side classifies from its stack (events_stack).
  name="$m/noise_agreement"
  ev="$W/events-$m.jsonl"
  RC=0
  timeout "$TO" "$CS" record --attach "$m" -f json -o "$W/profile-$m.json" --events "$ev" \
    -- sh -c "$H/mem_churn && $H/clone_newuts && $H/read_other_stat $HOLDER && $H/seccomp_install && $H/seccomp_install --nnp" \
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
  # The frames below cap_capable (or security_capable, where kretprobe's
  # stack starts) are the BPF program and its trampoline: unnamed, or
  # BPF/kprobe machinery, never the last function of some module.
  below=$(grep -o '"frames":\[[^]]*\]' "$ev" | sed 's/^"frames":\[//; s/"cap_capable".*//; s/"security_capable".*//' |
    tr ',' '\n' | grep -v '^$' | grep -v '^""$' | grep -Ev 'bpf|trampoline|rethook|kprobe|__traceiter' | sort -u | tr '\n' ' ')
  if [ -z "$below" ]; then
    pass "$m/bpf_frames_unnamed"
  else
    fail "$m/bpf_frames_unnamed" "frames below cap_capable resolve to: $below"
  fi
  why="" seen=""
  noaudit_sites "$ev" >"$W/$m-noaudit.txt"
  while read -r cap site kc cl; do
    want=$(host_class "$cap" "$site")
    echo "    $name: NOAUDIT $cap from $site: kernel_class $kc, class $cl (host: ${want:-not listed})"
    [ -n "$want" ] || { why="$why; $cap from $site: no host class recorded for this call site"; continue; }
    [ "$cl" = "$want" ] || why="$why; $cap from $site is $cl, the host says $want"
    seen="$seen $cap:$site"
  done <"$W/$m-noaudit.txt"
  for hc in $HOST_NOAUDIT_SEEN; do
    case " $seen " in *" $hc "*) ;; *) why="$why; no NOAUDIT check $hc seen" ;; esac
  done
  if [ "${probe:-0}" -eq 0 ] && [ "$PROBE_INLINED" = 1 ]; then
    echo "    $name: overcommit probe not compared: this kernel inlines cap_capable into cap_vm_enough_memory, so neither fexit nor kprobe sees it (mem_churn advice still checked)"
  elif [ "${probe:-0}" -eq 0 ]; then
    why="$why; no event has security_vm_enough_memory_mm in its frames"
  elif [ "$bad" -ne 0 ]; then
    why="$why; $bad event(s) with security_vm_enough_memory_mm are not overcommit"
  fi
  if [ -z "$why" ]; then
    pass "$name"
  else
    fail "$name" "${why#; }"
    sed 's/^/    | /' "$ev"
  fi
done
kill "$HOLDER" 2>/dev/null

echo "VMTEST SUMMARY: $passed passed, $failed failed, $skipped skipped"
if [ "$failed" -eq 0 ]; then echo "VMTEST RESULT: PASS"; else echo "VMTEST RESULT: FAIL"; fi
[ "$failed" -eq 0 ]
