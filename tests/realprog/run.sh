#!/usr/bin/env bash
# Real-programs tier: Debian daemons (tests/realprog/programs/, in the rootfs
# of scripts/mkrealfs.sh) run in podman + runc under --cap-add=ALL, recorded
# with `capscope record`, judged against the kernel's answer found by
# ablation (tests/realprog/expected.txt, scripts/realprog-ablate.sh).
#
#   tests/realprog/run.sh [-v] [-j N] [NAME...]
#
# Three results per program:
#   NAME.sufficient  the container re-run with exactly the advice passes its
#                    health check (HTTP GET, SQL query, DNS answer, ...)
#   NAME.minimal     the advice is exactly the expected set
#   NAME.minimize    `capscope verify --caps-from PROFILE --minimize` (in a
#                    container, --check = the health check) ends at it
# Each line is PASS name (Ns) / FAIL name: reason / SKIPPED name: reason /
# KNOWN-GAP name: reason (a result listed in known-gaps.txt); a
# failure shows the end of the program's log (-v: the whole log, always).
# Then a table of expected vs advice vs minimize per program, and the last
# line "N passed, N failed, N skipped"; exit 1 if any failed.
# -j N runs N programs at a time (default 2; each has its own network
# namespace and overlay); the results are printed in name order.
# Environment: CAPSCOPE (the binary), REALPROG_TIMEOUT (seconds per program,
# default 420), REALPROG_JOBS (default for -j).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh disable=SC1091
source "$here/lib.sh"

# --one NAME RESULTS: run one program in this process (internal).
if [[ "${1:-}" == --one ]]; then
  name=$2 results=$3
  aspects=(sufficient minimal minimize)
  result() { # result KIND ASPECT TEXT
    printf '%s %s %s\n' "$1" "$2" "$3" >>"$results"
  }
  all() { # all KIND TEXT: the same result for every aspect not yet given
    local a
    for a in "${aspects[@]}"; do
      grep -q "^[A-Z]* $a " "$results" 2>/dev/null || result "$1" "$a" "$2"
    done
  }
  trap rp_env_down EXIT
  # On the time limit: stop what runs now (capscope, podman) first.
  trap 'kill $(jobs -p) 2>/dev/null; exit 143' TERM
  expected=$(rp_expected "$name") || {
    all SKIPPED "no expected set for $name in ${RP_EXPECTED_FILE#"$RP_REPO"/} (run scripts/realprog-ablate.sh $name)"
    exit 0
  }
  if [[ "$expected" == "?" ]]; then
    all FAIL "the ablation could not find its expected set (see the note in expected.txt)"
    exit 0
  fi
  expected=$(rp_sort_list "$expected")
  rp_env_up "$name" || {
    all FAIL "could not set up the environment (overlay, netns, rp_prepare)"
    exit 0
  }
  echo "== $name: $RP_DESC"
  echo "expected (ablation): ${expected:-none}"
  w=$RP_WORK
  printf '%s\n' "$expected" >"$w/expected"

  # 1. Record under --cap-add=ALL.
  t0=$SECONDS
  rp_podman_cmd --cap-add=ALL
  echo "+ capscope record --format json -o profile.json -- ${RP_RUN[*]}"
  timeout -k 10 300 "$CAPSCOPE" record --format json -o "$w/profile.json" -- "${RP_RUN[@]}" \
    </dev/null >"$w/record.out" 2>"$w/record.err" &
  pid=$!
  hrc=0
  rp_wait_health "$pid" || hrc=$?
  rp_stop_wait "$pid"
  echo "record: health $([[ $hrc == 0 ]] && echo passed || echo "FAILED ($hrc)"), capscope exit $RP_RC, $((SECONDS - t0)) s"
  sed 's/^/  record| /' "$w/record.out" "$w/record.err" | tail -n 60
  if ((hrc != 0)); then
    all FAIL "the daemon did not pass its health check while recorded with --cap-add=ALL (see log)"
    tail -n 20 "$w/health.log" 2>/dev/null | sed 's/^/  health| /'
    exit 0
  fi
  if [[ ! -s "$w/profile.json" ]]; then
    all FAIL "capscope record wrote no profile (exit $RP_RC)"
    exit 0
  fi
  "$CAPSCOPE" advise -v "$w/profile.json" >"$w/report.txt" 2>&1
  sed 's/^/  report| /' "$w/report.txt"
  flags=$("$CAPSCOPE" advise --format docker "$w/profile.json" 2>"$w/advise.err" | tail -n 1)
  if [[ "$flags" != --cap-drop=ALL* ]]; then
    all FAIL "capscope advise --format docker printed no flags: '$flags' $(head -c 200 "$w/advise.err")"
    exit 0
  fi
  advice=$(grep -oE -- '--cap-add=[A-Z_]+' <<<"$flags" | sed 's/--cap-add=//' | paste -sd, -)
  advice=$(rp_sort_list "$advice")
  printf '%s\n' "$advice" >"$w/advice"
  echo "advice: ${advice:-none} ($flags)"

  # 2. Sufficient: the advice alone passes the health check.
  mapfile -t cflags < <(rp_caps_flags "$advice")
  t0=$SECONDS
  rc=0
  rp_trial "$w/sufficient.log" "${cflags[@]}" || rc=$?
  sed 's/^/  sufficient| /' "$w/sufficient.log" | tail -n 20
  if ((rc == 0)); then
    result PASS sufficient "$((SECONDS - t0))s"
  else
    result FAIL sufficient "with exactly the advice (${advice:-nothing}) the $([[ $rc == 2 ]] && echo "daemon exited" || echo "health check failed")"
  fi

  # 3. Minimal: the advice is the expected set.
  if [[ "$advice" == "$expected" ]]; then
    result PASS minimal "${advice:-none}"
  else
    extra=$(comm -23 <(tr , '\n' <<<"$advice" | sed '/^$/d') <(tr , '\n' <<<"$expected" | sed '/^$/d') | paste -sd, -)
    missing=$(comm -13 <(tr , '\n' <<<"$advice" | sed '/^$/d') <(tr , '\n' <<<"$expected" | sed '/^$/d') | paste -sd, -)
    why=""
    for c in ${extra//,/ }; do
      # The report's "Why each capability:" lines for it.
      w1=$(awk -v c="  $c:" 'index($0, c) == 1 { on = 1; next } on && /^    / { sub(/^ +/, ""); print; exit } on { exit }' "$w/report.txt")
      why+="; $c ${w1:-(no reason in the report)}"
    done
    result FAIL minimal "advice ${advice:-none}, expected ${expected:-none}${extra:+: extra $extra}${missing:+, missing $missing}$why"
  fi

  # 4. verify --minimize from the profile, in a container, judged by the
  # health check; from the rootfs as installed (the runs above changed it),
  # and verify keeps each of its trials from changing it (podman's :O).
  rp_fresh_root || {
    result FAIL minimize "could not remount a fresh rootfs for verify"
    exit 0
  }
  rp_verify_opts
  t0=$SECONDS
  echo "+ capscope verify --caps-from profile.json --minimize --runtime podman --rootfs $RP_ROOT ${RP_VERIFY_OPTS[*]} --check 'bash $w/health.sh' -- ${RP_CMD[*]}"
  timeout -k 10 600 "$CAPSCOPE" verify --caps-from "$w/profile.json" --minimize \
    --runtime podman --rootfs "$RP_ROOT" "${RP_VERIFY_OPTS[@]}" \
    --check "bash $w/health.sh" --check-timeout "${REALPROG_CHECK_TIMEOUT:-25}s" \
    --format json -o "$w/verify.json" -- "${RP_CMD[@]}" </dev/null >"$w/verify.out" 2>&1 &
  vrc=0
  wait $! || vrc=$?
  sed 's/^/  verify| /' "$w/verify.out" | tail -n 80
  proven=$(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
print(",".join(sorted(c.removeprefix("CAP_") for c in j["proven"])))
for d in j.get("decisions", []):
    print("%s %s: %s" % (d["cap"].removeprefix("CAP_"), d["verdict"], d["why"]), file=sys.stderr)
' "$w/verify.json" 2>"$w/decisions")
  prc=$?
  sed 's/^/  decision| /' "$w/decisions"
  if ((prc != 0)); then
    result FAIL minimize "capscope verify exited $vrc without a readable result"
  elif [[ "$proven" == "$expected" ]]; then
    result PASS minimize "$((SECONDS - t0))s"
  else
    kept=$(grep -vE ' (unnecessary|removed)' "$w/decisions" | grep -E "^($(tr , '|' <<<"${proven:-NONE}")) " | paste -sd';' -)
    result FAIL minimize "verify --minimize ended at ${proven:-none} (exit $vrc), expected ${expected:-none}${kept:+: $kept}"
  fi
  printf '%s\n' "$proven" >"$w/proven"
  # For the summary table.
  printf '%s %s %s %s\n' "$name" "${expected:--}" "${advice:--}" "${proven:--}" >>"$results.table"
  exit 0
fi

verbose=0
jobs=${REALPROG_JOBS:-2}
names=()
while (($#)); do
  case $1 in
    -v | --verbose) verbose=1 ;;
    -j)
      jobs=$2
      shift
      ;;
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    -*)
      echo "run.sh: unknown option $1" >&2
      exit 2
      ;;
    *) names+=("$1") ;;
  esac
  shift
done
((${#names[@]})) || mapfile -t names < <(rp_programs)
timeout_s=${REALPROG_TIMEOUT:-420}

passed=0 failed=0 skipped=0 known=0
# skip_all REASON: every program's results skipped (a missing prerequisite).
skip_all() {
  local n a
  for n in "${names[@]}"; do
    for a in sufficient minimal minimize; do
      echo "SKIPPED $n.$a: $1"
      skipped=$((skipped + 1))
    done
  done
  echo "$passed passed, $failed failed, $skipped skipped"
  exit 0
}
((EUID == 0)) || skip_all "not root (the tier runs containers and loads BPF)"
[[ -x "$CAPSCOPE" ]] || skip_all "capscope binary not found at $CAPSCOPE (build it first)"
for c in podman runc mmdebstrap ip python3; do
  command -v "$c" >/dev/null 2>&1 || skip_all "command '$c' not installed (scripts/setup.sh installs it)"
done

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
start=$SECONDS
if ! realfs=$(bash "$RP_REPO/scripts/mkrealfs.sh" 2>"$workdir/mkrealfs.log"); then
  tail -n 20 "$workdir/mkrealfs.log" | sed 's/^/    | /'
  skip_all "scripts/mkrealfs.sh could not build the Debian rootfs (no access to the Debian mirror?)"
fi
echo "rootfs: $realfs (ready in $((SECONDS - start)) s)"

# Run the programs, JOBS at a time; then print each one's results in order.
run_program() { # run_program NAME (in the background)
  local name=$1 rc=0 t0=$SECONDS
  : >"$workdir/$name.results"
  timeout -k 10 "$timeout_s" bash "$here/run.sh" --one "$name" "$workdir/$name.results" \
    </dev/null >"$workdir/$name.log" 2>&1 || rc=$?
  echo "$rc $((SECONDS - t0))" >"$workdir/$name.done"
}
running=0
for name in "${names[@]}"; do
  [[ -f "$here/programs/$name.sh" ]] || continue
  if ((running >= jobs)); then
    wait -n
    running=$((running - 1))
  fi
  run_program "$name" &
  running=$((running + 1))
done
wait

for name in "${names[@]}"; do
  if [[ ! -f "$here/programs/$name.sh" ]]; then
    echo "FAIL $name: no program tests/realprog/programs/$name.sh"
    failed=$((failed + 1))
    continue
  fi
  results="$workdir/$name.results" log="$workdir/$name.log"
  read -r rc secs <"$workdir/$name.done" 2>/dev/null || rc=1 secs="?"
  [[ -f "$results.table" ]] && cat "$results.table" >>"$workdir/table"
  any_fail=0
  for a in sufficient minimal minimize; do
    line=$(grep -m1 "^[A-Z]* $a " "$results")
    if [[ -z "$line" ]]; then
      line="FAIL $a $( ((rc == 124 || rc == 137)) && echo "timed out after ${timeout_s}s" || echo "no result (exit $rc)")"
    fi
    kind=${line%% *} text=${line#* } text=${text#* }
    gap=$(sed -n "s/^$name\.$a //p" "$here/known-gaps.txt")
    if [[ -n "$gap" ]]; then
      if [[ $kind == PASS ]]; then
        kind=FAIL text="passes now ($text): remove '$name.$a' from tests/realprog/known-gaps.txt"
      elif [[ $kind == FAIL ]]; then
        kind=KNOWN
      fi
    fi
    case $kind in
      PASS)
        echo "PASS $name.$a ($text)"
        passed=$((passed + 1))
        ;;
      KNOWN)
        echo "KNOWN-GAP $name.$a: $text ($gap)"
        skipped=$((skipped + 1)) known=$((known + 1))
        ;;
      SKIPPED)
        echo "SKIPPED $name.$a: $text"
        skipped=$((skipped + 1))
        ;;
      *)
        echo "FAIL $name.$a: $text"
        failed=$((failed + 1))
        any_fail=1
        ;;
    esac
  done
  echo "     ($name: $secs s)"
  if ((verbose)); then
    sed 's/^/    | /' "$log"
  elif ((any_fail)); then
    grep -E '^(== |expected|advice|record:)|  (report|decision)\| ' "$log" | tail -n 50 | sed 's/^/    | /'
  fi
done

if [[ -s "$workdir/table" ]]; then
  echo
  { echo PROGRAM EXPECTED-BY-ABLATION ADVICE VERIFY-MINIMIZE; cat "$workdir/table"; } |
    awk '{ for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
      END { for (r = 1; r <= NR; r++) { for (i = 1; i < 4; i++) printf "%-*s  ", w[i], c[r, i]; print c[r, 4] } }'
  echo
fi
echo "total time: $((SECONDS - start)) s"
((known == 0)) || echo "$known known gap(s) (tests/realprog/known-gaps.txt), counted as skipped"
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
