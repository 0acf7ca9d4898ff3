#!/usr/bin/env bash
# container-fixtures.sh: the container fixtures shared by the privileged
# tests, built once and cached (idempotent, safe to run concurrently).
#
#   container-fixtures.sh rootfs              print the busybox rootfs dir
#   container-fixtures.sh image               print the busybox image name
#   container-fixtures.sh daemon-image BIN    print the capscope daemon image
#   container-fixtures.sh all                 rootfs + image
#   container-fixtures.sh clean               remove all of the above
#
# rootfs: scripts/mkrootfs.sh into $CAPSCOPE_ROOTFS (/var/tmp/capscope-rootfs).
#   It is a template: `podman run --rootfs DIR` uses a directory in place, so
#   runs that write must use `--tmpfs /tmp:notmpcopyup` or a copy of it.
# image: that rootfs imported once with `podman import` (offline) as
#   localhost/capscope-busybox, so containers run on overlay storage too.
#   Re-imported when the busybox binary changes (label capscope.busybox).
# daemon-image: busybox + the capscope binary BIN (at /usr/local/bin/capscope
#   and, as the package installs it, /usr/bin/capscope)
#   and the shared libraries it loads, as localhost/capscope-daemon, for
#   running the DaemonSet's pod template with `podman kube play`.
#   Re-imported when BIN changes (label capscope.sha256).
# Everything is printed on stdout (one line); progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOTFS=${CAPSCOPE_ROOTFS:-/var/tmp/capscope-rootfs}
IMAGE=${CAPSCOPE_IMAGE:-localhost/capscope-busybox}
DAEMON_IMAGE=${CAPSCOPE_DAEMON_IMAGE:-localhost/capscope-daemon}
LOCK=${CAPSCOPE_FIXTURE_LOCK:-/var/tmp/capscope-fixtures.lock}

log() { printf 'container-fixtures: %s\n' "$*" >&2; }
die() { printf 'container-fixtures: error: %s\n' "$*" >&2; exit 1; }

# Serialize: tests may call this at the same time.
exec 9>"$LOCK"
flock -w 120 9 || die "could not lock $LOCK within 120 s"

sha_of() { sha256sum "$1" | cut -c1-64; }

ensure_rootfs() {
  local stamp="$ROOTFS/.capscope-fixture" want
  want="busybox=$(sha_of "$(command -v busybox || echo /bin/busybox)")"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$ROOTFS/bin/busybox" ]]; then
    # A run without --tmpfs /tmp may have left files behind: /tmp starts empty.
    find "$ROOTFS/tmp" -mindepth 1 -delete 2>/dev/null || true
    return 0
  fi
  log "building the busybox rootfs in $ROOTFS"
  bash "$here/mkrootfs.sh" "$ROOTFS" >&2
  printf '%s\n' "$want" >"$stamp"
}

image_label() { # image_label IMAGE LABEL
  podman image inspect --format "{{index .Labels \"$2\"}}" "$1" 2>/dev/null || true
}

# import_dir DIR IMAGE LABEL VALUE: podman import DIR as IMAGE unless IMAGE
# already carries LABEL=VALUE.
import_dir() {
  local dir=$1 image=$2 label=$3 value=$4
  if [[ "$(image_label "$image" "$label")" == "$value" ]]; then
    return 0
  fi
  log "importing $dir as $image"
  tar --exclude=./.capscope-fixture --exclude='./tmp/*' -C "$dir" -c . |
    podman import --change "LABEL $label=$value" --change 'CMD ["/bin/sh"]' \
      - "$image" >/dev/null
  [[ "$(image_label "$image" "$label")" == "$value" ]] ||
    die "podman import of $dir as $image did not take"
}

ensure_image() {
  ensure_rootfs
  import_dir "$ROOTFS" "$IMAGE" capscope.busybox "$(sha_of "$ROOTFS/bin/busybox")"
}

# The daemon image: the rootfs + capscope + every shared library it loads
# (with the dynamic loader), at the same paths as on the host.
ensure_daemon_image() {
  local bin=$1 sum stage lib
  [[ -x "$bin" ]] || die "no capscope binary at $bin"
  ensure_rootfs
  sum="$(sha_of "$bin")+usr-bin"
  if [[ "$(image_label "$DAEMON_IMAGE" capscope.sha256)" == "$sum" ]]; then
    return 0
  fi
  stage=$(mktemp -d /var/tmp/capscope-daemon-image.XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf '$stage'" EXIT
  cp -a "$ROOTFS/." "$stage/"
  rm -f "$stage/.capscope-fixture"
  mkdir -p "$stage/usr/local/bin" "$stage/var/lib/capscope" "$stage/run"
  cp "$bin" "$stage/usr/local/bin/capscope"
  chmod 0755 "$stage/usr/local/bin/capscope"
  # deploy/capscope-daemonset.yaml runs the packaged path.
  [[ -e "$stage/usr/bin/capscope" ]] || cp -p "$stage/usr/local/bin/capscope" "$stage/usr/bin/capscope"
  # ldd lines: "libx.so => /path (0x..)" and "/lib64/ld-linux-x86-64.so.2 (0x..)".
  while IFS= read -r lib; do
    [[ -n "$lib" && -e "$lib" ]] || continue
    # usr/bin and usr/sbin are links into bin/ in this rootfs; libraries
    # live in /lib*, /usr/lib*, which are real directories here.
    mkdir -p "$stage$(dirname "$lib")"
    cp -L "$lib" "$stage$lib"
  done < <(ldd "$bin" | awk '/=> \// { print $3; next } /^[[:space:]]*\// { print $1 }')
  import_dir "$stage" "$DAEMON_IMAGE" capscope.sha256 "$sum"
  rm -rf "$stage"
  trap - EXIT
}

case ${1:-} in
  rootfs)
    ensure_rootfs
    echo "$ROOTFS"
    ;;
  image)
    ensure_image
    echo "$IMAGE"
    ;;
  daemon-image)
    (($# == 2)) || die "usage: container-fixtures.sh daemon-image CAPSCOPE_BINARY"
    ensure_daemon_image "$(readlink -f "$2")"
    echo "$DAEMON_IMAGE"
    ;;
  all)
    ensure_image
    echo "$ROOTFS $IMAGE"
    ;;
  clean)
    podman rmi -f "$IMAGE" "$DAEMON_IMAGE" >/dev/null 2>&1 || true
    rm -rf "$ROOTFS"
    ;;
  *)
    die "usage: container-fixtures.sh rootfs|image|daemon-image BIN|all|clean"
    ;;
esac
