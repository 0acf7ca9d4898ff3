# shellcheck shell=bash
# shellcheck disable=SC2016  # container commands in single quotes
# Churn soak (issue 15): one daemon while many short-lived containers come
# and go and one container runs many short processes. Every container is
# profiled, the process count is exact, the daemon's RSS stays flat after
# warm-up, no scope is left behind, nothing is lost. The privileged tier
# runs it small; scripts/soak.sh runs it at full size (2,000 containers,
# 20,000 processes) through the same function.
#
# Sizes (environment): SOAK_CONTAINERS (default 40), SOAK_PROCS (2000),
# SOAK_PARALLEL (containers started at once, 4), SOAK_DOCKER=1 (also half
# of the containers on a private Docker engine), SOAK_LIMIT (seconds for
# the whole churn, 100), SOAK_REPORT (a file the figures are appended to),
# SOAK_PODMAN (api, the default: the podman containers through a `podman
# system service` the test starts, from one client process,
# soak_podman_api.py; cli: one `podman run --rm` each, about a third more
# CPU per container on the 2-core machines). The daemon helpers are
# test_daemon.sh's.

# shellcheck source=test_daemon.sh
source "$LIB_DIR/test_daemon.sh"

# soak_metric NAME_WITH_LABELS: its value in the last scrape ($SOAK_M).
soak_metric() {
  awk -v n="$1" '$1 == n { print $2; found = 1 } END { if (!found) print "missing" }' <<<"$SOAK_M"
}

soak_scrape() {
  SOAK_M=$(curl -sf "http://127.0.0.1:$SOAK_PORT/metrics") || fail "no metrics on port $SOAK_PORT"
}

# soak_worker ENGINE FIRST COUNT: runs COUNT containers one after the other
# (ids in $TEST_TMP/ids.ENGINE.FIRST), each making one CAP_SYS_NICE check.
soak_worker() {
  local engine=$1 first=$2 count=$3 i name
  local ids=$TEST_TMP/ids.$engine.$first
  for ((i = first; i < first + count; i++)); do
    name=cs-soak-$$-$i
    if [[ $engine == podman ]]; then
      timeout 120 podman run --rm --name "$name" "${PODMAN_RUN_OPTS[@]}" \
        --cidfile "$TEST_TMP/cid.$i" --cap-add=SYS_NICE --network none \
        --rootfs "$ROOTFS" renice -n -1 -p 1 >/dev/null 2>>"$TEST_TMP/worker.err" ||
        echo "podman run $name failed" >>"$TEST_TMP/worker.err"
    else
      timeout 120 docker run --rm --name "$name" "${DK_RUN_OPTS[@]}" \
        --cidfile "$TEST_TMP/cid.$i" --cap-add=SYS_NICE "$DK_IMAGE" \
        renice -n -1 -p 1 >/dev/null 2>>"$TEST_TMP/worker.err" ||
        echo "docker run $name failed" >>"$TEST_TMP/worker.err"
    fi
    [[ -s "$TEST_TMP/cid.$i" ]] && cat "$TEST_TMP/cid.$i" >>"$ids" && echo >>"$ids"
    echo "$i" >>"$TEST_TMP/done"
  done
}

# soak_podman_service: a `podman system service` on $TEST_TMP/podman.sock,
# stopped when the test ends; sets SOAK_PODMAN_SOCK.
soak_podman_service() {
  SOAK_PODMAN_SOCK=$TEST_TMP/podman.sock
  podman system service --time=0 "unix://$SOAK_PODMAN_SOCK" \
    >"$TEST_TMP/podman-service.log" 2>&1 &
  bg_track $!
  local i
  for ((i = 0; i < 300; i++)); do
    curl -sf --unix-socket "$SOAK_PODMAN_SOCK" http://podman/v4.0.0/libpod/_ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "podman system service did not answer within 30 s: $(tail -n 3 "$TEST_TMP/podman-service.log" | tr '\n' ' ')"
}

test_soak_churn() {
  require_daemon_prereqs
  local n=${SOAK_CONTAINERS:-40} procs=${SOAK_PROCS:-2000} par=${SOAK_PARALLEL:-4}
  local limit=${SOAK_LIMIT:-100} docker=${SOAK_DOCKER:-0} podman_via=${SOAK_PODMAN:-api}
  [[ $podman_via == api || $podman_via == cli ]] ||
    fail "SOAK_PODMAN is '$podman_via', not api or cli"
  local ndocker=0 npodman w start rss_log="$TEST_TMP/rss" i
  if ((docker)); then
    # shellcheck source=docker_fixture.sh
    source "$LIB_DIR/docker_fixture.sh"
    docker_fixture
    ndocker=$((n / 2))
  fi
  npodman=$((n - ndocker))
  # Containers a worker left running when the test ended early.
  on_exit "podman ps -a -q --filter name=cs-soak-$$- | xargs -r timeout 60 podman rm -f -t 0 >/dev/null 2>&1"
  [[ $podman_via == cli ]] || soak_podman_service
  SOAK_PORT=$(free_port)
  daemon_start --metrics "127.0.0.1:$SOAK_PORT"
  start=$(now_ms)

  # The daemon's RSS, once a second: "ms-since-start containers-done kB".
  (
    while kill -0 "$DAEMON_PID" 2>/dev/null; do
      echo "$(($(now_ms) - start)) $(wc -l <"$TEST_TMP/done" 2>/dev/null || echo 0) $(awk '/^VmRSS/ { print $2 }' "/proc/$DAEMON_PID/status")"
      sleep 1
    done
  ) >"$rss_log" 2>/dev/null &
  bg_track $!
  : >"$TEST_TMP/done"

  # The process churn: one container, $procs short processes, each making
  # one CAP_SYS_NICE check (it lowers its own nice value from 0 to -1), in
  # two loops at once (one loop among the container churn's many processes
  # got too small a share of the 2 CPUs to finish in time).
  local pname half=$((procs / 2))
  local loop='i=0; while [ $i -lt $1 ]; do sh -c "renice -n -1 -p \$\$ >/dev/null"; i=$((i + 1)); done'
  pname=$(unique_name soak-procs)
  ctr_start "$pname" --cap-add=SYS_NICE --network none --rootfs "$ROOTFS" \
    sh -c "sh -c '$loop' loop $half & a=\$!; sh -c '$loop' loop $((procs - half)) & b=\$!; wait \$a && wait \$b"
  # Its exit status is taken when it exits: podman prunes exit codes from
  # its database five minutes after the exit, and the container churn may
  # go on longer than that.
  (
    podman wait "$pname" >"$TEST_TMP/procs.rc" 2>&1
    echo "$(($(now_ms) - start))" >"$TEST_TMP/procs.ms"
  ) &
  local procs_waiter=$!
  bg_track $procs_waiter

  # The container churn: $par at once, through the API (one client) or
  # $par workers each running its share one after another.
  local per=$(((npodman + par - 1) / par)) pids=() from
  if [[ $podman_via == api ]]; then
    python3 "$LIB_DIR/soak_podman_api.py" "$SOAK_PODMAN_SOCK" "$ROOTFS" "cs-soak-$$-" \
      0 "$npodman" "$par" "$TEST_TMP" "${PODMAN_RUN_OPTS[@]}" 2>>"$TEST_TMP/worker.err" &
    pids+=($!)
    bg_track $!
  else
    for ((from = 0; from < npodman; from += per)); do
      soak_worker podman "$from" $((from + per > npodman ? npodman - from : per)) &
      pids+=($!)
      bg_track $!
    done
  fi
  local dper=$(((ndocker + par - 1) / par))
  for ((from = npodman; ndocker && from < n; from += dper)); do
    soak_worker docker "$from" $((from + dper > n ? n - from : dper)) &
    pids+=($!)
    bg_track $!
  done
  # One deadline for the whole churn.
  local left
  for w in "${pids[@]}"; do
    left=$(((start + limit * 1000 - $(now_ms)) / 1000))
    ((left > 0)) || left=1
    wait_pid_for "$w" "$left"
    ((WAIT_RC != 124)) || fail "container churn not done within ${limit}s ($(wc -l <"$TEST_TMP/done") of $n containers)"
  done
  local containers_ms=$(($(now_ms) - start))
  left=$(((start + limit * 1000 - $(now_ms)) / 1000))
  ((left > 0)) || left=1
  wait_pid_for "$procs_waiter" "$left"
  ((WAIT_RC != 124)) || fail "process churn container $pname not done within ${limit}s"
  local procs_ms
  procs_ms=$(cat "$TEST_TMP/procs.ms" 2>/dev/null || echo "?")
  assert_eq 0 "$(tail -n 1 "$TEST_TMP/procs.rc")" "exit status of the process churn container ($pname, podman wait)"
  local churn_ms=$(($(now_ms) - start))
  daemon_alive "after the churn"
  [[ ! -s "$TEST_TMP/worker.err" ]] || fail "container runs failed: $(sort -u "$TEST_TMP/worker.err" | head -n 3 | tr '\n' ' ')"

  # Every container profiled (its profile on disk, its check counted).
  cat "$TEST_TMP"/ids.* >"$TEST_TMP/ids"
  sed -i '/^$/d' "$TEST_TMP/ids"
  assert_eq "$n" "$(wc -l <"$TEST_TMP/ids")" "containers run"
  local missing wait_start
  wait_start=$(now_ms)
  while :; do
    missing=0
    while read -r id; do
      [[ -s "$DAEMON_STATE/$id.json" ]] || missing=$((missing + 1))
    done <"$TEST_TMP/ids"
    ((missing == 0)) && break
    (($(now_ms) - wait_start >= 20000)) && break
    sleep 1
  done
  assert_eq 0 "$missing" "containers with no profile in $DAEMON_STATE"
  local nocheck
  nocheck=$(/usr/bin/python3 - "$DAEMON_STATE" "$TEST_TMP/ids" <<'PY'
import json, sys
bad = 0
for cid in open(sys.argv[2]).read().split():
    d = json.load(open("%s/%s.json" % (sys.argv[1], cid)))
    if not any(c["cap"] == "SYS_NICE" and c["granted"] >= 1 for c in d["checks"]):
        bad += 1
print(bad)
PY
)
  assert_eq 0 "$nocheck" "container profiles without their SYS_NICE check"
  local pid_cid got
  pid_cid=$(podman inspect -f '{{.Id}}' "$pname")
  # The profile on disk may be from a flush made before the last processes
  # ran: wait for the flush after the container's end (bounded), then the
  # count must be exact.
  wait_start=$(now_ms)
  while :; do
    got=$(json_get "$DAEMON_STATE/$pid_cid.json" 'sum(c["granted"] + c["denied"] for c in d["checks"] if c["cap"] == "SYS_NICE")')
    ((got >= procs)) && break
    (($(now_ms) - wait_start >= 20000)) && break
    sleep 1
  done
  assert_eq "$procs" "$got" "SYS_NICE checks of $procs short processes"

  # Nothing lost, no scope left: none of ours still tracked.
  sleep 2
  soak_scrape
  local lost fails m
  lost=$(soak_metric capscope_lost_events_total)
  fails=""
  for m in tasks counts seen; do
    fails+="$(soak_metric "capscope_map_insert_failures_total{map=\"$m\"}") "
  done
  assert_eq "0 0 0 0 " "$lost $fails" "lost events, tasks/counts/seen insert failures"
  local ours_running
  ours_running=$(cs_profiles --json | json_get - 'sum(1 for p in d if p.get("running") and p.get("id") in set(open(args[0]).read().split()))' "$TEST_TMP/ids")
  assert_eq 0 "$ours_running" "soak containers still tracked as running"
  # The series of gone containers leave /metrics after a grace of ten
  # flushes and a scrape.
  local scopes series others wait_series
  wait_series=$(now_ms)
  while :; do
    soak_scrape
    others=$(($(podman ps -q | wc -l) + 0))
    series=$(soak_metric capscope_workload_series)
    ((series <= others + 2)) && break
    (($(now_ms) - wait_series >= 30000)) && break
    sleep 1
  done
  scopes=$(soak_metric capscope_scopes_tracked)
  ((scopes <= others + 2)) || fail "$scopes scopes tracked after the churn, with $others containers running"
  ((series <= others + 2)) || fail "$series workloads with metric series after the churn, with $others containers running"

  # RSS: flat within 10 % after warm-up (the first fifth of the churn).
  local rss
  rss=$(awk -v warm=$((n / 5)) '
    $3 == "" { next }
    $2 >= warm && !base { base = $3 }
    base { if ($3 > max) max = $3; last = $3 }
    END { if (!base) print "none"; else printf "%d %d %d %.1f", base, max, last, (max - base) * 100.0 / base }' "$rss_log")
  [[ "$rss" != none ]] || fail "no RSS sample after warm-up"
  local base max last growth
  read -r base max last growth <<<"$rss"
  local summary
  summary="soak: $n containers ($npodman podman, $ndocker docker, $par at once) and $procs processes in ${churn_ms} ms (containers done at ${containers_ms} ms, processes at ${procs_ms} ms, podman via $podman_via, load $(cut -d' ' -f1-3 /proc/loadavg)); daemon RSS after warm-up ${base} kB, max ${max} kB (+${growth} %), end ${last} kB; lost events $lost; insert failures tasks/counts/seen ${fails% }; scopes tracked after $scopes (containers running $others); series $series"
  echo "$summary" >&2
  [[ -z "${SOAK_REPORT:-}" ]] || echo "$summary" >>"$SOAK_REPORT"
  awk -v g="$growth" 'BEGIN { exit !(g <= 10.0) }' ||
    fail "daemon RSS grew ${growth} % after warm-up (${base} -> max ${max} kB)"
  daemon_stop
}
