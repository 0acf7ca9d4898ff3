# shellcheck shell=bash
# Package tier: where `cmake --install` puts things, and the Debian package
# installed, used and purged in a fresh Debian 12 root filesystem.
# shellcheck source=lib_package.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib_package.sh"

# `cmake --install --prefix /usr` into a DESTDIR: Debian's layout
# (GNUInstallDirs), the unit's ExecStart= pointing at the installed binary.
test_install_layout() {
  local build="$REPO_ROOT/build" d="$TEST_TMP/dest" f
  [[ -f "$build/cmake_install.cmake" ]] || fail "no build in $build (scripts/setup.sh builds it)"
  DESTDIR=$d cmake --install "$build" --prefix /usr >"$TEST_TMP/install.log" 2>&1 ||
    fail "cmake --install failed: $(tail -n 3 "$TEST_TMP/install.log")"
  for f in usr/bin/capscope \
    usr/share/man/man8/capscope.8.gz usr/share/man/man8/capscope-record.8.gz \
    usr/share/bash-completion/completions/capscope \
    usr/share/zsh/vendor-completions/_capscope \
    usr/share/fish/vendor_completions.d/capscope.fish \
    usr/share/capscope/profile.schema.json \
    usr/lib/systemd/system/capscope.service \
    usr/share/containers/oci/hooks.d/capscope.json \
    usr/share/doc/capscope/README.md; do
    [[ -f "$d/$f" ]] || fail "cmake --install did not install /$f"
  done
  # One page per command of --help.
  local c
  for c in $("$CAPSCOPE" --help | awk '/^Subcommands:/ { on = 1; next } /^[A-Za-z]/ { on = 0 } on && /^  +[a-z]/ { print $1 }'); do
    [[ -f "$d/usr/share/man/man8/capscope-$c.8.gz" ]] || fail "no manual page capscope-$c(8) installed"
  done
  assert_contains "$(grep '^ExecStart=' "$d/usr/lib/systemd/system/capscope.service")" \
    "ExecStart=/usr/bin/capscope daemon" "the installed unit runs the installed binary"
  # The OCI hook: schema 1.0.0, the installed binary, prestart + poststop,
  # only for containers annotated io.capscope.profile.
  assert_eq '1.0.0 /usr/bin/capscope capscope,hook prestart,poststop .+' \
    "$(json_get "$d/usr/share/containers/oci/hooks.d/capscope.json" \
      '(d["version"], d["hook"]["path"], ",".join(d["hook"]["args"]), ",".join(d["stages"]), d["when"]["annotations"]["^io\\.capscope\\.profile$"])')" \
    "the installed hooks.d entry (version path args stages annotation)"
  DESTDIR=$TEST_TMP/local cmake --install "$build" --prefix /usr/local >>"$TEST_TMP/install.log" 2>&1 ||
    fail "cmake --install --prefix /usr/local failed"
  assert_eq /usr/local/bin/capscope \
    "$(json_get "$TEST_TMP/local/usr/local/share/containers/oci/hooks.d/capscope.json" 'd["hook"]["path"]')" \
    "the hooks.d entry of a /usr/local install runs that binary"
  [[ -z "$(find "$d" -path '*/tests/*' -o -name '*.a' | head -n 1)" ]] || fail "test files or static libraries installed"
}

# The package's metadata: Depends computed from the shared libraries, the
# maintainer scripts, the files.
test_package_metadata() {
  require_deb
  local depends files
  depends=$(dpkg-deb -f "$CAPSCOPE_DEB" Depends)
  echo "Depends: $depends" >&2
  # Every library the binary links directly (NEEDED) comes from a package
  # named in Depends.
  dpkg-deb -x "$CAPSCOPE_DEB" "$TEST_TMP/data"
  local soname path pkg n=0 ldcache
  ldcache=$(ldconfig -p)
  while read -r soname; do
    path=$(awk -v s="$soname" '$1 == s && /x86-64/ && !found++ { print $NF }' <<<"$ldcache")
    [[ -n "$path" ]] || path=$(awk -v s="$soname" '$1 == s && !found++ { print $NF }' <<<"$ldcache")
    [[ -n "$path" ]] || fail "the host has no $soname"
    pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | sed -n '1s/:.*//p') || true
    [[ -n "$pkg" ]] || pkg=$(dpkg -S "$path" 2>/dev/null | sed -n '1s/:.*//p') || true
    [[ -n "$pkg" ]] || fail "no Debian package owns $path ($soname)"
    [[ ", $depends" == *", $pkg "* || ", $depends," == *", $pkg,"* ]] ||
      fail "the binary needs $soname (package $pkg), which Depends does not name: $depends"
    n=$((n + 1))
  done < <(readelf -d "$TEST_TMP/data/usr/bin/capscope" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p')
  ((n >= 4)) || fail "only $n NEEDED libraries found in the packaged binary"
  files=$(dpkg-deb -c "$CAPSCOPE_DEB")
  for f in ./usr/bin/capscope ./usr/share/man/man8/capscope-record.8.gz ./usr/lib/systemd/system/capscope.service \
    ./usr/share/containers/oci/hooks.d/capscope.json ./usr/share/capscope/profile.schema.json ./usr/share/bash-completion/completions/capscope; do
    assert_contains "$files" "$f" "the package's files"
  done
  assert_not_contains "$files" "multi-user.target.wants" "the package enables nothing"
  dpkg-deb -e "$CAPSCOPE_DEB" "$TEST_TMP/control"
  [[ -x "$TEST_TMP/control/postinst" && -x "$TEST_TMP/control/postrm" ]] || fail "no postinst/postrm in the package"
  # Stripped: no debug sections in the packaged binary.
  if readelf -S "$TEST_TMP/data/usr/bin/capscope" | grep -q '\.debug_info'; then
    fail "the packaged binary is not stripped"
  fi
}

# files_of DIR: every path of the rootfs at DIR (one file system, so not
# /proc, /sys, /dev), but what package management itself keeps: dpkg's and
# apt's state, logs, caches, man-db's index.
files_of() {
  (cd "$1" && find . -xdev \
    \( -path ./var/lib/dpkg -o -path ./var/lib/apt -o -path ./var/log -o -path ./var/cache \
    -o -path ./tmp -o -path ./proc -o -path ./sys -o -path ./dev \) -prune -o -print) | sort
}

# The .deb in a fresh Debian 12 rootfs (mmdebstrap, cached): installed with
# apt (its dependencies are there, no download), /var/lib/capscope 0700, the
# unit installed and not enabled; capscope --version, doctor, man and a
# record on the host kernel work through it; purge leaves nothing behind.
test_package_install_use_purge() {
  require_deb
  local base r="$TEST_TMP/root" out rc=0 before after
  base=$(debbase pkgtest)
  overlay_root "$base" "$r"
  before=$(files_of "$r")
  cp "$CAPSCOPE_DEB" "$r/tmp/"
  out=$(in_root "$r" apt-get install -y --no-install-recommends "/tmp/${CAPSCOPE_DEB##*/}" 2>&1) || rc=$?
  echo "$out" >&2
  assert_eq 0 "$rc" "apt-get install of the package in the rootfs"

  assert_eq "700 root" "$(stat -c '%a %U' "$r/var/lib/capscope")" "mode and owner of /var/lib/capscope"
  [[ -f "$r/usr/lib/systemd/system/capscope.service" ]] || fail "the unit is not installed"
  [[ -z "$(find "$r/etc/systemd" -name 'capscope*' 2>/dev/null)" ]] || fail "the unit is enabled: $(find "$r/etc/systemd" -name 'capscope*')"

  out=$(in_root "$r" capscope --version)
  assert_contains "$out" "capscope $(dpkg-deb -f "$CAPSCOPE_DEB" Version | sed 's/-[^-]*$//') (commit " "capscope --version in the rootfs"

  rc=0
  out=$(in_root "$r" capscope doctor 2>&1) || rc=$?
  echo "--- capscope doctor in the rootfs: exit $rc" >&2
  echo "$out" >&2
  assert_eq 0 "$rc" "exit status of capscope doctor in the rootfs"

  assert_eq /usr/share/man/man8/capscope.8.gz "$(in_root "$r" man -w capscope)" "man -w capscope"
  assert_eq /usr/share/man/man8/capscope-record.8.gz "$(in_root "$r" man -w capscope-record)" "man -w capscope-record"
  out=$(in_root "$r" env MANWIDTH=100 man capscope-record 2>/dev/null)
  assert_contains "$out" "--container ID" "man capscope-record renders its options"

  # A record through the installed package, on the host kernel. The first
  # lookup of each file on the overlay makes overlayfs read its trusted.*
  # xattrs, a SYS_ADMIN check (xattr_permission) under the chroot's own
  # credentials: the test's overlay, not the workload's need, and capscope
  # does not class it as noise outside a container runtime (reported). Look
  # the workload's files up once before the recording.
  in_root "$r" sh -c 'touch /tmp/f && chown 1000 /tmp/f && rm /tmp/f'
  rc=0
  out=$(in_root "$r" capscope record --format docker -o - -- sh -c 'touch /tmp/f && chown 1000 /tmp/f' 2>"$TEST_TMP/rec.err") || rc=$?
  cat "$TEST_TMP/rec.err" >&2
  assert_eq 0 "$rc" "exit status of capscope record in the rootfs"
  assert_eq "--cap-drop=ALL --cap-add=CHOWN" "$(tail -n 1 <<<"$out")" "the advice of a record in the rootfs"
  rm -f "$r/tmp/f"

  # The daemon's state is removed by purge, not by remove.
  touch "$r/var/lib/capscope/profile.json"
  in_root "$r" apt-get remove -y capscope >&2
  [[ -f "$r/var/lib/capscope/profile.json" ]] || fail "remove (not purge) deleted the daemon's profiles"
  in_root "$r" apt-get purge -y capscope >&2
  [[ ! -e "$r/var/lib/capscope" ]] || fail "purge left /var/lib/capscope"
  after=$(files_of "$r")
  local diff
  diff=$(diff <(echo "$before") <(echo "$after") || true)
  [[ -z "$diff" ]] || fail "install + purge left the rootfs changed: $(_lib_abbrev "$diff")"
}
