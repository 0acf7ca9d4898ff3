#!/usr/bin/env bash
# mkrealfs.sh: build (once, then cached) the Debian 12 root filesystem of the
# real-programs test tier (tests/realprog): the daemons under test and the
# clients their health checks run, installed with mmdebstrap from Debian's
# archive. Prints the directory on stdout; progress goes to stderr.
#
#   mkrealfs.sh            build if needed, print the rootfs directory
#   mkrealfs.sh --path     print where it would be, build nothing
#   mkrealfs.sh --clean    remove every cached realfs (all hashes)
#
# The cache is /var/cache/capscope/realfs-HASH (CAPSCOPE_REALFS_CACHE for
# another parent directory), HASH being that of the recipe below (suite,
# package list, hooks), so any change to it builds a new one. The directory is a
# read-only template: runs mount an overlay on it (tests/realprog/lib.sh).
#
# Environment:
#   CAPSCOPE_REALFS_MIRROR  Debian mirror (default: the first deb.debian.org
#                           style URI in this machine's apt sources, else
#                           http://deb.debian.org/debian)
# shellcheck disable=SC2016  # the hooks are expanded by mmdebstrap
set -euo pipefail

log() { printf 'mkrealfs: %s\n' "$*" >&2; }
die() { printf 'mkrealfs: error: %s\n' "$*" >&2; exit 1; }

cache=${CAPSCOPE_REALFS_CACHE:-/var/cache/capscope}

# The daemons, and what the health checks run inside the rootfs (chrooted,
# from the host side): curl (HTTP, FTP, SMTP, proxy), psql, dig, redis-cli,
# logger, chronyd -Q.
packages=(
  apache2 nginx postgresql unbound squid vsftpd rsyslog exim4-daemon-light
  redis-server chrony memcached
  curl bind9-dnsutils ca-certificates procps
)
suite=bookworm
# Run in the chroot after the install: an FTP user with a password (the
# vsftpd check logs in), and no downloaded archives kept. Services do not
# start at install time (mmdebstrap's policy-rc.d in root mode).
hooks=(
  'chroot "$1" useradd -m -s /bin/bash ftpuser'
  'echo ftpuser:ftppass | chroot "$1" chpasswd'
  'rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*_Packages'
)
# dpkg: no documentation, manual pages or translations (smaller, and much
# faster to unpack), no fsync per file (the tree is rebuilt, not repaired).
dpkgopts=(
  force-unsafe-io
  'path-exclude=/usr/share/man/*'
  'path-exclude=/usr/share/doc/*'
  'path-exclude=/usr/share/locale/*'
  'path-exclude=/usr/share/info/*'
)
hash=$(printf '%s\n' "$suite" "${packages[@]}" "${hooks[@]}" "${dpkgopts[@]}" | sha256sum | cut -c1-16)
dir="$cache/realfs-$hash"

case ${1:-} in
  --path)
    echo "$dir"
    exit 0
    ;;
  --clean)
    rm -rf "$cache"/realfs-*
    exit 0
    ;;
  "") ;;
  *) die "usage: mkrealfs.sh [--path|--clean]" ;;
esac

# shellcheck source=rootfs_lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/rootfs_lib.sh"
# The marker also lists the packages asked for.
list_packages() { printf '%s\n' "${packages[@]}" >>"$1/.capscope-realfs"; }
rootfs_build "$dir" "$cache/realfs.lock" .capscope-realfs apt list_packages
