#!/usr/bin/env bash
# Install everything capscope needs on Debian 12, mount tracefs/debugfs, and
# build the project into build/. Idempotent: when every package is already
# installed apt is not touched, so a rerun only re-runs the (incremental) build.
#
# Environment:
#   CAPSCOPE_SETUP_NO_BUILD=1   install and mount only, skip the build
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

packages=(
  # toolchain and build
  build-essential cmake clang llvm pkg-config
  # scripts/fuzz.sh and scripts/sanitize.sh: libFuzzer and the sanitizer runtimes
  libclang-rt-14-dev
  # BPF
  bpftool libbpf-dev libelf-dev zlib1g-dev
  # arm64's syscall table (userspace/core/syscall_table.cmake generates it
  # from these UAPI headers; x86-64 builds know arm64's numbers too)
  linux-libc-dev-arm64-cross
  # libraries
  libcap-dev catch2 libcli11-dev nlohmann-json3-dev libcpp-httplib-dev
  # runtime tools used by tests and examples
  libcap2-bin podman runc busybox-static bpftrace iproute2 uidmap util-linux
  procps coreutils time
  # scripts/vmtest.sh: boot Debian's 6.1 kernel (apt-get download, never
  # installed) under software emulation with a cpio initramfs
  qemu-system-x86 cpio
  # (the arm64 tier's cross compilers, arm64 libraries and qemu-system-arm:
  # scripts/setup-arm64.sh, run by that tier)
  # schema validation and manifests in tests
  python3 python3-jsonschema python3-yaml
  # daemon tests: a real Prometheus scraping /metrics, HTTP client, the pod
  # infra container of `podman kube play`, systemd-analyze for the unit
  prometheus curl catatonit systemd
  # docker and containerd tests (tests/privileged/docker_fixture.sh): dockerd,
  # containerd, ctr and runc from docker.io; docker-compose (v1)
  docker.io docker-compose
  # real-programs tier (tests/realprog): scripts/mkrealfs.sh builds its
  # Debian rootfs with mmdebstrap (so does scripts/mkdebbase.sh, for the
  # package tier)
  mmdebstrap
  # manual pages (docs/man, scdoc sources), the zsh and fish completions'
  # syntax checks, the Debian package's Depends (dpkg-shlibdeps in dpkg-dev)
  scdoc zsh fish dpkg-dev
  # scripts/bench_server.sh: a real server (nginx) under a load generator (wrk)
  nginx-light wrk
  # `capscope top` driven on a real terminal (tests/privileged/test_top.sh)
  tmux
)

# --- packages -----------------------------------------------------------
missing=()
native=$(dpkg --print-architecture)
for pkg in "${packages[@]}"; do
  # The native package's status (with arm64 added by setup-arm64.sh a
  # multiarch library has two), else an Architecture: all one's.
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg:$native" 2>/dev/null ||
    dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != installed ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  log "all ${#packages[@]} Debian packages already installed, skipping apt"
else
  log "missing packages: ${missing[*]}"
  if ((EUID != 0)); then
    die "installing packages needs root; rerun as root or install them: apt-get install ${missing[*]}"
  fi
  export DEBIAN_FRONTEND=noninteractive
  log "apt-get update"
  apt-get update
  log "apt-get install ${#missing[@]} package(s)"
  apt-get install -y --no-install-recommends "${missing[@]}"
fi

# --- tracefs / debugfs --------------------------------------------------
# The tracepoint capability:cap_capable is found through tracefs; bpftrace
# and older tools also look under debugfs.
ensure_mount() { # ensure_mount FSTYPE DIR
  local fstype=$1 dir=$2
  if [[ ! -d "$dir" ]]; then
    log "warning: $dir does not exist, cannot mount $fstype"
    return 0
  fi
  if findmnt -n -t "$fstype" "$dir" >/dev/null 2>&1; then
    return 0
  fi
  if ((EUID != 0)); then
    log "warning: $fstype is not mounted on $dir and mounting it needs root"
    return 0
  fi
  if mount -t "$fstype" "$fstype" "$dir" 2>/dev/null; then
    log "mounted $fstype on $dir"
  else
    log "warning: could not mount $fstype on $dir"
  fi
}
ensure_mount tracefs /sys/kernel/tracing
ensure_mount debugfs /sys/kernel/debug

# --- build ---------------------------------------------------------------
if [[ "${CAPSCOPE_SETUP_NO_BUILD:-0}" == 1 ]]; then
  log "CAPSCOPE_SETUP_NO_BUILD=1: skipping the build"
  exit 0
fi
log "configuring $root/build"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
log "building with $(nproc) job(s)"
cmake --build "$root/build" -j"$(nproc)"
log "build done: $root/build/userspace/cli/capscope"
