# shellcheck shell=bash
# Package tier: the daemon image (scripts/image.sh: the .deb on an mmdebstrap
# Debian 12 base, built offline) and deploy/capscope-daemonset.yaml played
# with `podman kube play` on it: two containers traced, their advice and the
# metrics read from the daemon in the pod.
# shellcheck source=lib_package.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib_package.sh"

# The four capabilities of deploy/ (deploy/README.md), sorted.
DEPLOY_CAPS="CAP_BPF CAP_PERFMON CAP_SYSLOG CAP_SYS_PTRACE"

# image_setup: build (or reuse) the image; sets DAEMON_IMAGE.
image_setup() {
  require_podman
  require_deb
  if [[ -n "${CAPSCOPE_PACKAGE_IMAGE:-}" ]]; then # built already (run.sh)
    DAEMON_IMAGE=$CAPSCOPE_PACKAGE_IMAGE
    return 0
  fi
  debbase image >/dev/null
  local log="$TEST_TMP/image.log"
  # This machine's podman needs runc and ulimits it can set (lib.sh).
  if ! DAEMON_IMAGE=$(PODMAN_BUILD_OPTS="${PODMAN_RUN_OPTS[*]}" bash "$REPO_ROOT/scripts/image.sh" "$CAPSCOPE_DEB" 2>"$log"); then
    cat "$log" >&2
    fail "scripts/image.sh failed: $(tail -n 1 "$log")"
  fi
  cat "$log" >&2
}

# The image: small, the package's binary, root, the health check asks the
# daemon over its socket, no registry image underneath.
test_image_contents() {
  image_setup
  local size out
  size=$(podman image inspect --format '{{.Size}}' "$DAEMON_IMAGE")
  echo "image $DAEMON_IMAGE: $size bytes" >&2
  ((size < 80000000)) || fail "the image is $((size / 1000000)) MB, more than 80 MB (it was 60 MB: 56 MB base, 3.7 MB package)"
  assert_eq "[/usr/bin/capscope]" "$(podman image inspect --format '{{.Config.Entrypoint}}' "$DAEMON_IMAGE")" "the image's entrypoint"
  assert_contains "$(podman image inspect --format '{{.Config.Healthcheck.Test}}' "$DAEMON_IMAGE")" \
    "capscope profiles --all --socket /run/capscope/capscope.sock" "the image's health check"
  out=$(timeout 60 podman run --rm "${PODMAN_RUN_OPTS[@]}" --network=none "$DAEMON_IMAGE" --version)
  assert_contains "$out" "capscope $(dpkg-deb -f "$CAPSCOPE_DEB" Version | sed 's/-[^-]*$//') (commit" "capscope --version in the image"
  # shellcheck disable=SC2016  # dpkg-query's format
  out=$(timeout 60 podman run --rm "${PODMAN_RUN_OPTS[@]}" --network=none --entrypoint dpkg-query "$DAEMON_IMAGE" -W -f '${Status}' capscope)
  assert_eq "install ok installed" "$out" "the package's status in the image"
}

# kube_setup: the DaemonSet's pod template as a Pod (podman 4.3 plays Pods,
# not DaemonSets) on the image the DaemonSet names, which must be the one
# scripts/image.sh builds. Translations for podman 4.3 as in
# tests/privileged/test_daemon.sh (kube_pod_setup): hostPID -> pidns=host in
# a containers.conf, seccompProfile Unconfined -> its annotation, ports not
# published on the host (the metrics are read at the pod's address), the
# named readiness port -> its number, hostPaths -> this test's directories.
# Sets KUBE_POD, KUBE_CTR, KUBE_RUN.
kube_setup() {
  image_setup
  container_fixtures
  command -v catatonit >/dev/null || [[ -x /usr/libexec/podman/catatonit ]] ||
    skip "catatonit not installed: podman kube play needs it for the pod's infra container (scripts/setup.sh installs it)"
  /usr/bin/python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml not installed"
  [[ -d /sys/kernel/btf ]] || skip "no /sys/kernel/btf"
  KUBE_POD="cs-pkg-kube-$$"
  KUBE_CTR="$KUBE_POD-capscope"
  KUBE_RUN="$TEST_TMP/run"
  mkdir -p "$TEST_TMP/state" "$KUBE_RUN"
  /usr/bin/python3 - "$REPO_ROOT/deploy/capscope-daemonset.yaml" "$KUBE_POD" "$DAEMON_IMAGE" \
    "$TEST_TMP/state" "$KUBE_RUN" >"$TEST_TMP/pod.yaml" <<'PY' || fail "cannot turn the DaemonSet into a Pod"
import sys, yaml
manifest, pod_name, image, state, run = sys.argv[1:]
docs = [d for d in yaml.safe_load_all(open(manifest)) if d]
(ds,) = [d for d in docs if d.get("kind") == "DaemonSet"]
tpl = ds["spec"]["template"]
spec = tpl["spec"]
(c,) = spec["containers"]
if c["image"] != image:
    sys.exit("the DaemonSet runs %s, scripts/image.sh builds %s" % (c["image"], image))
for probe in ("livenessProbe", "readinessProbe"):
    assert probe in c, "no %s in the DaemonSet" % probe
assert "limits" in c.get("resources", {}), "no resource limits"
ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
http = (c["readinessProbe"].get("httpGet") or {})
if isinstance(http.get("port"), str):
    http["port"] = ports[http["port"]]
c["ports"] = []
mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
for v in spec["volumes"]:
    path = mounts[v["name"]]
    if path == "/var/lib/capscope":
        v["hostPath"]["path"] = state
    elif path.startswith("/run"):
        v["hostPath"]["path"] = run
spec.pop("priorityClassName", None)
spec.pop("tolerations", None)
meta = {"name": pod_name, "labels": tpl["metadata"].get("labels", {}),
        "annotations": dict(tpl["metadata"].get("annotations", {}))}
if (c["securityContext"].get("seccompProfile") or {}).get("type") == "Unconfined":
    meta["annotations"]["seccomp.security.alpha.kubernetes.io/pod"] = "unconfined"
yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec},
               sys.stdout, sort_keys=False)
PY
  cat "$TEST_TMP/pod.yaml" >&2
  cat >"$TEST_TMP/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
pidns = "host"
CONF
  on_exit "timeout 60 podman pod rm -f -t 0 $KUBE_POD >/dev/null 2>&1"
  local out rc=0
  out=$(CONTAINERS_CONF=$TEST_TMP/containers.conf timeout 120 podman --runtime runc kube play "$TEST_TMP/pod.yaml" 2>&1) || rc=$?
  echo "podman kube play: exit $rc: $out" >&2
  assert_eq 0 "$rc" "exit status of podman kube play (output: $(_lib_abbrev "$out"))"
  local start logs=""
  start=$(now_ms)
  while (($(now_ms) - start < 30000)); do
    logs=$(podman logs "$KUBE_CTR" 2>&1 || true)
    grep -q "tracing all containers" <<<"$logs" && break
    sleep 0.3
  done
  echo "--- pod log:" >&2
  echo "$logs" >&2
  assert_contains "$logs" "tracing all containers" "the daemon's log in the pod"
}

# The DaemonSet on the image under podman kube play: exactly the four
# capabilities, healthy by its own probe, two containers' advice read from
# it, and its metrics.
test_image_kube_daemonset() {
  kube_setup
  local caps
  caps=$(podman inspect --format '{{.EffectiveCaps}}' "$KUBE_CTR" | tr -d '[]' | tr ' ' '\n' | sort | xargs)
  assert_eq "$DEPLOY_CAPS" "$caps" "the daemon container's effective capabilities"

  local a b
  a=$(unique_name pkg-a) b=$(unique_name pkg-b)
  ctr_start "$a" --cap-add=ALL --tmpfs /tmp:notmpcopyup "$IMAGE" sh -c 'sleep 1; touch /tmp/x && chown 1000 /tmp/x'
  ctr_start "$b" --cap-add=ALL --tmpfs /tmp:notmpcopyup "$IMAGE" sh -c 'sleep 1; mknod /tmp/null c 1 3'
  ctr_wait "$a"
  assert_eq 0 "$CTR_RC" "exit status of $a"
  ctr_wait "$b"
  assert_eq 0 "$CTR_RC" "exit status of $b"

  # Their advice, asked with the image's own client in the pod.
  local n want advice start
  for n in "$a" "$b"; do
    [[ $n == "$a" ]] && want="--cap-drop=ALL --cap-add=CHOWN" || want="--cap-drop=ALL --cap-add=MKNOD"
    start=$(now_ms) advice=""
    while (($(now_ms) - start < 20000)); do
      advice=$(podman exec "$KUBE_CTR" capscope show "$n" -f docker --socket /run/capscope/capscope.sock 2>&1 || true)
      [[ $advice == "$want" ]] && break
      sleep 0.5
    done
    echo "advice for $n: $advice" >&2
    assert_eq "$want" "$advice" "the daemon's advice for $n"
  done
  podman exec "$KUBE_CTR" capscope profiles --socket /run/capscope/capscope.sock >&2 || true

  # The liveness probe (the image's health check command) passes.
  local hc rc=0
  hc=$(timeout 30 podman healthcheck run "$KUBE_CTR" 2>&1) || rc=$?
  echo "podman healthcheck run: exit $rc: $hc" >&2
  assert_eq 0 "$rc" "podman healthcheck run on the daemon container"

  # Metrics, at the pod's address.
  local infra ip metrics
  infra=$(podman pod inspect --format '{{.InfraContainerID}}' "$KUBE_POD")
  ip=$(podman inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}{{.NetworkSettings.IPAddress}}' "$infra" | awk '{ print $1 }')
  [[ -n "$ip" ]] || fail "the pod has no IP address"
  metrics=$(curl -fsS --max-time 5 "http://$ip:9464/metrics") || fail "no metrics at http://$ip:9464/metrics"
  assert_contains "$metrics" "capscope_" "the daemon's metrics"
  assert_contains "$metrics" "$a" "the metrics name the first container"

  # Resident memory, for the manifest's requests/limits.
  local pid rss hwm
  pid=$(podman inspect --format '{{.State.Pid}}' "$KUBE_CTR")
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
  hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
  echo "measured: daemon RSS ${rss} kB, peak ${hwm} kB" >&2
  echo "daemon RSS ${rss} kB, peak ${hwm} kB" >"${CAPSCOPE_PACKAGE_MEASURE:-/dev/null}"
}
