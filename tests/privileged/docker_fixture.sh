# shellcheck shell=bash
# shellcheck disable=SC2034  # DK_* are read by the tests
# docker_fixture.sh - a private Docker engine for the privileged tests:
# dockerd from Debian's docker.io (with the containerd it manages), its own
# data root, exec root and API socket under a temporary directory, no
# iptables and no bridge, stopped and removed when the test ends. Sourced by
# the test files (after lib.sh); an engine that cannot start is a SKIPPED
# with the reason.
#
#   docker_fixture            start it; sets DOCKER_HOST (exported), DK_DIR,
#                             DK_CONTAINERD (containerd's socket) and
#                             DK_IMAGE (the busybox rootfs, `docker import`ed)
#   dk_run_opts               options every test container gets (docker run)

DK_IMAGE=capscope-busybox:latest
# No network namespace setup to pay for; names capabilities, never ALL
# (the default set has no SYS_RESOURCE to add on this kind of machine).
DK_RUN_OPTS=(--network none)

docker_fixture() {
  require_cmd dockerd docker containerd ctr runc
  container_fixtures
  # A short path: unix socket paths are limited to 108 bytes.
  DK_DIR=$(mktemp -d /tmp/csdk.XXXXXX)
  local log=$DK_DIR/dockerd.log i
  dockerd --iptables=false --ip6tables=false --bridge=none --ip-masq=false \
    --data-root "$DK_DIR/data" --exec-root "$DK_DIR/exec" \
    --pidfile "$DK_DIR/dockerd.pid" -H "unix://$DK_DIR/docker.sock" \
    --storage-driver vfs >"$log" 2>&1 &
  local pid=$!
  on_exit "_dk_stop $pid $DK_DIR"
  export DOCKER_HOST=unix://$DK_DIR/docker.sock
  DK_CONTAINERD=$DK_DIR/exec/containerd/containerd.sock
  for ((i = 0; i < 300; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      skip "dockerd exited at start: $(tail -n 3 "$log" | tr '\n' ' ')"
    fi
    docker version >/dev/null 2>&1 && break
    sleep 0.1
  done
  docker version >/dev/null 2>&1 ||
    skip "dockerd did not answer within 30 s: $(tail -n 3 "$log" | tr '\n' ' ')"
  tar -C "$ROOTFS" -c . | timeout 60 docker import - "$DK_IMAGE" >/dev/null ||
    fail "docker import of the busybox rootfs failed"
}

_dk_stop() { # _dk_stop PID DIR
  local pid=$1 dir=$2 i
  kill "$pid" 2>/dev/null
  for ((i = 0; i < 200; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null
  # Whatever dockerd left mounted under its roots, then the roots.
  grep -o " ${dir}[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$dir"
}
