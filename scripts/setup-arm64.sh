#!/usr/bin/env bash
# setup-arm64.sh - what only the arm64 tier (scripts/test.sh vm-arm64,
# scripts/vmtest.sh --arch arm64) needs on a Debian 12 x86-64 host: the
# aarch64 cross compilers, arm64 multiarch libraries to link capscope
# against, and qemu-system-aarch64 to boot Debian's arm64 kernel. Idempotent:
# apt is not touched when everything is installed. scripts/setup.sh does not
# call it; the tier does (or run it by hand).
set -euo pipefail

log() { printf 'setup-arm64: %s\n' "$*"; }
die() { printf 'setup-arm64: error: %s\n' "$*" >&2; exit 1; }

packages=(
  # cross compilers (they pull linux-libc-dev-arm64-cross and libc6-dev-arm64-cross)
  gcc-aarch64-linux-gnu g++-aarch64-linux-gnu
  # arm64 builds of what capscope links (multiarch, next to the amd64 ones)
  libbpf-dev:arm64 libelf-dev:arm64 zlib1g-dev:arm64 libzstd-dev:arm64
  libcap-dev:arm64 libcpp-httplib-dev:arm64
  # the guest: qemu-system-aarch64 (TCG) and its UEFI-less direct kernel boot
  qemu-system-arm
  # the cross build's generator (scripts/vmtest.sh; make works, more slowly)
  ninja-build
)

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == installed ]] || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
  log "all ${#packages[@]} packages installed"
  exit 0
fi
((EUID == 0)) || die "needs root to install: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  log "dpkg --add-architecture arm64"
  dpkg --add-architecture arm64
fi
log "apt-get update"
apt-get update
log "apt-get install ${missing[*]}"
apt-get install -y --no-install-recommends "${missing[@]}"
