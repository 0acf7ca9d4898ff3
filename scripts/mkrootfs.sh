#!/usr/bin/env bash
# mkrootfs.sh DIR: build a minimal busybox-static root filesystem in DIR, for
# chroot and container tests (podman --rootfs DIR, runc bundles).
#   bin/busybox + one symlink per applet in bin/ (sbin, usr/bin, usr/sbin
#   point at bin), /etc/passwd with root and app (uid 1000), /etc/group,
#   and empty /tmp /proc /sys /dev /root /home/app.
# Idempotent: rerunning on an existing rootfs repairs it and changes nothing
# else. Needs the busybox-static package (scripts/setup.sh installs it).
set -euo pipefail

die() { printf 'mkrootfs: error: %s\n' "$*" >&2; exit 1; }

(($# == 1)) || die "usage: mkrootfs.sh DIR"
dir=$1

busybox=${BUSYBOX:-}
if [[ -z "$busybox" ]]; then
  for cand in /bin/busybox /usr/bin/busybox; do
    [[ -x "$cand" ]] && { busybox=$cand; break; }
  done
fi
[[ -n "$busybox" && -x "$busybox" ]] || die "busybox not found (apt-get install busybox-static)"
if command -v file >/dev/null 2>&1 && ! file -L "$busybox" | grep -q 'statically linked'; then
  die "$busybox is not statically linked (apt-get install busybox-static)"
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

mkdir -p "$dir"/{bin,etc,proc,sys,dev,root,home/app,usr,tmp}
chmod 1777 "$dir/tmp"
chmod 0700 "$dir/root"

# The binary itself: copy only when it differs, so a rerun leaves it alone.
if ! cmp -s "$busybox" "$dir/bin/busybox" 2>/dev/null; then
  rm -f "$dir/bin/busybox"
  cp "$busybox" "$dir/bin/busybox"
fi
chmod 0755 "$dir/bin/busybox"

# One symlink per applet, except 'busybox' itself: `busybox --list` includes
# it, and linking it would replace the binary with a link to itself.
count=0
while IFS= read -r applet; do
  [[ -n "$applet" && "$applet" != busybox && "$applet" != */* ]] || continue
  link="$dir/bin/$applet"
  if [[ "$(readlink "$link" 2>/dev/null || true)" != busybox ]]; then
    rm -rf "$link"
    ln -s busybox "$link"
  fi
  count=$((count + 1))
done < <("$dir/bin/busybox" --list)
((count > 0)) || die "busybox --list printed no applets"

# Usual command locations all lead to bin/.
link_dir() { # link_dir PATH TARGET
  local path="$dir/$1" target=$2
  if [[ -L "$path" ]]; then
    [[ "$(readlink "$path")" == "$target" ]] && return 0
    rm -f "$path"
  elif [[ -d "$path" ]]; then
    rmdir "$path" 2>/dev/null || die "$path is a non-empty directory, expected a link to $target"
  fi
  ln -s "$target" "$path"
}
link_dir sbin bin
link_dir usr/bin ../bin
link_dir usr/sbin ../bin

cat >"$dir/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$dir/etc/group" <<'GROUP'
root:x:0:
app:x:1000:
nogroup:x:65534:
GROUP
chmod 0644 "$dir/etc/passwd" "$dir/etc/group"
[[ -e "$dir/etc/hostname" ]] || echo capscope-rootfs >"$dir/etc/hostname"
chown 1000:1000 "$dir/home/app" 2>/dev/null || true

echo "mkrootfs: $dir ready ($count applets)"
