# shellcheck shell=bash
# shellcheck disable=SC2016  # container commands in single quotes
# Cluster-wide advice from Prometheus (issue 17): two capscope daemons on
# this host stand for two nodes. Each profiles only the containers under
# its own cgroup parent (`daemon --cgroup-parent`), so each sees one
# replica of the same Kubernetes workload: containers made with ctr in
# containerd's k8s.io namespace, carrying the CRI annotations a kubelet
# would set (pods web-<hash>-<suffix> of Deployment web), placed with ctr's
# --cgroup under that daemon's parent. A real Prometheus (Debian's, its own
# config and data dir, 1 s scrapes) scrapes both daemons' --metrics ports;
# `capscope advise --prometheus URL --workload NS/web` must give the union
# of both replicas' capabilities and say it saw 2 nodes and 2 containers.
# The functions here run under lib.sh (see run.sh).

# shellcheck source=docker_fixture.sh disable=SC1091
source "$REPO_ROOT/tests/privileged/docker_fixture.sh"

# prom_start PORT TARGET...: Prometheus on 127.0.0.1:PORT scraping the
# targets every second; sets PROM_URL. SKIPPED when it cannot start.
prom_start() {
  local port=$1 dir=$TEST_TMP/prometheus pid start targets="" t
  shift
  for t in "$@"; do targets+="${targets:+, }'$t'"; done
  mkdir -p "$dir/data"
  printf '%s\n' 'global:' '  scrape_interval: 1s' '  evaluation_interval: 1s' \
    'scrape_configs:' '  - job_name: capscope' '    static_configs:' \
    "      - targets: [$targets]" >"$dir/prometheus.yml"
  prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$port" >"$dir/log" 2>&1 &
  pid=$!
  bg_track "$pid"
  PROM_URL=http://127.0.0.1:$port
  start=$(now_ms)
  until curl -fsS --max-time 2 "$PROM_URL/-/ready" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null ||
      skip "prometheus could not start: $(_lib_abbrev "$(tail -n 3 "$dir/log")")"
    (($(now_ms) - start < 30000)) ||
      skip "prometheus not ready within 30 s: $(_lib_abbrev "$(tail -n 3 "$dir/log")")"
    sleep 0.2
  done
}

# node_daemon NAME CGROUP_PARENT PORT: a daemon with its own state dir and
# socket that profiles only containers under CGROUP_PARENT.
node_daemon() {
  local name=$1 parent=$2 port=$3 log=$TEST_TMP/$1.log pid
  "$CAPSCOPE" daemon --state-dir "$TEST_TMP/$name.state" --socket "$TEST_TMP/$name.sock" \
    --flush-interval 1s --metrics "127.0.0.1:$port" --cgroup-parent "$parent" -v \
    </dev/null >"$log" 2>&1 &
  pid=$!
  bg_track "$pid"
  on_exit "echo '--- $name log:' >&2; tail -n 8 '$log' >&2"
  wait_for_text "$log" "tracing all containers under cgroup $parent" 30 ||
    fail "daemon $name did not start: $(_lib_abbrev "$(tail -n 3 "$log")")"
}

# replica ID POD CGROUP_PARENT NAMESPACE CMD: one pod's container "web",
# as a kubelet would have containerd make it, in the cgroup PARENT/ID.
replica() {
  local id=$1 pod=$2 parent=$3 ns=$4 cmd=$5
  on_exit "ctr -a $DK_CONTAINERD -n k8s.io task kill -s 9 $id >/dev/null 2>&1; ctr -a $DK_CONTAINERD -n k8s.io container rm $id >/dev/null 2>&1; rmdir /sys/fs/cgroup/*$parent/$id /sys/fs/cgroup/*$parent 2>/dev/null"
  timeout 60 ctr -a "$DK_CONTAINERD" -n k8s.io run --rm --rootfs --env PATH=/bin:/sbin \
    --cgroup "$parent/$id" \
    --annotation io.kubernetes.cri.container-type=container \
    --annotation io.kubernetes.cri.container-name=web \
    --annotation io.kubernetes.cri.sandbox-name="$pod" \
    --annotation io.kubernetes.cri.sandbox-namespace="$ns" \
    --mount type=tmpfs,src=tmpfs,dst=/tmp,options=rw "$ROOTFS" "$id" \
    /bin/sh -c "$cmd" >&2 || fail "ctr run $id ($pod) failed"
}

test_prometheus_cluster_advice() {
  docker_fixture
  require_cmd prometheus curl
  local pa pb pp ns=cs-shop-$$ a=/cs-node-a-$$ b=/cs-node-b-$$ out err line nodes rc=0 i
  pa=$(free_port)
  pb=$(free_port)
  while [[ $pb == "$pa" ]]; do pb=$(free_port); done
  pp=$(free_port)
  while [[ $pp == "$pa" || $pp == "$pb" ]]; do pp=$(free_port); done
  node_daemon node-a "$a" "$pa"
  node_daemon node-b "$b" "$pb"
  prom_start "$pp" "127.0.0.1:$pa" "127.0.0.1:$pb"

  # Replica 1 on "node a" needs CHOWN, replica 2 on "node b" MKNOD. Each
  # stays up a little so its daemon reads its cgroups from /proc.
  replica "cs-web1-$$" web-7d4b9c8f6d-x2kqz "$a" "$ns" \
    'touch /tmp/x && chown 1000 /tmp/x && sleep 2'
  replica "cs-web2-$$" web-7d4b9c8f6d-b5rtz "$b" "$ns" \
    'mknod /tmp/null c 1 3 && sleep 2'
  # A container of the same workload outside both parents: no daemon's.
  replica "cs-other-$$" web-7d4b9c8f6d-zzzzz "/cs-elsewhere-$$" "$ns" \
    'touch /tmp/x && chown 1000 /tmp/x && sleep 1'

  # Until Prometheus has scraped both replicas' series.
  for ((i = 0; i < 60; i++)); do
    rc=0
    out=$(run_capscope advise --prometheus "$PROM_URL" --workload "$ns/web" 2>"$TEST_TMP/err") || rc=$?
    ((rc == 0)) && grep -q "2 containers" <<<"$out" && grep -q "MKNOD" <<<"$out" &&
      grep -q "CHOWN" <<<"$out" && break
    sleep 0.5
  done
  echo "$out" >&2
  cat "$TEST_TMP/err" >&2
  assert_eq 0 "$rc" "advise --prometheus exit status"
  nodes=$(printf '%s\n' "127.0.0.1:$pa" "127.0.0.1:$pb" | sort | paste -sd, | sed 's/,/, /')
  assert_contains "$out" "2 nodes ($nodes), 2 containers (pods web-7d4b9c8f6d-b5rtz, web-7d4b9c8f6d-x2kqz)" "what the report says it saw"
  assert_contains "$out" "--cap-drop=ALL --cap-add=CHOWN --cap-add=MKNOD" "the union of both replicas"
  assert_contains "$out" "Pod Security Standards (capabilities): baseline (restricted is prevented by CHOWN, MKNOD)" "the PSS level"
  assert_not_contains "$out" "zzzzz" "a container under neither cgroup parent"

  # Every format applies; the counts go to stderr there.
  out=$(run_capscope advise --prometheus "$PROM_URL" --workload "$ns/web" --format docker 2>"$TEST_TMP/err")
  assert_eq "--cap-drop=ALL --cap-add=CHOWN --cap-add=MKNOD" "$out" "--format docker"
  assert_contains "$(cat "$TEST_TMP/err")" "2 nodes" "--format docker: the counts on stderr"
  out=$(run_capscope advise --prometheus "$PROM_URL" --workload "$ns/web" --format kyverno 2>/dev/null)
  echo "$out" >&2
  /usr/bin/python3 -c '
import sys, yaml
d = yaml.safe_load(sys.stdin)
assert d["kind"] == "ClusterPolicy", d
r = d["spec"]["rules"][0]
assert r["match"]["any"][0]["resources"]["namespaces"] == [sys.argv[1]], r
vals = r["validate"]["foreach"][0]["deny"]["conditions"]["all"][0]["value"]
assert sorted(v for v in vals if v) == ["CHOWN", "MKNOD"], vals
' "$ns" <<<"$out" || fail "--format kyverno from Prometheus: $(_lib_abbrev "$out")"

  # The cluster's workloads, one row each.
  out=$(run_capscope profiles --by workload --prometheus "$PROM_URL") ||
    fail "profiles --by workload --prometheus failed"
  echo "$out" >&2
  line=$(grep "^$ns/web " <<<"$out" || true)
  [[ -n "$line" ]] || fail "no row for $ns/web in: $(_lib_abbrev "$out")"
  [[ "$line" =~ ^$ns/web\ +web\ +2\ +2\ +CHOWN,MKNOD\ +baseline$ ]] ||
    fail "the row of $ns/web: $line"

  # One-line errors: no series, unreachable, not Prometheus.
  rc=0
  err=$(run_capscope advise --prometheus "$PROM_URL" --workload "$ns/api" 2>&1) || rc=$?
  assert_eq 125 "$rc" "no series: exit status"
  assert_contains "$err" "no capscope_checks_total series for workload $ns/api" "no series"
  assert_eq 1 "$(wc -l <<<"$err")" "no series: one line"
  rc=0
  err=$(run_capscope advise --prometheus "http://127.0.0.1:$(free_port)" --workload "$ns/web" 2>&1) || rc=$?
  assert_eq 125 "$rc" "unreachable: exit status"
  assert_contains "$err" "cannot reach Prometheus at" "unreachable"
  rc=0
  err=$(run_capscope advise --prometheus "http://127.0.0.1:$pa" --workload "$ns/web" 2>&1) || rc=$?
  assert_eq 125 "$rc" "a daemon's port is no Prometheus: exit status"
  assert_contains "$err" "answered HTTP 404" "not Prometheus"
}
