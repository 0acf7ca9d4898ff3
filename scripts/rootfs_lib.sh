# shellcheck shell=bash disable=SC2154  # the recipe arrays are the caller's
# rootfs_lib.sh - sourced by scripts/mkrealfs.sh and scripts/mkdebbase.sh:
# a Debian root filesystem built once with mmdebstrap into a cache
# directory, under a lock, and moved into place only when complete.
# The caller defines log() and die() and the recipe: $suite and the arrays
# packages, hooks (mmdebstrap customize hooks) and dpkgopts.

# rootfs_mirror: the Debian mirror to build from: $CAPSCOPE_REALFS_MIRROR,
# else the first deb.debian.org style URI in this machine's apt sources,
# else http://deb.debian.org/debian.
rootfs_mirror() {
  local m=${CAPSCOPE_REALFS_MIRROR:-}
  if [[ -z "$m" ]]; then
    m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
      grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n 1 | tr -d ' ' || true)
    m=${m%/}
  fi
  echo "${m:-http://deb.debian.org/debian}"
}

# rootfs_build DIR LOCK MARKER VARIANT [FUNC]: prints DIR once DIR/MARKER
# exists, building it first if needed (MARKER holds the build time). FUNC,
# if given, is called with the new tree's temporary directory once it is
# built, before it takes DIR's place.
rootfs_build() {
  local dir=$1 lock=$2 marker=$3 variant=$4 after=${5:-}
  if [[ -f "$dir/$marker" ]]; then
    echo "$dir"
    return 0
  fi
  ((EUID == 0)) || die "building the rootfs needs root"
  command -v mmdebstrap >/dev/null || die "mmdebstrap not installed (scripts/setup.sh installs it)"
  mkdir -p "$(dirname "$dir")"
  exec 9>"$lock"
  flock -w 900 9 || die "could not lock $lock within 900 s"
  if [[ -f "$dir/$marker" ]]; then # built while we waited
    echo "$dir"
    return 0
  fi
  local mirror security tmp start h o args=()
  mirror=$(rootfs_mirror)
  security=${mirror%/debian}/debian-security
  tmp="$dir.tmp.$$"
  rm -rf "$tmp"
  # shellcheck disable=SC2064  # the path is fixed now
  trap "rm -rf '$tmp'" EXIT
  start=$SECONDS
  log "building $dir ($variant + ${#packages[@]} packages and their dependencies) from $mirror"
  for h in "${hooks[@]}"; do args+=("--customize-hook=$h"); done
  for o in "${dpkgopts[@]}"; do args+=("--dpkgopt=$o"); done
  mmdebstrap --variant="$variant" --mode=root --format=directory \
    --aptopt='APT::Install-Recommends "false"' \
    --include="$(
      IFS=,
      echo "${packages[*]}"
    )" \
    "${args[@]}" \
    "$suite" "$tmp" \
    "deb $mirror $suite main" \
    "deb $mirror $suite-updates main" \
    "deb $security $suite-security main" >&2 ||
    die "mmdebstrap failed"
  date -u +%FT%TZ >"$tmp/$marker"
  [[ -z $after ]] || "$after" "$tmp"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  trap - EXIT
  log "built in $((SECONDS - start)) s: $(du -sh "$dir" | cut -f1)"
  echo "$dir"
}
