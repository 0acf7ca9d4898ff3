#!/usr/bin/env bash
# Set up and build (scripts/setup.sh), then run every test tier:
#   unit        ctest in build/ (no root, no kernel)
#   privileged  tests/privileged/run.sh (root, real BPF, real workloads)
#   vm          scripts/vmtest.sh (fexit and kprobe modes in a Debian 6.1
#               kernel under qemu; about a minute)
# Every tier runs even when an earlier one failed. The last line adds up the
# tiers ("total: N passed, N failed, N skipped"); the exit status is non-zero
# if setup or any tier failed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

header() { printf '\n==== %s ====\n' "$*"; }

logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT

header "setup: packages, mounts, build"
bash "$root/scripts/setup.sh"

failed_tiers=()
passed=0 failed=0 skipped=0

header "tier: unit (ctest)"
if ctest --test-dir "$root/build" --output-on-failure 2>&1 | tee "$logdir/unit.log"; then
  unit_ok=1
else
  unit_ok=0
  failed_tiers+=(unit)
fi
# "100% tests passed, 0 tests failed out of 12"
if counts=$(sed -nE 's/.*tests passed, ([0-9]+) tests? failed out of ([0-9]+).*/\1 \2/p' "$logdir/unit.log" | tail -n 1) &&
  [[ -n "$counts" ]]; then
  read -r f t <<<"$counts"
  passed=$((passed + t - f)) failed=$((failed + f))
elif ((unit_ok == 0)); then
  failed=$((failed + 1))
fi

header "tier: privileged (tests/privileged/run.sh)"
if bash "$root/tests/privileged/run.sh" 2>&1 | tee "$logdir/privileged.log"; then
  priv_ok=1
else
  priv_ok=0
  failed_tiers+=(privileged)
fi
# "N passed, N failed, N skipped"
if counts=$(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/p' "$logdir/privileged.log" | tail -n 1) &&
  [[ -n "$counts" ]]; then
  read -r p f s <<<"$counts"
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
elif ((priv_ok == 0)); then
  failed=$((failed + 1))
fi

header "tier: vm (scripts/vmtest.sh)"
if bash "$root/scripts/vmtest.sh" 2>&1 | tee "$logdir/vm.log"; then
  vm_ok=1
else
  vm_ok=0
  failed_tiers+=(vm)
fi
# "N passed, N failed, N skipped"
if counts=$(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/p' "$logdir/vm.log" | tail -n 1) &&
  [[ -n "$counts" ]]; then
  read -r p f s <<<"$counts"
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
elif ((vm_ok == 0)); then
  failed=$((failed + 1))
fi

header "summary"
if ((${#failed_tiers[@]} > 0)); then
  echo "failed tier(s): ${failed_tiers[*]}"
else
  echo "all tiers passed"
fi
echo "total: $passed passed, $failed failed, $skipped skipped"
((${#failed_tiers[@]} == 0))
