# shellcheck shell=bash
# shellcheck disable=SC2016  # container commands in single quotes
# Docker and containerd as runtimes (issue 12): `capscope record` through
# a real dockerd (docker_fixture.sh: Debian's docker.io with its own roots),
# docker-compose and ctr. The container is created by dockerd -> containerd
# -> shim -> runc, outside the client's process tree: capscope must profile
# exactly the containers the recorded command started, and refuse to advise
# when it saw none. The functions here run under lib.sh (see run.sh).

# shellcheck source=docker_fixture.sh disable=SC1091
source "$REPO_ROOT/tests/privileged/docker_fixture.sh"

DK_CHOWN='touch /tmp/x && chown 1000 /tmp/x && stat -c %u /tmp/x'

# The measured command of issue 12: CHOWN and NET_ADMIN, nothing of
# dockerd's, containerd's or runc's.
test_docker_record_one() {
  docker_fixture
  expect_advice "--cap-drop=ALL --cap-add=CHOWN --cap-add=NET_ADMIN" -- \
    docker run --rm "${DK_RUN_OPTS[@]}" --cap-add=NET_ADMIN "$DK_IMAGE" \
    sh -c 'touch /tmp/x && chown 1000 /tmp/x && ip link set lo mtu 1400 && echo done'
  assert_eq "done" "$REC_OUTPUT" "the container's output"
  # The report: the engine's own checks in the runtime section.
  local out
  out=$(run_capscope record -o - -- docker container run --rm "${DK_RUN_OPTS[@]}" \
    "$DK_IMAGE" sh -c "$DK_CHOWN" 2>&1) || fail "record (report) failed: $out"
  echo "$out" >&2
  assert_contains "$out" "Runtime section" "the report"
  assert_contains "$out" "--cap-add=CHOWN" "the report's advice"
}

# Two containers at once under one record: one profile each.
test_docker_record_two_concurrent() {
  docker_fixture
  record_docker -- sh -c "docker run --rm --name cs-a-$$ ${DK_RUN_OPTS[*]} $DK_IMAGE sh -c '$DK_CHOWN' >/dev/null &
    docker run --rm --name cs-b-$$ ${DK_RUN_OPTS[*]} --cap-add=NET_ADMIN $DK_IMAGE ip link set lo mtu 1400 & wait"
  assert_eq 0 "$REC_RC" "capscope's exit status"
  local all
  all=$(sed -n '/^#/,$p' "$TEST_TMP/.record.stdout")
  assert_contains "$all" "# cs-a-$$" "the first container's profile"
  assert_contains "$all" "# cs-b-$$" "the second container's profile"
  local a b
  a=$(grep -A1 "^# cs-a-$$" <<<"$all" | tail -n 1)
  b=$(grep -A1 "^# cs-b-$$" <<<"$all" | tail -n 1)
  assert_eq "--cap-drop=ALL --cap-add=CHOWN" "$a" "cs-a's advice"
  assert_eq "--cap-drop=ALL --cap-add=NET_ADMIN" "$b" "cs-b's advice"
}

# A container started at the same time by a process outside the recorded
# command (here: mknod, MKNOD) is not attributed to it.
test_docker_unrelated_not_attributed() {
  docker_fixture
  local other=cs-other-$$
  on_exit "docker rm -f $other >/dev/null 2>&1"
  docker run -d --name "$other" "${DK_RUN_OPTS[@]}" "$DK_IMAGE" \
    sh -c 'i=0; while [ $i -lt 400 ]; do mknod /tmp/n$i c 1 3; i=$((i+1)); sleep 0.05; done' >/dev/null
  expect_advice "--cap-drop=ALL --cap-add=CHOWN" -- \
    docker run --rm "${DK_RUN_OPTS[@]}" "$DK_IMAGE" sh -c "sleep 1; $DK_CHOWN"
  # The unrelated container really did its mknods meanwhile.
  local n
  n=$(docker exec "$other" sh -c 'ls /tmp | wc -l')
  ((n > 0)) || fail "the unrelated container made no mknod"
}

# The empty-scope rule: a client that only queries the engine.
test_docker_empty_scope_ps() {
  docker_fixture
  record_docker -- docker ps
  assert_eq 125 "$REC_RC" "capscope's exit status for a docker ps"
  assert_contains "$REC_STDERR" "no container of its own was seen" "stderr"
  assert_not_contains "$REC_ADVICE" "--cap-drop" "stdout"
}

# The empty-scope rule: a container whose command cannot start.
test_docker_empty_scope_failed_start() {
  docker_fixture
  record_docker -- docker run --rm "${DK_RUN_OPTS[@]}" "$DK_IMAGE" /no/such/command
  assert_eq 125 "$REC_RC" "capscope's exit status for a container that failed to start"
  assert_contains "$REC_STDERR" "no container of its own was seen" "stderr"
  assert_not_contains "$REC_ADVICE" "--cap-drop" "stdout"
}

# docker-compose with two services: a compose override, parsed back.
test_docker_compose_two_services() {
  docker_fixture
  require_cmd docker-compose python3
  python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed"
  mkdir -p proj
  cat >proj/compose.yaml <<YAML
services:
  chowner:
    image: $DK_IMAGE
    network_mode: none
    command: ["sh", "-c", "$DK_CHOWN"]
  netter:
    image: $DK_IMAGE
    network_mode: none
    cap_add: [NET_ADMIN]
    command: ["ip", "link", "set", "lo", "mtu", "1400"]
YAML
  on_exit "(cd $TEST_TMP/proj && timeout 60 docker-compose -f compose.yaml down -t 0 >/dev/null 2>&1)"
  local rc=0
  (cd proj && run_capscope record --format compose -o "$TEST_TMP/override.yaml" -- \
    docker-compose -f compose.yaml up) >&2 || rc=$?
  assert_eq 0 "$rc" "capscope's exit status"
  cat override.yaml >&2
  local got
  got=$(python3 - "$TEST_TMP/override.yaml" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
for name, svc in sorted(doc["services"].items()):
    print(name, ",".join(svc.get("cap_drop", [])), ",".join(svc.get("cap_add", [])))
PY
)
  assert_contains "$got" "chowner ALL CHOWN" "the override (parsed)"
  assert_contains "$got" "netter ALL NET_ADMIN" "the override (parsed)"
}

# containerd driven with ctr: the container named on ctr's command line.
test_docker_ctr_run() {
  docker_fixture
  local id=cs-ctr-$$
  on_exit "ctr -a $DK_CONTAINERD -n capscope task kill -s 9 $id >/dev/null 2>&1; ctr -a $DK_CONTAINERD -n capscope container rm $id >/dev/null 2>&1"
  expect_advice "--cap-drop=ALL --cap-add=CHOWN" -- \
    ctr -a "$DK_CONTAINERD" -n capscope run --rm --rootfs --env PATH=/bin:/sbin \
    --mount type=tmpfs,src=tmpfs,dst=/tmp,options=rw "$ROOTFS" "$id" /bin/sh -c "$DK_CHOWN"
  assert_eq 1000 "$REC_OUTPUT" "owner of /tmp/x in the ctr container"
}

# The daemon names docker and containerd containers from the runtimes' own
# state (docker's config.v2.json; runc state -> bundle -> config.json with
# containerd's CRI annotations, set here with ctr --annotation, no kubelet),
# in `profiles` and in the Prometheus labels container/pod/namespace.
test_docker_daemon_names() {
  docker_fixture
  require_cmd curl
  local port sock log pid name=cs-dkd-$$ id=cs-cri-$$ text line i
  port=$(free_port)
  sock=$TEST_TMP/capscope.sock log=$TEST_TMP/daemon.log
  "$CAPSCOPE" daemon --state-dir "$TEST_TMP/state" --socket "$sock" \
    --flush-interval 1s --metrics "127.0.0.1:$port" -v </dev/null >"$log" 2>&1 &
  pid=$!
  bg_track "$pid"
  on_exit "echo '--- daemon log:' >&2; tail -n 15 '$log' >&2"
  wait_for_text "$log" "tracing all containers" 20 || fail "capscope daemon did not start"
  docker run --rm --name "$name" "${DK_RUN_OPTS[@]}" "$DK_IMAGE" sh -c "$DK_CHOWN" >/dev/null
  on_exit "ctr -a $DK_CONTAINERD -n k8s.io container rm $id >/dev/null 2>&1"
  timeout 60 ctr -a "$DK_CONTAINERD" -n k8s.io run --rm --rootfs --env PATH=/bin:/sbin \
    --annotation io.kubernetes.cri.container-type=container \
    --annotation io.kubernetes.cri.container-name=web \
    --annotation io.kubernetes.cri.sandbox-name=shop-web-7d4b9 \
    --annotation io.kubernetes.cri.sandbox-namespace=shop \
    --mount type=tmpfs,src=tmpfs,dst=/tmp,options=rw "$ROOTFS" "$id" \
    /bin/sh -c "$DK_CHOWN" >/dev/null
  for ((i = 0; i < 50; i++)); do
    text=$(curl -fsS --max-time 10 "http://127.0.0.1:$port/metrics") || true
    grep -q "container=\"$name\".*cap=\"CHOWN\"" <<<"$text" &&
      grep -q "pod=\"shop-web-7d4b9\".*cap=\"CHOWN\"" <<<"$text" && break
    sleep 0.3
  done
  grep capscope_checks_total <<<"$text" >&2 || true
  line=$(grep -E "^capscope_checks_total\{container=\"$name\".*cap=\"CHOWN\"" <<<"$text" || true)
  [[ -n "$line" ]] || fail "no CHOWN line for docker container $name in /metrics"
  line=$(grep -E "^capscope_checks_total\{.*cap=\"CHOWN\"" <<<"$text" | grep "pod=\"shop-web-7d4b9\"" || true)
  [[ -n "$line" ]] || fail "no CHOWN line for pod shop-web-7d4b9 in /metrics"
  assert_contains "$line" 'container="web"' "the CRI container's metrics labels"
  assert_contains "$line" 'namespace="shop"' "the CRI container's metrics labels"
  text=$(run_capscope profiles --socket "$sock" --json) || fail "capscope profiles failed"
  echo "$text" >&2
  assert_contains "$text" "\"$name\"" "profiles (docker container by name)"
}

# verify --runtime docker: the advice proven in a real docker container.
test_docker_verify() {
  docker_fixture
  local rc=0 out="$TEST_TMP/.verify.stdout" err="$TEST_TMP/.verify.stderr"
  run_capscope verify --caps CHOWN --minimize --runtime docker --image "$DK_IMAGE" \
    --runtime-opt=--network=none --format docker -o - -- sh -c "$DK_CHOWN" \
    >"$out" 2>"$err" || rc=$?
  cat "$out" "$err" >&2
  assert_eq 0 "$rc" "verify's exit status"
  assert_eq "--cap-drop=ALL --cap-add=CHOWN" "$(tail -n 1 "$out")" "proven-minimal set"
  assert_contains "$(cat "$err")" "without CHOWN (none): FAIL" "the container without CHOWN"
  assert_contains "$(cat "$err")" "Operation not permitted" "the container's stderr"
}

# diagnose -- docker run: the container's failure explained, not dockerd's.
test_docker_diagnose() {
  docker_fixture
  local rc=0 out="$TEST_TMP/diag.txt"
  run_capscope diagnose -o "$out" -- docker run --rm "${DK_RUN_OPTS[@]}" --cap-drop=ALL \
    "$DK_IMAGE" sh -c "$DK_CHOWN" >"$TEST_TMP/.diag.out" 2>&1 || rc=$?
  cat "$TEST_TMP/.diag.out" "$out" >&2
  ((rc != 0)) || fail "the chown should have failed with --cap-drop=ALL"
  assert_contains "$(cat "$out")" "Fix: --cap-drop=ALL --cap-add=CHOWN" "fix line"
  assert_eq 1 "$(grep -c '^Fix:' "$out")" "one fix line"
}
