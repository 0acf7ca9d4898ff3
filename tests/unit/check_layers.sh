#!/bin/sh
# check_layers.sh - fails when a userspace/ layer includes one above it.
# The layers, each using only those before it:
#   core/    pure logic: includes core/ and the BPF ABI header (capscope.h)
#            only; no getenv, no /proc
#   loader/  the libbpf tracer: core/ types, never session/, daemon/, cli/;
#            no getenv (test switches come in TracerConfig)
#   session/ the host, trace sessions, container identity: never daemon/
#            or cli/
#   daemon/  never cli/
#   cli/     daemon/ only through daemon/protocol.h
# Usage: check_layers.sh USERSPACE_DIR
dir=${1:?usage: check_layers.sh USERSPACE_DIR}
bad=0
complain() { echo "layering: $1"; bad=1; }

# A layer's files that include any of the given directories.
includes() { # layer pattern
  grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]+\"($2)/" "$dir/$1"
}

out=$(includes core 'loader|session|daemon|cli') && complain "core/ includes a layer above it:
$out"
out=$(includes loader 'session|daemon|cli') && complain "loader/ includes a layer above it:
$out"
out=$(includes session 'daemon|cli') && complain "session/ includes daemon/ or cli/:
$out"
out=$(includes daemon 'cli') && complain "daemon/ includes cli/:
$out"
out=$(includes cli 'daemon' | grep -v '"daemon/protocol.h"') && complain "cli/ includes daemon/ beyond daemon/protocol.h:
$out"
out=$(grep -rn 'getenv' "$dir/core" "$dir/loader") && complain "core/ and loader/ read no environment:
$out"
out=$(grep -rnE '"/proc/' "$dir/core") && complain "core/ reads no /proc:
$out"
[ "$bad" = 0 ] && echo "layering: ok"
exit $bad
