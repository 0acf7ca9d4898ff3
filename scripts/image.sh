#!/usr/bin/env bash
# image.sh: build the capscope daemon image offline, from the Debian package
# (scripts/package.sh) on a Debian 12 base made by mmdebstrap
# (scripts/mkdebbase.sh image, imported once with `podman import` as
# localhost/capscope-base:HASH); deploy/Containerfile installs the package.
# No registry is contacted. Prints the image name on stdout.
#
#   scripts/image.sh [DEB]
#
# Environment:
#   CAPSCOPE_IMAGE_NAME   the image (default localhost/capscope:VERSION, the
#                         package's version without its Debian revision)
#   PODMAN_BUILD_OPTS     extra `podman build` options, for machines that need
#                         them (e.g. --runtime=runc --ulimit=nofile=1024:1024)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf 'image: %s\n' "$*" >&2; }
die() { printf 'image: error: %s\n' "$*" >&2; exit 1; }

command -v podman >/dev/null || die "podman not installed (scripts/setup.sh installs it)"
deb=${1:-}
if [[ -z "$deb" ]]; then
  deb=$(bash "$root/scripts/package.sh") || die "scripts/package.sh failed"
fi
[[ -f "$deb" ]] || die "no package at $deb"
version=$(dpkg-deb -f "$deb" Version)
name=${CAPSCOPE_IMAGE_NAME:-localhost/capscope:${version%-*}}

base_dir=$(bash "$root/scripts/mkdebbase.sh" image) || die "scripts/mkdebbase.sh image failed"
base="localhost/capscope-base:${base_dir##*-}"
if ! podman image exists "$base"; then
  log "importing $base_dir as $base"
  tar -C "$base_dir" --exclude=./.capscope-debbase -c . |
    podman import --message "capscope base: $(basename "$base_dir")" - "$base" >&2 ||
    die "podman import of $base_dir failed"
fi

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$deb" "$ctx/"
log "podman build $name from $base and ${deb##*/}"
# shellcheck disable=SC2086  # PODMAN_BUILD_OPTS is a list of words
podman build ${PODMAN_BUILD_OPTS:-} --format docker --pull=never --network=none \
  --build-arg "BASE=$base" -f "$root/deploy/Containerfile" -t "$name" "$ctx" >&2 ||
  die "podman build failed"
log "built $name: $(podman image inspect --format '{{.Size}}' "$name" | awk '{ printf "%.1f MB", $1 / 1e6 }')"
echo "$name"
