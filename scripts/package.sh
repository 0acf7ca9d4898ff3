#!/usr/bin/env bash
# package.sh: build capscope (build/, as scripts/setup.sh configures it) and
# make its Debian package with CPack; prints the .deb's path on stdout.
#
#   scripts/package.sh [BUILD_DIR]
#
# The package (cmake/packaging.cmake) installs under /usr: the binary, the
# manual pages, bash/zsh/fish completions, the profile JSON Schema, the
# systemd unit (not enabled) and the documentation; Depends is computed
# from the binary's shared libraries. `dpkg -I` shows the result.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
jobs=${CAPSCOPE_BUILD_JOBS:-$(nproc)}

log() { printf 'package: %s\n' "$*" >&2; }
die() { printf 'package: error: %s\n' "$*" >&2; exit 1; }

command -v cpack >/dev/null || die "cpack not installed (cmake provides it; scripts/setup.sh installs it)"
command -v dpkg-shlibdeps >/dev/null || die "dpkg-shlibdeps not installed (dpkg-dev, part of build-essential)"
command -v scdoc >/dev/null || die "scdoc not installed: the package would have no manual pages (scripts/setup.sh installs it)"

if [[ ! -f "$build/CMakeCache.txt" ]]; then
  log "configuring $build"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
fi
log "building capscope and its manual pages in $build"
cmake --build "$build" -j"$jobs" --target capscope man >&2
rm -rf "$build/packages"
log "cpack -G DEB"
(cd "$build" && cpack -G DEB --config "$build/CPackConfig.cmake") >&2 || die "cpack failed"
deb=$(find "$build/packages" -maxdepth 1 -name 'capscope_*.deb' -print -quit)
[[ -n "$deb" ]] || die "cpack made no .deb under $build/packages"
log "$(dpkg-deb -f "$deb" Package Version Architecture Depends | tr '\n' ' ')"
echo "$deb"
