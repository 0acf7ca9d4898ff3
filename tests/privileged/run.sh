#!/usr/bin/env bash
# Privileged test tier: real BPF, real workloads, as root.
#
#   tests/privileged/run.sh [-v] [PATTERN...]
#
# Runs every function test_NAME defined in tests/privileged/test_*.sh (in file
# order), each in its own bash process with a time limit, and prints one line
# per test: PASS name / FAIL name: reason / SKIPPED name: reason. A failure
# also shows the end of the test's output (-v shows all of it, for every
# test). PATTERNs (bash globs on the name, e.g. 'record_*') select tests.
# The last line is "N passed, N failed, N skipped"; exit 1 if any failed.
# CAPSCOPE_TEST_DIR runs the test_*.sh of another directory with this
# library and runner (tests/package/run.sh does).
# shellcheck source-path=SCRIPTDIR
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [[ "${1:-}" == --one ]]; then
  # Internal: run one test in this process.
  # shellcheck source=lib.sh disable=SC1091
  source "$here/lib.sh"
  lib_run_one "$2" "$3"
  exit 0
fi

verbose=0
patterns=()
while (($#)); do
  case $1 in
    -v | --verbose) verbose=1 ;;
    -h | --help)
      awk '/^# shellcheck/ { next } NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    -*)
      echo "run.sh: unknown option $1" >&2
      exit 2
      ;;
    *) patterns+=("$1") ;;
  esac
  shift
done

# Whole-test time limit; each capscope run inside has its own (60 s).
test_timeout=${TEST_TIMEOUT:-300}

selected() { # selected NAME
  local p
  ((${#patterns[@]} == 0)) && return 0
  for p in "${patterns[@]}"; do
    # shellcheck disable=SC2053
    [[ "$1" == $p || "$1" == test_$p ]] && return 0
  done
  return 1
}

# Discover tests in definition order.
tests=() files=()
declare -A seen=()
for file in "${CAPSCOPE_TEST_DIR:-$here}"/test_*.sh; do
  [[ -e "$file" ]] || continue
  while IFS= read -r func; do
    if [[ -n "${seen[$func]:-}" ]]; then
      echo "run.sh: $func defined twice (${seen[$func]##*/} and ${file##*/})" >&2
      exit 2
    fi
    seen[$func]=$file
    selected "${func#test_}" || continue
    tests+=("$func")
    files+=("$file")
  done < <(sed -nE 's/^[[:space:]]*(function[[:space:]]+)?(test_[A-Za-z0-9_]+)[[:space:]]*\(\).*/\2/p' "$file")
done

if ((${#tests[@]} == 0)); then
  echo "run.sh: no tests found${patterns[*]:+ matching ${patterns[*]}}" >&2
  echo "0 passed, 0 failed, 0 skipped"
  exit 1
fi

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT

passed=0 failed=0 skipped=0
for i in "${!tests[@]}"; do
  func=${tests[$i]} file=${files[$i]} name=${tests[$i]#test_}
  log="$workdir/$func.log" result="$workdir/$func.result"
  : >"$result"
  start=$SECONDS
  rc=0
  RESULT_FILE=$result timeout -k 10 "$test_timeout" \
    bash "$here/run.sh" --one "$file" "$func" </dev/null >"$log" 2>&1 || rc=$?
  elapsed=$((SECONDS - start))
  reason=$(head -n 1 "$result")
  case $rc in
    0)
      echo "PASS $name (${elapsed}s)"
      passed=$((passed + 1))
      ;;
    77)
      echo "SKIPPED $name: ${reason:-no reason given}"
      skipped=$((skipped + 1))
      ;;
    *)
      if ((rc == 124 || rc == 137)) && [[ -z "$reason" ]]; then
        reason="timed out after ${test_timeout}s"
      fi
      echo "FAIL $name: ${reason:-exited $rc}"
      failed=$((failed + 1))
      if ((!verbose)); then
        tail -n 40 "$log" | sed 's/^/    | /'
      fi
      ;;
  esac
  if ((verbose)); then
    sed 's/^/    | /' "$log"
  fi
done

echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
