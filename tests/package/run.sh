#!/usr/bin/env bash
# Package tier: capscope installed like a real tool. Builds the Debian
# package once (scripts/package.sh) and runs tests/package/test_*.sh with
# the privileged tier's runner and library (tests/privileged/run.sh, lib.sh):
#
#   test_install.sh  `cmake --install` layout; the .deb installed into a
#                    fresh Debian 12 rootfs (scripts/mkdebbase.sh pkgtest,
#                    cached under /var/cache/capscope), used there
#                    (--version, doctor, man, record on the host kernel),
#                    purged, nothing left behind
#   test_image.sh    the daemon image (scripts/image.sh) and the DaemonSet
#                    played with `podman kube play`
#
#   tests/package/run.sh [-v] [PATTERN...]
#
# The last line is "N passed, N failed, N skipped". Environment:
# CAPSCOPE_DEB (use this package instead of building one),
# CAPSCOPE_PACKAGE_IMAGE (use this daemon image instead of building one with
# scripts/image.sh), and those of
# tests/privileged/lib.sh. A test that needs a rootfs mmdebstrap cannot
# build (no network to Debian's archive) is SKIPPED with the reason.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

if [[ -z "${CAPSCOPE_DEB:-}" ]]; then
  echo "package tier: building the Debian package (scripts/package.sh)" >&2
  if CAPSCOPE_DEB=$(CAPSCOPE_BUILD_JOBS=${CAPSCOPE_BUILD_JOBS:-2} bash "$root/scripts/package.sh"); then
    export CAPSCOPE_DEB
  else
    # The tests fail with this reason rather than the tier vanishing.
    export CAPSCOPE_DEB="" CAPSCOPE_DEB_ERROR="scripts/package.sh failed (see its output above)"
  fi
fi
# The Debian 12 bases (mmdebstrap, cached under /var/cache/capscope) are
# built here, outside the tests' time limit: the first build downloads and
# unpacks for minutes. A base that cannot be built makes its tests skip with
# the reason (CAPSCOPE_DEBBASE_SKIP_<flavour>).
if ((EUID == 0)); then
  for flavour in pkgtest image; do
    if ! command -v mmdebstrap >/dev/null; then
      export "CAPSCOPE_DEBBASE_SKIP_$flavour=mmdebstrap not installed (scripts/setup.sh installs it)"
      continue
    fi
    log=$(mktemp)
    echo "package tier: Debian 12 $flavour base (scripts/mkdebbase.sh $flavour)" >&2
    if ! bash "$root/scripts/mkdebbase.sh" "$flavour" >/dev/null 2>"$log"; then
      tail -n 20 "$log" >&2
      export "CAPSCOPE_DEBBASE_SKIP_$flavour=mmdebstrap cannot build the Debian 12 $flavour rootfs here: $(grep -m1 -iE 'error|fail' "$log" || tail -n 1 "$log")"
    fi
    rm -f "$log"
  done
fi
CAPSCOPE_TEST_DIR=$here exec bash "$root/tests/privileged/run.sh" "$@"
