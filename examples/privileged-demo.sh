#!/bin/sh
# privileged-demo.sh: a small workload that needs exactly two capabilities,
# for trying capscope out:
#
#   sudo capscope record --format docker -- examples/privileged-demo.sh
#   => --cap-drop=ALL --cap-add=CHOWN --cap-add=NET_BIND_SERVICE
#
# As root it binds TCP port 80 for a moment (NET_BIND_SERVICE) and chowns a
# temporary file to uid 1000 (CHOWN), says what it did, cleans up and exits 0.
# It exits non-zero if either act fails (e.g. without those capabilities).
# Port 80 is bound with the test helper $CAPSCOPE_HELPERS/bind_port when that
# is set (build/tests/helpers), else with `busybox nc -l -p 80`.
set -eu

workdir=$(mktemp -d "${TMPDIR:-/tmp}/capscope-demo.XXXXXX")
trap 'rm -rf "$workdir"' EXIT
trap 'exit 130' INT TERM

# 1. Bind a privileged port (< 1024) briefly.
if [ -n "${CAPSCOPE_HELPERS:-}" ] && [ -x "$CAPSCOPE_HELPERS/bind_port" ]; then
    "$CAPSCOPE_HELPERS/bind_port" 80 200 >/dev/null
else
    busybox=$(command -v busybox || echo /bin/busybox)
    "$busybox" nc -l -p 80 </dev/null >/dev/null 2>"$workdir/nc.err" &
    nc_pid=$!
    sleep 0.5
    # A listener that could not bind has already exited.
    if ! kill "$nc_pid" 2>/dev/null; then
        wait "$nc_pid" 2>/dev/null || true
        echo "privileged-demo: could not listen on port 80: $(cat "$workdir/nc.err")" >&2
        exit 1
    fi
    wait "$nc_pid" 2>/dev/null || true
fi
echo "privileged-demo: listened on TCP port 80"

# 2. Give a file away to another user.
file="$workdir/owned-by-1000"
: >"$file"
chown 1000 "$file"
owner=$(stat -c %u "$file")
if [ "$owner" != 1000 ]; then
    echo "privileged-demo: $file is owned by uid $owner, expected 1000" >&2
    exit 1
fi
echo "privileged-demo: created $file and chowned it to uid 1000"

echo "privileged-demo: done"
exit 0
