#!/usr/bin/env bash
# mkdebbase.sh: build (once, then cached) a small Debian 12 root filesystem
# with mmdebstrap for the package tier (tests/package). Two flavours:
#
#   pkgtest  variant apt: apt, man-db and the shared libraries capscope
#            links, so the .deb installs offline (`apt-get install ./x.deb`
#            finds every dependency already there) and `man -w` works
#   image    variant essential (dpkg, coreutils, bash, no apt) and the same
#            libraries, no documentation: the base of the daemon image
#   systemd  variant essential with systemd as init (systemd-sysv): booted
#            in a container (`podman run --systemd=always`) where the host
#            has no systemd, for `record --unit` tests (test_unit.sh)
#
#   mkdebbase.sh FLAVOUR          build if needed, print the directory
#   mkdebbase.sh FLAVOUR --path   print where it would be, build nothing
#   mkdebbase.sh --clean          remove every cached base
#
# The cache is /var/cache/capscope/debbase-FLAVOUR-HASH
# (CAPSCOPE_REALFS_CACHE for another parent directory), HASH being that of
# the recipe, so a changed recipe builds a new one. The directory is a
# read-only template: tests mount an overlay on it. Progress goes to stderr.
#
# Environment:
#   CAPSCOPE_REALFS_MIRROR  Debian mirror (default: the first deb.debian.org
#                           style URI in this machine's apt sources)
# shellcheck disable=SC2016  # the hooks are expanded by mmdebstrap
set -euo pipefail

log() { printf 'mkdebbase: %s\n' "$*" >&2; }
die() { printf 'mkdebbase: error: %s\n' "$*" >&2; exit 1; }

cache=${CAPSCOPE_REALFS_CACHE:-/var/cache/capscope}
suite=bookworm
# What `capscope` links (ldd): libbpf, cpp-httplib (with OpenSSL and
# brotli), libcap, libelf, zlib; libc6/libstdc++6/libgcc-s1 are in every
# variant.
libs=(libbpf1 libcpp-httplib0.11 libcap2 libelf1 zlib1g libssl3 libbrotli1 libstdc++6)

flavour=${1:-}
extra_hooks=()
case $flavour in
  --clean)
    rm -rf "$cache"/debbase-*
    exit 0
    ;;
  pkgtest)
    variant=apt
    packages=("${libs[@]}" man-db)
    dpkgopts=(force-unsafe-io)
    ;;
  image)
    variant=essential
    # mmdebstrap's merged-/usr setup leaves usrmerge, which pulls in perl
    # (50 MB of the image); usr-is-merged stands in for it and the perl
    # stack is purged (perl-base, essential, stays). No iconv modules
    # (gconv): nothing in the image converts character sets.
    packages=("${libs[@]}" usr-is-merged)
    dpkgopts=(
      force-unsafe-io
      'path-exclude=/usr/share/man/*'
      'path-exclude=/usr/share/doc/*'
      'path-exclude=/usr/share/locale/*'
      'path-exclude=/usr/share/info/*'
      'path-exclude=/usr/lib/x86_64-linux-gnu/gconv/*'
    )
    extra_hooks=('chroot "$1" dpkg --purge usrmerge libfile-find-rule-perl libnumber-compare-perl libtext-glob-perl perl libperl5.36 perl-modules-5.36')
    ;;
  systemd)
    variant=essential
    packages=(systemd systemd-sysv usr-is-merged)
    dpkgopts=(force-unsafe-io 'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/doc/*' 'path-exclude=/usr/share/locale/*')
    ;;
  *) die "usage: mkdebbase.sh pkgtest|image|systemd [--path] | --clean" ;;
esac
hooks=("${extra_hooks[@]}" 'rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*_Packages')

hash=$(printf '%s\n' "$suite" "$variant" "${packages[@]}" "${hooks[@]}" "${dpkgopts[@]}" | sha256sum | cut -c1-16)
dir="$cache/debbase-$flavour-$hash"

case ${2:-} in
  --path)
    echo "$dir"
    exit 0
    ;;
  "") ;;
  *) die "usage: mkdebbase.sh pkgtest|image|systemd [--path] | --clean" ;;
esac

# shellcheck source=rootfs_lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/rootfs_lib.sh"
# Bases of this flavour from older recipes are of no further use.
drop_old_bases() {
  local old
  for old in "$cache/debbase-$flavour-"*; do
    [[ "$old" == "$dir" || "$old" == *.tmp.* ]] || rm -rf "$old"
  done
}
rootfs_build "$dir" "$cache/debbase.lock" .capscope-debbase "$variant" drop_old_bases
