#!/usr/bin/env bash
# scripts/bench_server.sh - what tracing costs a real server under load and a
# memory-heavy program: nginx (Debian's) serving a small static file on
# loopback to wrk, and an allocation-churn loop (256 KiB blocks mapped,
# touched and unmapped, as malloc does above its mmap threshold: every mmap
# makes the kernel's overcommit probe check CAP_SYS_ADMIN). Throughput untraced vs bpftrace count() on cap_capable vs
# `capscope daemon` vs `capscope record`, interleaved, in the same run.
#
# Usage (root): scripts/bench_server.sh
# Environment:
#   SERVER_DURATION=10     seconds per wrk run (and per allocation run)
#   SERVER_REPS=5          interleaved repetitions of every mode (>= 3)
#   SERVER_CONNS=16        wrk connections (1 wrk thread, 1 nginx worker)
#   SERVER_CAPSCOPE=PATH   the capscope binary (default build/userspace/cli/capscope)
#   SERVER_OUT=FILE        also write the markdown tables there
#
# Modes, each right after an untraced run of its own (its pair):
#   bt_count  bpftrace 'tracepoint:capability:cap_capable { @[cap, ret] = count() }'
#   daemon    capscope daemon (whole host); the server runs under `unshare -m`
#             (a non-host mount namespace: a traced scope), and so does its pair
#   record    the server started under `capscope record --format json -o F --`
# nginx runs in the foreground from its own config in a temp dir (unique port,
# no system service), one worker; it is started afresh for every run.
# The last line is machine-readable:
#   server: loss_pct_record=P loss_pct_daemon=P loss_pct_bpftrace=P alloc_loss_pct_record=P alloc_loss_pct_daemon=P alloc_loss_pct_bpftrace=P
# loss = median over repetitions of (1 - traced / its untraced pair) in %.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${SERVER_DURATION:-10}
REPS=${SERVER_REPS:-5}
CONNS=${SERVER_CONNS:-16}
OUT=${SERVER_OUT:-}

log() { printf 'bench_server: %s\n' "$*" >&2; }
die() {
  printf 'bench_server: error: %s\n' "$*" >&2
  exit 1
}

((EUID == 0)) || die "needs root (BPF)"
{ [[ $DURATION =~ ^[0-9]+$ ]] && ((DURATION > 0)); } || die "SERVER_DURATION must be a positive integer"
{ [[ $REPS =~ ^[0-9]+$ ]] && ((REPS >= 3)); } || die "SERVER_REPS must be >= 3"
{ [[ $CONNS =~ ^[0-9]+$ ]] && ((CONNS > 0)); } || die "SERVER_CONNS must be a positive integer"
for tool in bpftrace bpftool python3 unshare wrk cc; do
  command -v "$tool" >/dev/null || die "$tool not found (run scripts/setup.sh)"
done
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $nginx ]] || die "nginx not found (run scripts/setup.sh: package nginx-light)"
src=${SERVER_CAPSCOPE:-$root/build/userspace/cli/capscope}
[[ -x $src ]] || die "$src not found: build capscope first (cmake --build build)"

tmp=$(mktemp -d /tmp/capscope-server.XXXXXX)
chmod 755 "$tmp"
cp "$src" "$tmp/capscope"
capscope=$tmp/capscope
results=$tmp/results.txt
: >"$results"

bg_pids=()
cleanup() {
  local p
  if [[ -f $tmp/nginx.pid ]]; then kill -TERM "$(cat "$tmp/nginx.pid")" 2>/dev/null || true; fi
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

stop_bg() { # stop_bg PID [SIGNAL]
  kill "-${2:-INT}" "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local keep=() p
  for p in "${bg_pids[@]}"; do
    [[ $p == "$1" ]] || keep+=("$p")
  done
  bg_pids=("${keep[@]+"${keep[@]}"}")
}

# --- the server --------------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$tmp/www" "$tmp/nginx"
head -c 600 /dev/zero | tr '\0' 'x' >"$tmp/www/index.html"
cat >"$tmp/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$port;
    root $tmp/www;
  }
}
EOF
url=http://127.0.0.1:$port/index.html

# start_nginx [PREFIX...]: runs nginx in the background, waits until it serves.
nginx_pid=
start_nginx() {
  rm -f "$tmp/nginx.pid"
  "$@" "$nginx" -p "$tmp/nginx" -c "$tmp/nginx.conf" >"$tmp/nginx.out" 2>&1 &
  nginx_pid=$!
  bg_pids+=("$nginx_pid")
  local i
  for i in $(seq 200); do
    if [[ -s $tmp/nginx.pid ]] &&
      python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1).read()' "$url" 2>/dev/null; then
      return 0
    fi
    kill -0 "$nginx_pid" 2>/dev/null || die "nginx did not start: $(tail -3 "$tmp/nginx.out" "$tmp/nginx/error.log" 2>/dev/null)"
    sleep 0.05
  done
  die "nginx did not answer on $url"
}
stop_nginx() {
  # QUIT: graceful; the master (maybe under capscope record) then exits.
  if [[ -s $tmp/nginx.pid ]]; then kill -QUIT "$(cat "$tmp/nginx.pid")" 2>/dev/null || true; fi
  wait "$nginx_pid" 2>/dev/null || true
  local keep=() p
  for p in "${bg_pids[@]}"; do
    [[ $p == "$nginx_pid" ]] || keep+=("$p")
  done
  bg_pids=("${keep[@]+"${keep[@]}"}")
  rm -f "$tmp/nginx.pid"
}

# --- the allocation churn ----------------------------------------------------
cat >"$tmp/alloc.c" <<'EOF'
/* alloc.c SECONDS: map, touch and unmap 256 KiB anonymous blocks for
 * SECONDS (what malloc does for blocks above its mmap threshold); prints
 * calls/s. Every mmap makes the kernel's overcommit probe check
 * CAP_SYS_ADMIN. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}
int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 5, t0 = now(), t;
	unsigned long n = 0;
	const size_t len = 256 << 10;
	do {
		for (int i = 0; i < 1000; i++) {
			char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				return 1;
			p[0] = 1;
			p[len / 2] = 1;
			munmap(p, len);
		}
		n += 1000;
		t = now();
	} while (t - t0 < secs);
	printf("ops_per_s=%.0f\n", n / (t - t0));
	return 0;
}
EOF
cc -O2 -o "$tmp/alloc" "$tmp/alloc.c" || die "cannot build the allocation loop"

# --- modes -------------------------------------------------------------------
cap_attachments() {
  bpftool perf show 2>/dev/null | awk '/cap_capable/ { print $2 }' || true
}
foreign_count() {
  local mine=" $* " n=0 pid
  while read -r pid; do
    [[ -z $pid ]] && continue
    [[ $mine == *" $pid "* ]] || n=$((n + 1))
  done < <(cap_attachments)
  echo "$n"
}

# measure WORKLOAD REP MODE PAIR FOREIGN [PREFIX...]: one run; a result line.
measure() {
  local wl=$1 rep=$2 mode=$3 pair=$4 foreign=$5 v
  shift 5
  if [[ $wl == nginx ]]; then
    start_nginx "$@"
    v=$(wrk -t1 -c"$CONNS" -d"${DURATION}s" "$url" | awk '/^Requests\/sec:/ { print $2 }')
    stop_nginx
  else
    v=$("$@" "$tmp/alloc" "$DURATION" | sed -n 's/^ops_per_s=//p')
  fi
  [[ -n $v ]] || die "$wl: no throughput measured in mode $mode"
  echo "wl=$wl rep=$rep mode=$mode pair=$pair per_s=$v foreign=$foreign" >>"$results"
}

with_bpftrace() { # WL REP
  local pid deadline
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
  measure "$1" "$2" bt_count - "$(foreign_count "$pid")"
  stop_bg "$pid"
}

with_daemon() { # WL REP
  local pid deadline
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
  measure "$1" "$2" daemon - "$(foreign_count "$pid")" unshare -m
  stop_bg "$pid"
}

with_record() { # WL REP
  measure "$1" "$2" record - "$(foreign_count)" \
    "$capscope" record --format json -o "$tmp/rec.json"  --
}

daemon_ok=1
"$capscope" daemon --help 2>&1 | grep -q -- '--state-dir' || daemon_ok=0
modes=(bt_count daemon record)
((daemon_ok)) || {
  log "daemon: n/a (not built)"
  modes=(bt_count record)
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date +%s)
for ((rep = 1; rep <= REPS; rep++)); do
  n=${#modes[@]}
  for wl in nginx alloc; do
    log "repetition $rep/$REPS: $wl"
    for ((i = 0; i < n; i++)); do
      m=${modes[$(((i + rep - 1) % n))]}
      if [[ $m == daemon ]]; then
        measure "$wl" "$rep" none "$m" "$(foreign_count)" unshare -m
      else
        measure "$wl" "$rep" none "$m" "$(foreign_count)"
      fi
      case $m in
      bt_count) with_bpftrace "$wl" "$rep" ;;
      daemon) with_daemon "$wl" "$rep" ;;
      record) with_record "$wl" "$rep" ;;
      esac
    done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

SERVER_RESULTS=$results SERVER_OUT=$OUT SERVER_DURATION=$DURATION SERVER_REPS=$REPS \
  SERVER_CONNS=$CONNS SERVER_LOAD="$load_before -> $load_after" \
  SERVER_ELAPSED=$(($(date +%s) - started)) \
  SERVER_NGINX="$("$nginx" -v 2>&1 | head -1)" SERVER_WRK="$(wrk -v 2>&1 | head -1 | cut -c1-60)" \
  SERVER_COMMIT="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  python3 - <<'EOF'
import os, re, statistics

env = os.environ
med = statistics.median
runs = [dict(re.findall(r'(\w+)=(\S+)', l)) for l in open(env["SERVER_RESULTS"])]

def loss(wl, mode):
    """(untraced medians, traced medians, loss % median over reps, runs)"""
    xs, bs, d = [], [], []
    for r in runs:
        if r["wl"] != wl or r["mode"] != mode:
            continue
        b = [x for x in runs if x["wl"] == wl and x["mode"] == "none"
             and x["pair"] == mode and x["rep"] == r["rep"]]
        x = float(r["per_s"])
        xs.append(x)
        if b:
            bs.append(float(b[0]["per_s"]))
            d.append(100 * (1 - x / bs[-1]))
    if not xs:
        return None
    return (med(bs) if bs else float("nan"), med(xs), med(d) if d else float("nan"), len(xs))

labels = {"bt_count": "bpftrace count()", "daemon": "capscope daemon (server under unshare -m)",
          "record": "capscope record (server started under it)"}
L = []
P = L.append
P("## A real server and an allocation-heavy program (scripts/bench_server.sh)")
P("")
P(f"{env['SERVER_NGINX']} (1 worker, 600-byte static file, access log off) on loopback, loaded by "
  f"`wrk -t1 -c{env['SERVER_CONNS']} -d{env['SERVER_DURATION']}s`; and a loop that maps, touches (2 pages) "
  f"and unmaps 256 KiB anonymous blocks (the overcommit probe on every mmap) for {env['SERVER_DURATION']} s. "
  f"{env['SERVER_REPS']} interleaved repetitions; every traced run right after an untraced one "
  f"(its pair); loss = median over repetitions of (1 - traced/pair). Load average {env['SERVER_LOAD']}; "
  f"run took {env['SERVER_ELAPSED']} s; commit {env['SERVER_COMMIT']}.")
nforeign = sum(1 for r in runs if r.get("foreign", "0") != "0")
P(f"Runs with another tracer (not this script's) on cap_capable: {nforeign} of {len(runs)}.")
P("")
final = {}
for wl, unit in (("nginx", "requests/s"), ("alloc", "mmap+munmap/s")):
    P(f"| {wl}: mode | untraced {unit} (pair) | traced {unit} | loss % | runs |")
    P("|---|---:|---:|---:|---:|")
    for mode in ("bt_count", "daemon", "record"):
        v = loss(wl, mode)
        if v is None:
            continue
        b, x, d, n = v
        final[(wl, mode)] = d
        P(f"| {labels[mode]} | {b:.0f} | {x:.0f} | {d:.2f} | {n} |")
    P("")

def f(wl, mode):
    v = final.get((wl, mode))
    return "nan" if v is None else f"{v:.2f}"
line = (f"server: loss_pct_record={f('nginx', 'record')} loss_pct_daemon={f('nginx', 'daemon')} "
        f"loss_pct_bpftrace={f('nginx', 'bt_count')} alloc_loss_pct_record={f('alloc', 'record')} "
        f"alloc_loss_pct_daemon={f('alloc', 'daemon')} alloc_loss_pct_bpftrace={f('alloc', 'bt_count')}")
P("Targets: capscope costs <= 1 % of throughput, and less than bpftrace count().")
P("")
P("```")
P(line)
P("```")
text = "\n".join(L) + "\n"
if env.get("SERVER_OUT"):
    open(env["SERVER_OUT"], "w").write(text)
print(text, end="")
print(line)
EOF
