#!/usr/bin/env bash
# Set up and build (scripts/setup.sh), then run every test tier:
#   unit        ctest in build/ (no root, no kernel)
#   privileged  tests/privileged/run.sh (root, real BPF, real workloads)
#   realprog    tests/realprog/run.sh (Debian daemons in podman, advice vs
#               the kernel's answer found by ablation; builds its rootfs
#               once with mmdebstrap, cached under /var/cache/capscope)
#   package     tests/package/run.sh (the Debian package installed, used and
#               purged in an mmdebstrap Debian 12 rootfs; the daemon image
#               built from it and the DaemonSet played with podman kube
#               play; the rootfs are built once, cached under
#               /var/cache/capscope)
#   vm          scripts/vmtest.sh (fexit and kprobe modes in a Debian 6.1
#               kernel under qemu; about a minute)
#   vm-5.10     scripts/vmtest.sh --debian 11 (Debian 11's 5.10 kernel, the
#               compat BPF object, fexit and kprobe modes; about two minutes)
#   vm-arm64    scripts/vmtest.sh --arch arm64 (only with --all or --only:
#               scripts/setup-arm64.sh, the arm64 cross build, Debian 12's
#               arm64 6.1 kernel under qemu-system-aarch64, TCG; about two
#               minutes with build-arm64/ up to date, the guest ~90 s; the
#               first cross build (unity, Ninja) adds its compile time:
#               3 min on a 2-core host at load 2-4, 11 min at load 16-24;
#               the whole tier from empty build-arm64/ and build/vm/ took
#               4m05s at load 2-4, 13m44s at load 16-24)
#   sanitize    scripts/sanitize.sh (ASan+LSan+UBSan build: unit tier and a
#               privileged smoke subset; any sanitizer report fails)
#   fuzz        scripts/fuzz.sh 20 (every libFuzzer target for 20 s; the
#               long runs are scripts/fuzz.sh's default of 10 minutes each)
# Usage: scripts/test.sh [--all | --only TIER[,TIER...]]
#   (none)      every tier above except vm-arm64
#   --all       every tier, vm-arm64 included
#   --only LIST just these tiers (after setup)
# Every tier runs even when an earlier one failed. The last line adds up the
# tiers ("total: N passed, N failed, N skipped"); the exit status is non-zero
# if setup or any tier failed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

header() { printf '\n==== %s ====\n' "$*"; }

all=0 only=""
while (($#)); do
  case $1 in
  --all) all=1; shift ;;
  --only) only=${2:?--only needs a tier list}; shift 2 ;;
  --only=*) only=${1#*=}; shift ;;
  *) echo "test.sh: unknown argument '$1' (--all, --only TIERS)" >&2; exit 2 ;;
  esac
done
# want NAME: is this tier selected?
want() {
  if [[ -n $only ]]; then
    [[ ",$only," == *",$1,"* ]]
  elif [[ $1 == vm-arm64 ]]; then
    ((all))
  else
    return 0
  fi
}

logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT

header "setup: packages, mounts, build"
bash "$root/scripts/setup.sh"

failed_tiers=()
passed=0 failed=0 skipped=0

# run_tier NAME TITLE CMD...: runs one tier, keeps its log, records failure.
run_tier() {
  local name=$1 title=$2
  shift 2
  tier_ok=1
  want "$name" || return 0
  header "tier: $name ($title)"
  if "$@" 2>&1 | tee "$logdir/$name.log"; then
    tier_ok=1
  else
    tier_ok=0
    failed_tiers+=("$name")
  fi
}

# count_plain NAME: adds a tier's closing "N passed, N failed, N skipped".
count_plain() {
  local counts p f s
  [[ -f $logdir/$1.log ]] || return 0
  if counts=$(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/p' "$logdir/$1.log" | tail -n 1) &&
    [[ -n "$counts" ]]; then
    read -r p f s <<<"$counts"
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  elif ((tier_ok == 0)); then
    failed=$((failed + 1))
  fi
}

run_tier unit ctest ctest --test-dir "$root/build" --output-on-failure
# "100% tests passed, 0 tests failed out of 12"
if [[ -f $logdir/unit.log ]] && counts=$(sed -nE 's/.*tests passed, ([0-9]+) tests? failed out of ([0-9]+).*/\1 \2/p' "$logdir/unit.log" | tail -n 1) &&
  [[ -n "$counts" ]]; then
  read -r f t <<<"$counts"
  passed=$((passed + t - f)) failed=$((failed + f))
elif ((tier_ok == 0)); then
  failed=$((failed + 1))
fi

run_tier privileged tests/privileged/run.sh bash "$root/tests/privileged/run.sh"
count_plain privileged

run_tier realprog tests/realprog/run.sh bash "$root/tests/realprog/run.sh"
count_plain realprog

run_tier package tests/package/run.sh bash "$root/tests/package/run.sh"
count_plain package

run_tier vm scripts/vmtest.sh bash "$root/scripts/vmtest.sh"
count_plain vm

# kprobe mode on 5.10 is left out: a kretprobe's stack there is only
# kretprobe_trampoline, so its events carry no call site (issue 18).
run_tier vm-5.10 "scripts/vmtest.sh --debian 11" \
  bash "$root/scripts/vmtest.sh" --debian 11
count_plain vm-5.10

# Cross-built, TCG-emulated: slow (see README's Requirements for its time).
run_tier vm-arm64 "scripts/vmtest.sh --arch arm64" \
  bash -c 'bash "$1/scripts/setup-arm64.sh" && bash "$1/scripts/vmtest.sh" --arch arm64' _ "$root"
count_plain vm-arm64

run_tier sanitize scripts/sanitize.sh bash "$root/scripts/sanitize.sh"
count_plain sanitize

run_tier fuzz "scripts/fuzz.sh ${CAPSCOPE_FUZZ_SECONDS:-20}" \
  bash "$root/scripts/fuzz.sh" "${CAPSCOPE_FUZZ_SECONDS:-20}"
count_plain fuzz

header "summary"
if ((${#failed_tiers[@]} > 0)); then
  echo "failed tier(s): ${failed_tiers[*]}"
else
  echo "all tiers passed"
fi
echo "total: $passed passed, $failed failed, $skipped skipped"
((${#failed_tiers[@]} == 0))
