# shellcheck shell=bash
# Helpers of the package tier (tests/package), sourced by its test files on
# top of tests/privileged/lib.sh.

# require_deb: the package built by run.sh (CAPSCOPE_DEB), or fail.
require_deb() {
  [[ -n "${CAPSCOPE_DEB:-}" && -f "$CAPSCOPE_DEB" ]] ||
    fail "no Debian package: ${CAPSCOPE_DEB_ERROR:-CAPSCOPE_DEB is not set (run tests/package/run.sh)}"
}

# debbase FLAVOUR: the cached mmdebstrap rootfs (scripts/mkdebbase.sh), or
# skip when it cannot be built here (no mmdebstrap, no network).
debbase() {
  require_cmd mmdebstrap
  local reason_var="CAPSCOPE_DEBBASE_SKIP_$1"
  [[ -z "${!reason_var:-}" ]] || skip "${!reason_var}"
  local dir log="$TEST_TMP/mkdebbase-$1.log"
  if ! dir=$(bash "$REPO_ROOT/scripts/mkdebbase.sh" "$1" 2>"$log"); then
    cat "$log" >&2
    skip "mmdebstrap cannot build the Debian 12 $1 rootfs here: $(grep -m1 -iE 'error|fail' "$log" || tail -n 1 "$log")"
  fi
  echo "$dir"
}

# overlay_root LOWER DIR: a writable overlay of LOWER mounted on DIR, with
# /proc, /sys (recursively: btf, tracefs, bpffs, debugfs) and /dev of the
# host and a tmpfs on /tmp, unmounted when the test ends. The template LOWER
# is never written. Workloads write in /tmp: files on the overlay itself make
# the kernel check SYS_ADMIN (xattr_permission on overlayfs's trusted.*
# attributes, from the chroot's own credentials), which is this test's
# setup, not the workload's need.
overlay_root() {
  local lower=$1 dir=$2 ovl="$TEST_TMP/ovl"
  mkdir -p "$ovl/upper" "$ovl/work" "$dir"
  mount -t overlay overlay -o "lowerdir=$lower,upperdir=$ovl/upper,workdir=$ovl/work" "$dir" ||
    fail "cannot mount an overlay of $lower"
  on_exit "umount -R -l $(printf '%q' "$dir") 2>/dev/null"
  mount -t proc proc "$dir/proc"
  mount --rbind /sys "$dir/sys"
  mount --make-rslave "$dir/sys"
  mount --rbind /dev "$dir/dev"
  mount --make-rslave "$dir/dev"
  mount -t tmpfs -o mode=1777 tmpfs "$dir/tmp"
}

# in_root DIR CMD...: CMD chrooted into DIR, with a plain environment.
in_root() {
  local dir=$1
  shift
  timeout -k 10 "$CAPSCOPE_TIMEOUT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive chroot "$dir" "$@" </dev/null
}
