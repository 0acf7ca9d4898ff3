#!/usr/bin/env bash
# Churn soak (issue 15): one `capscope daemon` while short-lived containers
# come and go and one container runs many short processes; checks that every
# container is profiled, the process count is exact, the daemon's RSS stays
# within 10 % after warm-up, no scope is leaked and nothing is lost.
#
#   scripts/soak.sh [--short] [--containers N] [--procs N] [--parallel P]
#                   [--docker] [--podman-cli] [--limit SECONDS]
#
# Default: 2,000 containers (podman with runc), 20,000 processes, 8
# containers started at once, at most 600 s for the churn. --short: 40
# containers, 2,000 processes, at most 100 s (what the privileged tier runs:
# tests/privileged/test_soak.sh). --docker: half of the containers on a
# private Docker engine (tests/privileged/docker_fixture.sh). The podman
# containers are made through a `podman system service` from one client
# (tests/privileged/soak_podman_api.py); --podman-cli runs `podman run
# --rm` for each instead (about a third more CPU per container). Needs root
# and a build (build/). The figures end up on the last line.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
containers=2000 procs=20000 parallel=8 limit=600 docker=0 podman=api

while (($#)); do
  case $1 in
    --short) containers=40 procs=2000 parallel=4 limit=100 ;;
    --containers) containers=${2:?--containers needs a number} && shift ;;
    --procs) procs=${2:?--procs needs a number} && shift ;;
    --parallel) parallel=${2:?--parallel needs a number} && shift ;;
    --limit) limit=${2:?--limit needs seconds} && shift ;;
    --docker) docker=1 ;;
    --podman-cli) podman=cli ;;
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *)
      echo "soak.sh: unknown argument '$1' (see --help)" >&2
      exit 2
      ;;
  esac
  shift
done
for v in "$containers" "$procs" "$parallel" "$limit"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || {
    echo "soak.sh: '$v' is not a positive number" >&2
    exit 2
  }
done

report=$(mktemp)
trap 'rm -f "$report"' EXIT
rc=0
SOAK_CONTAINERS=$containers SOAK_PROCS=$procs SOAK_PARALLEL=$parallel \
  SOAK_LIMIT=$limit SOAK_DOCKER=$docker SOAK_PODMAN=$podman SOAK_REPORT=$report \
  TEST_TIMEOUT=$((limit + 120)) \
  bash "$root/tests/privileged/run.sh" soak_churn || rc=$?
[[ -s "$report" ]] && cat "$report"
exit "$rc"
