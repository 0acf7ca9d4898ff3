#!/usr/bin/env bash
# scripts/bench_churn.sh - what tracing costs a workload that starts many
# short processes (builds, CGI, shell-heavy containers, health checks): a
# shell loop that fork+execs /bin/true N times, measured untraced, under
# bpftrace count() on cap_capable, under `capscope record` and under a
# whole-host `capscope daemon`, interleaved.
#
# Usage (root): scripts/bench_churn.sh
# Environment:
#   CHURN_ITERS=4000       fork+exec iterations per run
#   CHURN_REPS=3           interleaved repetitions of every mode (>= 3)
#   CHURN_CAPSCOPE=PATH    the capscope binary (default build/userspace/cli/capscope)
#   CHURN_OUT=FILE         also write the markdown table there
#   CHURN_METRIC=cpu       cpu: added CPU time (the loop's processes, plus the
#                          tracer's own user-space CPU during the loop), which
#                          other load on a busy machine distorts far less
#                          wall: added wall time of the loop
#
# Modes, each right after an untraced run of its own (the pair), so the
# added time is a paired difference (other load on the machine drifts):
#   none      no tracer
#   bt_count  bpftrace 'tracepoint:capability:cap_capable { @[cap, ret] = count() }'
#   record    capscope record --format json -o F -- LOOP
#   daemon    capscope daemon (whole host); LOOP under `unshare -m`, so it
#             execs in a non-host mount namespace and is a traced scope (its
#             pair runs under `unshare -m` too)
# The loop times itself (date and `times` before and after, inside the
# traced tree), and samples the tracer's CPU time from /proc/PID/stat, so a
# tracer's attach and teardown are in neither; record's whole wall time is
# shown alongside. BPF programs run in the traced tasks' context: their cost
# is in the loop's CPU time.
# The last line is machine-readable:
#   churn: churn_vs_bpftrace=R added_pct_record=P added_pct_daemon=P added_pct_bpftrace=P
# R = record's added loop time / bpftrace count's added loop time.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ITERS=${CHURN_ITERS:-4000}
REPS=${CHURN_REPS:-3}
OUT=${CHURN_OUT:-}
METRIC=${CHURN_METRIC:-cpu}

log() { printf 'bench_churn: %s\n' "$*" >&2; }
die() {
  printf 'bench_churn: error: %s\n' "$*" >&2
  exit 1
}

((EUID == 0)) || die "needs root (BPF)"
{ [[ $ITERS =~ ^[0-9]+$ ]] && ((ITERS > 0)); } || die "CHURN_ITERS must be a positive integer"
{ [[ $REPS =~ ^[0-9]+$ ]] && ((REPS >= 3)); } || die "CHURN_REPS must be >= 3"
[[ $METRIC == cpu || $METRIC == wall ]] || die "CHURN_METRIC must be cpu or wall"
for tool in bpftrace bpftool python3 unshare; do
  command -v "$tool" >/dev/null || die "$tool not found (run scripts/setup.sh)"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (run scripts/setup.sh: package 'time')"
src=${CHURN_CAPSCOPE:-$root/build/userspace/cli/capscope}
[[ -x $src ]] || die "$src not found: build capscope first (cmake --build build)"

tmp=$(mktemp -d /tmp/capscope-churn.XXXXXX)
# A snapshot: a concurrent rebuild cannot swap the binary under a run.
cp "$src" "$tmp/capscope"
capscope=$tmp/capscope
results=$tmp/results.txt
: >"$results"

bg_pids=()
cleanup() {
  local p
  for p in "${bg_pids[@]}"; do
    kill -INT "$p" 2>/dev/null || true
  done
  for p in "${bg_pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_bg() { # stop_bg PID
  kill -INT "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local keep=() p
  for p in "${bg_pids[@]}"; do
    [[ $p == "$1" ]] || keep+=("$p")
  done
  bg_pids=("${keep[@]+"${keep[@]}"}")
}

# The loop: prints its own wall time, so start-up of whoever runs it is out.
cat >"$tmp/loop.sh" <<'EOF'
#!/bin/sh
# loop.sh N: fork+exec /bin/true N times; prints "loop_ns=NS", the CPU
# ticks of process $TRACER (the parent if "parent") during the loop, and
# `times` (this shell's and its children's CPU).
n=$1
t=${TRACER:-$$}
[ "$t" = parent ] && t=$PPID
c0=$(awk '{ print $14 + $15 }' "/proc/$t/stat")
s=$(date +%s%N)
i=0
while [ "$i" -lt "$n" ]; do
  /bin/true
  i=$((i + 1))
done
e=$(date +%s%N)
c1=$(awk '{ print $14 + $15 }' "/proc/$t/stat")
echo "loop_ns=$((e - s)) tracer_ticks=$((c1 - c0))"
times
EOF
chmod +x "$tmp/loop.sh"
loop=("$tmp/loop.sh" "$ITERS")

cap_attachments() {
  bpftool perf show 2>/dev/null | awk '/cap_capable/ { print $2 }' || true
}
foreign_count() { # PIDS...: attachments on cap_capable not by these pids
  local mine=" $* " n=0 pid
  while read -r pid; do
    [[ -z $pid ]] && continue
    [[ $mine == *" $pid "* ]] || n=$((n + 1))
  done < <(cap_attachments)
  echo "$n"
}

# result REP MODE PAIR LOOP_OUTPUT [EXTRA...]
result() {
  local rep=$1 mode=$2 pair=$3 out=$4
  shift 4
  local line cpu
  line=$(grep '^loop_ns=' <<<"$out" | tail -1)
  [[ -n $line ]] || die "mode $mode: the loop printed no time: $out"
  # `times`: "0m0.12s 0m0.34s" for the shell, then for its children.
  cpu=$(grep -E '^[0-9]+m[0-9.]+s [0-9]+m[0-9.]+s$' <<<"$out" |
    awk '{ for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] } } END { printf "%.3f", t }')
  [[ $mode == none ]] && line=${line% tracer_ticks=*}
  echo "rep=$rep mode=$mode pair=$pair $line loop_cpu_s=$cpu $*" >>"$results"
}

run_none() { # REP PAIR [PREFIX...]
  local rep=$1 pair=$2 out
  shift 2
  out=$("$@" "${loop[@]}")
  result "$rep" none "$pair" "$out" "foreign=$(foreign_count)"
}

run_bt_count() {
  local rep=$1 pid deadline out foreign
  bpftrace -e 'tracepoint:capability:cap_capable { @[args->cap, args->ret] = count(); }' \
    >/dev/null 2>"$tmp/bt.err" &
  pid=$!
  bg_pids+=("$pid")
  deadline=$(($(date +%s) + 60))
  until cap_attachments | grep -qx "$pid"; do
    { (($(date +%s) < deadline)) && kill -0 "$pid" 2>/dev/null; } ||
      die "bpftrace did not attach: $(tail -3 "$tmp/bt.err")"
    sleep 0.05
  done
  sleep 0.2
  foreign=$(foreign_count "$pid")
  out=$(TRACER=$pid "${loop[@]}")
  stop_bg "$pid"
  result "$rep" bt_count - "$out" "foreign=$foreign"
}

run_record() {
  local rep=$1 out foreign
  foreign=$(foreign_count)
  if ! out=$(/usr/bin/time -o "$tmp/rec.time" -f 'rec_wall_s=%e rec_cpu_s=%U+%S' \
    env TRACER=parent "$capscope" record --format json -o "$tmp/rec.json" -- "${loop[@]}" 2>"$tmp/rec.err"); then
    die "capscope record failed: $(tail -3 "$tmp/rec.err")"
  fi
  result "$rep" record - "$out" "foreign=$foreign" "$(tail -1 "$tmp/rec.time")" \
    "lost=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("lost_events", -1))' "$tmp/rec.json")"
}

daemon_ok=1
"$capscope" daemon --help 2>&1 | grep -q -- '--state-dir' || daemon_ok=0
run_daemon() {
  local rep=$1 pid deadline out foreign
  rm -rf "$tmp/state" "$tmp/d.sock"
  mkdir -p "$tmp/state"
  "$capscope" daemon --state-dir "$tmp/state" --socket "$tmp/d.sock" \
    >"$tmp/daemon.out" 2>"$tmp/daemon.err" &
  pid=$!
  bg_pids+=("$pid")
  deadline=$(($(date +%s) + 30))
  until [[ -S $tmp/d.sock ]]; do
    { (($(date +%s) < deadline)) && kill -0 "$pid" 2>/dev/null; } ||
      die "capscope daemon did not open its socket: $(tail -3 "$tmp/daemon.err")"
    sleep 0.05
  done
  foreign=$(foreign_count "$pid")
  out=$(TRACER=$pid unshare -m "${loop[@]}")
  stop_bg "$pid"
  result "$rep" daemon - "$out" "foreign=$foreign"
}

modes=(bt_count record daemon)
((daemon_ok)) || {
  log "daemon: n/a (not built)"
  modes=(bt_count record)
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date +%s)
for ((rep = 1; rep <= REPS; rep++)); do
  log "repetition $rep/$REPS ($ITERS iterations per run)"
  n=${#modes[@]}
  for ((i = 0; i < n; i++)); do
    m=${modes[$(((i + rep - 1) % n))]}
    if [[ $m == daemon ]]; then
      run_none "$rep" "$m" unshare -m
    else
      run_none "$rep" "$m"
    fi
    "run_$m" "$rep"
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

CHURN_RESULTS=$results CHURN_METRIC=$METRIC CHURN_HZ=$(getconf CLK_TCK) CHURN_ITERS=$ITERS CHURN_REPS=$REPS CHURN_OUT=$OUT \
  CHURN_LOAD="$load_before -> $load_after" CHURN_ELAPSED=$(($(date +%s) - started)) \
  CHURN_COMMIT="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  python3 - <<'EOF'
import os, re, statistics

env = os.environ
med = statistics.median
runs = [dict(re.findall(r'(\w+)=(\S+)', l)) for l in open(env["CHURN_RESULTS"])]
iters = int(env["CHURN_ITERS"])
hz = int(env["CHURN_HZ"])
metric = env["CHURN_METRIC"]

def wall(r):
    return int(r["loop_ns"]) / 1e9

def tracer_cpu(r):
    return int(r.get("tracer_ticks", 0)) / hz

def cpu(r):
    return float(r["loop_cpu_s"]) + (tracer_cpu(r) if r["mode"] != "none" else 0)

def paired(mode, f):
    """traced, untraced pair, added, added % (medians over reps), runs"""
    xs, bs, d, pct = [], [], [], []
    for r in runs:
        if r["mode"] != mode:
            continue
        b = [x for x in runs if x["mode"] == "none" and x["pair"] == mode and x["rep"] == r["rep"]]
        xs.append(f(r))
        if b:
            bs.append(f(b[0]))
            d.append(f(r) - f(b[0]))
            pct.append(100 * (f(r) - f(b[0])) / f(b[0]))
    nan = float("nan")
    return (med(xs) if xs else nan, med(bs) if bs else nan, med(d) if d else nan,
            med(pct) if pct else nan, len(xs))

labels = {"bt_count": "bpftrace count()", "record": "capscope record",
          "daemon": "capscope daemon (loop under unshare -m)"}
rows, added, added_pct = [], {}, {}
for mode in ("bt_count", "record", "daemon"):
    if not any(r["mode"] == mode for r in runs):
        continue
    w = paired(mode, wall)
    c = paired(mode, cpu)
    sel = c if metric == "cpu" else w
    added[mode], added_pct[mode] = sel[2], sel[3]
    tc = med(tracer_cpu(r) for r in runs if r["mode"] == mode)
    note = f"tracer's own CPU in the loop {1000 * tc:.0f} ms"
    if mode == "record":
        note += (f"; whole `record` wall {med(float(r['rec_wall_s']) for r in runs if r['mode'] == 'record'):.2f} s; "
                 f"lost events {max(int(r['lost']) for r in runs if r['mode'] == 'record')}")
    rows.append((labels[mode], w, c, note))

bt = added.get("bt_count")
R = added["record"] / bt if bt and bt > 0 and "record" in added else float("nan")
nforeign = sum(1 for r in runs if r.get("foreign", "0") != "0")

L = []
P = L.append
P("## Process churn (scripts/bench_churn.sh)")
P("")
P(f"A shell loop fork+exec'ing `/bin/true` {iters} times. Wall: the loop's own wall time; CPU: the loop's "
  f"processes' CPU time (BPF programs run in their context) plus the tracer's user-space CPU during the "
  f"loop; tracer start-up and teardown excluded from both. {env['CHURN_REPS']} interleaved repetitions, "
  f"medians; added = median of (mode - the untraced run made just before it). Headline metric: "
  f"**{metric}** (`CHURN_METRIC`). Load average {env['CHURN_LOAD']}; run took {env['CHURN_ELAPSED']} s; "
  f"commit {env['CHURN_COMMIT']}; runs with another tracer on cap_capable: {nforeign} of {len(runs)}.")
P("")
P("| mode | untraced wall s | traced wall s | added wall % | untraced CPU s | traced CPU s | added CPU µs/iteration | added CPU % | runs | notes |")
P("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for lab, w, c, note in rows:
    P(f"| {lab} | {w[1]:.2f} | {w[0]:.2f} | {w[3]:+.1f} | {c[1]:.2f} | {c[0]:.2f} | "
      f"{1e6 * c[2] / iters:.0f} | {c[3]:+.1f} | {w[4]} | {note} |")
P("")
def pct(m):
    v = added_pct.get(m)
    return "nan" if v is None else f"{v:.1f}"
final = (f"churn: churn_vs_bpftrace={R:.2f} added_pct_record={pct('record')} "
         f"added_pct_daemon={pct('daemon')} added_pct_bpftrace={pct('bt_count')}")
P(f"Target: capscope record's added {metric} time <= bpftrace count()'s: {R:.2f}x "
  f"({'met' if R <= 1.0 else '**missed**'}).")
P("")
P("```")
P(final)
P("```")
text = "\n".join(L) + "\n"
if env.get("CHURN_OUT"):
    open(env["CHURN_OUT"], "w").write(text)
print(text, end="")
print(final)
EOF
