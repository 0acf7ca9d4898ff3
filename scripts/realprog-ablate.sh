#!/usr/bin/env bash
# realprog-ablate.sh: find, by ablation, the capabilities each program of the
# real-programs tier (tests/realprog/programs/) needs, as the kernel answers
# it, and store them in tests/realprog/expected.txt (the tier's expected sets).
#
#   scripts/realprog-ablate.sh [-j N] [NAME...]     (default: every program)
#
# For each program: the wide set is what `--cap-add=ALL` gives a container on
# this machine; the daemon must pass its health check with it. Then each
# capability is dropped alone (`--cap-drop=ALL --cap-add=<wide minus it>`);
# the ones whose absence breaks the start or the health check (twice) are
# the expected set. That set is then run alone and must pass; when it does not
# (the kernel accepts either of two capabilities, so dropping one alone broke
# nothing), capabilities are removed one by one from the wide set, broadest
# first, keeping each removal that still passes, and the note says so.
# Only the named programs' lines of expected.txt are replaced. Nothing of
# capscope is used. Needs root, podman, runc, and the rootfs of
# scripts/mkrealfs.sh (built if missing).
# shellcheck disable=SC2034  # RP_* are read by tests/realprog/lib.sh
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../tests/realprog/lib.sh disable=SC1091
source "$root/tests/realprog/lib.sh"

jobs=1
names=()
while (($#)); do
  case $1 in
    -j)
      jobs=$2
      shift
      ;;
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *) names+=("$1") ;;
  esac
  shift
done
((${#names[@]})) || mapfile -t names < <(rp_programs)
((EUID == 0)) || {
  echo "realprog-ablate: needs root" >&2
  exit 2
}

RP_REALFS=$(bash "$root/scripts/mkrealfs.sh") || exit 1
mapfile -t wide < <(rp_wide_caps)
((${#wide[@]} > 0)) || {
  echo "realprog-ablate: could not read the wide set (--cap-add=ALL)" >&2
  exit 1
}
echo "realprog-ablate: wide set (${#wide[@]}): ${wide[*]}" >&2

# Broadest first: the order of the greedy repair, so that of two accepted
# capabilities the narrower one stays.
broad_first=(SYS_ADMIN DAC_OVERRIDE FOWNER SYS_PTRACE SYS_NICE NET_ADMIN SETPCAP)

outdir=$(mktemp -d)
trap 'rm -rf "$outdir"' EXIT

# without LIST CAP: LIST (array words) minus CAP, comma-separated.
without() {
  local drop=$1 c out=()
  shift
  for c in "$@"; do [[ "$c" == "$drop" ]] || out+=("$c"); done
  (
    IFS=,
    echo "${out[*]}"
  )
}

# ablate NAME: writes "NAME SET # note" to $outdir/NAME.
ablate() {
  local name=$1 start=$SECONDS t0 base rc needed=() breaks=() c list runs=0 note
  trap rp_env_down EXIT
  rp_env_up "$name" || {
    echo "$name ? # could not set up" >"$outdir/$name"
    return 1
  }
  local log=$RP_WORK/trial.log
  t0=$SECONDS
  rc=0
  RP_HEALTH_TIMEOUT=60 rp_trial "$log" --cap-add=ALL || rc=$?
  runs=$((runs + 1))
  if ((rc != 0)); then
    rp_log "$name: fails its health check with --cap-add=ALL (rc $rc); podman said: $(tail -n 5 "$log" | tr '\n' ' ')"
    echo "$name ? # broken: fails with --cap-add=ALL" >"$outdir/$name"
    return 1
  fi
  base=$((SECONDS - t0))
  # A broken daemon that keeps running is only caught by the time limit.
  RP_HEALTH_TIMEOUT=$((base * 3 + 8))
  for c in "${wide[@]}"; do
    list=$(without "$c" "${wide[@]}")
    rc=0
    mapfile -t flags < <(rp_caps_flags "$list")
    rp_trial "$log" "${flags[@]}" || rc=$?
    runs=$((runs + 1))
    if ((rc != 0)); then
      # Once more, so that a slow start on a loaded machine is not taken
      # for a need.
      rc=0
      rp_trial "$log" "${flags[@]}" || rc=$?
      runs=$((runs + 1))
      if ((rc == 0)); then
        rp_log "$name: without $c: broken once, passed the second time: not needed"
        continue
      fi
      needed+=("$c")
      breaks+=("$c:$([[ $rc == 2 ]] && echo start || echo health)")
      rp_log "$name: without $c: broken ($([[ $rc == 2 ]] && echo "daemon exited: $(tail -n 2 "$log" | tr '\n' ' ')" || echo "health check failed"))"
    fi
  done
  list=$(
    IFS=,
    echo "${needed[*]}"
  )
  mapfile -t flags < <(rp_caps_flags "$list")
  rc=0
  rp_trial "$log" "${flags[@]}" || rc=$?
  runs=$((runs + 1))
  note="each drop alone; the set alone passes"
  if ((rc != 0)); then
    # Either/or capabilities: greedy removal from the wide set.
    local cur=("${wide[@]}") order=() x
    for x in "${broad_first[@]}" "${wide[@]}"; do
      [[ " ${wide[*]} " == *" $x "* && " ${order[*]} " != *" $x "* ]] && order+=("$x")
    done
    for c in "${order[@]}"; do
      list=$(without "$c" "${cur[@]}")
      mapfile -t flags < <(rp_caps_flags "$list")
      rc=0
      rp_trial "$log" "${flags[@]}" || rc=$?
      runs=$((runs + 1))
      ((rc == 0)) && IFS=, read -r -a cur <<<"$list"
    done
    list=$(
      IFS=,
      echo "${cur[*]}"
    )
    note="single drops broke only {${needed[*]}} and that set alone fails: greedy removal, broadest first"
  fi
  list=$(rp_sort_list "$list")
  echo "$name ${list:--} # ablation: ${breaks[*]:-nothing breaks}; $note; $runs runs, $((SECONDS - start)) s, $(date -u +%F)" >"$outdir/$name"
  rp_log "$name: expected ${list:-(none)} ($runs runs, $((SECONDS - start)) s)"
}

running=0
for n in "${names[@]}"; do
  [[ -f "$RP_DIR/programs/$n.sh" ]] || {
    echo "realprog-ablate: no program $n" >&2
    exit 2
  }
  (ablate "$n") &
  running=$((running + 1))
  if ((running >= jobs)); then
    wait -n
    running=$((running - 1))
  fi
done
wait

# Merge into expected.txt: the new lines replace the programs' old ones.
file=$RP_EXPECTED_FILE
tmp=$(mktemp)
{
  echo "# Expected capability sets of the real-programs tier (tests/realprog/run.sh):"
  echo "# NAME CAPS (comma-separated, - for none) # how it was found."
  echo "# Generated by scripts/realprog-ablate.sh (the kernel's answer, by ablation:"
  echo "# each capability dropped alone from --cap-add=ALL, kept when the daemon's"
  echo "# start or health check breaks). Do not edit by hand; re-run the script."
  declare -A new=()
  for n in "${names[@]}"; do
    [[ -s "$outdir/$n" ]] && new[$n]=1
  done
  if [[ -f "$file" ]]; then
    grep -v '^#' "$file" | while read -r n rest; do
      [[ -n "$n" && -z "${new[$n]:-}" ]] && echo "$n $rest"
    done
  fi
  for n in "${names[@]}"; do
    [[ -s "$outdir/$n" ]] && cat "$outdir/$n"
  done
} >"$tmp"
{
  grep '^#' "$tmp"
  grep -v '^#' "$tmp" | sort
} >"$file"
rm -f "$tmp"
echo "realprog-ablate: wrote $file" >&2
grep -v '^#' "$file" >&2
