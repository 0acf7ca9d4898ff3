#!/usr/bin/env bash
# scripts/bench_scopes.sh - the daemon's memory and CPU with many short-lived
# scopes: N times `unshare -m /bin/true` (a new mount namespace with an exec
# inside: a scope the daemon opens, profiles, persists and evicts), then the
# daemon's peak RSS, how many of them it still reports running (the daemon
# traces the whole host: other containers are not counted), and its CPU
# time per 1,000 scope starts.
#
# Usage (root): scripts/bench_scopes.sh
# Environment:
#   SCOPES_COUNT=10000     scopes created and ended
#   SCOPES_CAPSCOPE=PATH   the capscope binary (default build/userspace/cli/capscope)
#   SCOPES_OUT=FILE        also write the markdown table there
# The last line is machine-readable:
#   scopes: count=N rss_mb=M live_after=L cpu_ms_per_1000=C
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COUNT=${SCOPES_COUNT:-10000}
OUT=${SCOPES_OUT:-}

die() {
  printf 'bench_scopes: error: %s\n' "$*" >&2
  exit 1
}
((EUID == 0)) || die "needs root (BPF)"
{ [[ $COUNT =~ ^[0-9]+$ ]] && ((COUNT > 0)); } || die "SCOPES_COUNT must be a positive integer"
command -v unshare >/dev/null || die "unshare not found (run scripts/setup.sh)"
src=${SCOPES_CAPSCOPE:-$root/build/userspace/cli/capscope}
[[ -x $src ]] || die "$src not found: build capscope first (cmake --build build)"

tmp=$(mktemp -d /tmp/capscope-scopes.XXXXXX)
cp "$src" "$tmp/capscope"
dpid=
cleanup() {
  if [[ -n $dpid ]]; then
    kill -INT "$dpid" 2>/dev/null || true
    wait "$dpid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$tmp/capscope" daemon --state-dir "$tmp/state" --socket "$tmp/d.sock" --flush-interval 1s \
  >"$tmp/daemon.log" 2>&1 &
dpid=$!
for _ in $(seq 300); do
  grep -q "tracing all containers" "$tmp/daemon.log" 2>/dev/null && break
  kill -0 "$dpid" 2>/dev/null || die "the daemon stopped: $(tail -2 "$tmp/daemon.log")"
  sleep 0.1
done
grep -q "tracing all containers" "$tmp/daemon.log" || die "the daemon did not start: $(tail -2 "$tmp/daemon.log")"
sleep 1.5 # its first flush and adoption of running containers are not counted
ticks() { awk '{ print $14 + $15 }' "/proc/$dpid/stat"; }
hz=$(getconf CLK_TCK)
c0=$(ticks)
t0=$(date +%s%N)
for ((i = 0; i < COUNT; i++)); do unshare -m /bin/true; done
t1=$(date +%s%N)
sleep 3 # two flushes: everything persisted and evicted
c1=$(ticks)
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$dpid/status")
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$dpid/status")
live=$("$tmp/capscope" profiles --socket "$tmp/d.sock" --json 2>/dev/null |
  python3 -c 'import json, sys; print(sum(1 for p in json.load(sys.stdin) if p.get("running") and p.get("name") == "true"))' 2>/dev/null || echo "?")
kill -INT "$dpid" 2>/dev/null || true
wait "$dpid" 2>/dev/null || true
dpid=

rss_mb=$(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }')
now_mb=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')
cpu_ms=$(((c1 - c0) * 1000 / hz))
per1000=$(awk -v c="$cpu_ms" -v n="$COUNT" 'BEGIN { printf "%.0f", c * 1000 / n }')
loop_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
text="## The daemon with $COUNT short-lived scopes (scripts/bench_scopes.sh)

\`capscope daemon --flush-interval 1s\`, then $COUNT × \`unshare -m /bin/true\` ($loop_s s), then two flushes.
Load average $(cut -d' ' -f1-3 /proc/loadavg); commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown).

| scopes | peak RSS MB (VmHWM) | RSS after MB | of them still running | daemon CPU ms | CPU ms per 1,000 scope starts |
|---:|---:|---:|---:|---:|---:|
| $COUNT | $rss_mb | $now_mb | $live | $cpu_ms | $per1000 |

Target: peak RSS <= 40 MB, no scope left running."
[[ -n $OUT ]] && printf '%s\n' "$text" >"$OUT"
printf '%s\n\n' "$text"
echo "scopes: count=$COUNT rss_mb=$rss_mb live_after=$live cpu_ms_per_1000=$per1000"
