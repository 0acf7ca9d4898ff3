# shellcheck shell=bash disable=SC2034  # RP_* are read by the programs and callers
# Library of the real-programs tier (tests/realprog/run.sh) and of its
# ablation script (scripts/realprog-ablate.sh): one environment per program
# (an overlay on the cached Debian rootfs of scripts/mkrealfs.sh, and a
# network namespace of its own), the daemon's container run, and its health
# check run from the host side so it never shows in the container's profile.
#
# A program is tests/realprog/programs/NAME.sh, sourced by rp_load; it sets
#   RP_DESC            one line: what runs and what the check proves
#   RP_CMD=(...)       the container's command (the daemon in the foreground)
#   RP_OPTS=(...)      more `podman run` options (e.g. --user), optional
# and defines
#   rp_prepare         host side, before each run: write configs into $RP_ROOT
#   rp_helpers         optional, once: start helpers (e.g. a backend server)
#                      in the namespace with rp_bg
#   rp_health          one attempt of the health check (0 = healthy); run
#                      clients through rp_in, which chroots into $RP_ROOT
#                      inside the program's network namespace
# Environment: CAPSCOPE (the binary), RP_HEALTH_TIMEOUT (seconds, default 40).

RP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RP_REPO=$(cd "$RP_DIR/../.." && pwd)
CAPSCOPE=${CAPSCOPE:-$RP_REPO/build/userspace/cli/capscope}
RP_EXPECTED_FILE=${RP_EXPECTED_FILE:-$RP_DIR/expected.txt}
RP_HEALTH_TIMEOUT=${RP_HEALTH_TIMEOUT:-40}

# This machine's workarounds (DESIGN.md, "Real components used in tests"):
# runc, and ulimits that need no CAP_SYS_RESOURCE. No --init: its PID 1
# (catatonit, root) forwarding SIGTERM to a daemon that changed its uid is a
# CAP_KILL check of the container's own, which no daemon makes.
PODMAN_RUN_OPTS=(--runtime=runc --ulimit=nofile=1024:1024 --ulimit=nproc=4096:4096)
RP_COMMON_OPTS=(--tmpfs /tmp:notmpcopyup --tmpfs /run)

rp_log() { printf 'realprog: %s\n' "$*" >&2; }

# rp_programs: every program name, sorted.
rp_programs() {
  local f
  for f in "$RP_DIR"/programs/*.sh; do
    [[ -e "$f" ]] || continue
    f=${f##*/}
    echo "${f%.sh}"
  done
}

# rp_load NAME: source the program's definition.
rp_load() {
  RP_NAME=$1 RP_DESC="" RP_CMD=() RP_OPTS=()
  unset -f rp_prepare rp_health rp_helpers
  # shellcheck source=/dev/null
  source "$RP_DIR/programs/$1.sh"
  declare -F rp_health >/dev/null || {
    rp_log "$1: no rp_health"
    return 1
  }
  declare -F rp_prepare >/dev/null || rp_prepare() { :; }
  declare -F rp_helpers >/dev/null || rp_helpers() { :; }
}

# rp_expected NAME: the stored expected set (comma-separated, "" = none);
# false when the program has no line in expected.txt.
rp_expected() {
  local line
  line=$(awk -v n="$1" '$1 == n { print $2; found = 1 } END { exit !found }' "$RP_EXPECTED_FILE" 2>/dev/null) ||
    return 1
  [[ "$line" == - ]] && line=""
  echo "$line"
}

# rp_wide_caps: the capabilities `--cap-add=ALL` gives a container here, one
# per line (names without CAP_), from the container's own CapEff.
rp_wide_caps() {
  local eff
  eff=$(timeout 60 podman run --rm "${PODMAN_RUN_OPTS[@]}" --cap-add=ALL --network none \
    --rootfs "$RP_REALFS" sh -c 'sed -n "s/^CapEff:[[:space:]]*//p" /proc/self/status') || return 1
  # "0x000001fffeffffff=CAP_CHOWN,CAP_DAC_OVERRIDE,..."
  "$CAPSCOPE" decode "$eff" | sed 's/^[^=]*=//' | tr ', ' '\n' | sed 's/^CAP_//' | grep -E '^[A-Z_]+$'
}

# rp_env_up NAME: overlay rootfs at $RP_ROOT, network namespace $RP_NS with
# loopback up, the program loaded and prepared. rp_env_down undoes it.
rp_env_up() {
  RP_REALFS=$(bash "$RP_REPO/scripts/mkrealfs.sh") || return 1
  rp_load "$1" || return 1
  RP_WORK=$(mktemp -d "${TMPDIR:-/tmp}/capscope-realprog.$1.XXXXXX")
  RP_ROOT=$RP_WORK/root
  mkdir -p "$RP_WORK"/{upper,work,root}
  RP_NS=cs-rp-$1-$$
  ip netns add "$RP_NS" || return 1
  ip netns exec "$RP_NS" ip link set lo up || return 1
  RP_BG_PIDS=()
  RP_TRIAL=0
  rp_fresh_root || return 1
  rp_helpers || {
    rp_log "$1: rp_helpers failed"
    return 1
  }
  # The check command verify runs (a shell command line).
  cat >"$RP_WORK/health.sh" <<EOF
# one health check of $1 (for capscope verify --check)
source $(printf %q "$RP_DIR/lib.sh")
RP_ROOT=$(printf %q "$RP_ROOT") RP_NS=$(printf %q "$RP_NS") RP_WORK=$(printf %q "$RP_WORK")
rp_load $(printf %q "$1") && rp_health
EOF
}

# rp_fresh_root: (re)mount the overlay with an empty upper layer, so that a
# run starts from the rootfs as installed (a daemon's first start may do
# what later starts find done, e.g. chown its directories), and prepare it.
rp_fresh_root() {
  if mountpoint -q "$RP_ROOT"; then
    umount "$RP_ROOT" || return 1
  fi
  rm -rf "$RP_WORK/upper" "$RP_WORK/work"
  mkdir -p "$RP_WORK/upper" "$RP_WORK/work"
  mount -t overlay overlay -o "lowerdir=$RP_REALFS,upperdir=$RP_WORK/upper,workdir=$RP_WORK/work" "$RP_ROOT" ||
    return 1
  rp_prepare || {
    rp_log "$RP_NAME: rp_prepare failed"
    return 1
  }
}

rp_env_down() {
  local pid
  podman ps -a --format '{{.Names}}' 2>/dev/null | grep -E "^cs-rp-${RP_NAME:-none}-$$-" |
    xargs -r timeout 60 podman rm -f -t 0 >/dev/null 2>&1 || true
  for pid in "${RP_BG_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  RP_BG_PIDS=()
  [[ -n "${RP_NS:-}" ]] && ip netns del "$RP_NS" 2>/dev/null
  if [[ -n "${RP_ROOT:-}" ]] && mountpoint -q "$RP_ROOT"; then
    umount "$RP_ROOT" || umount -l "$RP_ROOT"
  fi
  [[ -n "${RP_WORK:-}" && "${RP_KEEP:-0}" != 1 ]] && rm -rf "$RP_WORK"
  RP_NS="" RP_ROOT="" RP_WORK=""
  return 0
}

# rp_in CMD...: run a client inside the program's rootfs and network
# namespace, as root on the host side (not in the container, not traced).
rp_in() {
  ip netns exec "$RP_NS" chroot "$RP_ROOT" "$@"
}

# rp_runs_as USER COMM: true when a process named COMM in the program's
# network namespace runs as USER (real, effective uid and gid, from the
# rootfs's passwd). Health checks use it to prove the daemon's privilege
# drop happened: a daemon that carries on as root when setgid fails still
# answers, but is not working as configured.
rp_runs_as() {
  local user=$1 comm=$2 ids pid
  ids=$(awk -F: -v u="$user" '$1 == u { print $3, $4 }' "$RP_ROOT/etc/passwd")
  [[ -n "$ids" ]] || return 1
  for pid in $(ip netns pids "$RP_NS"); do
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$comm" ]] || continue
    awk -v ids="$ids" 'BEGIN { split(ids, i, " ") }
      /^Uid:/ { u = ($2 == i[1] && $3 == i[1]) }
      /^Gid:/ { g = ($2 == i[2] && $3 == i[2]) }
      END { exit !(u && g) }' "/proc/$pid/status" 2>/dev/null && return 0
  done
  return 1
}

# rp_bg CMD...: start a helper (e.g. a backend server) in the namespace;
# stopped by rp_env_down.
rp_bg() {
  ip netns exec "$RP_NS" "$@" &
  RP_BG_PIDS+=($!)
}

# rp_podman_cmd CAPFLAGS...: sets RP_RUN to the container's `podman run`
# command line with these capability flags.
rp_podman_cmd() {
  RP_TRIAL=$((RP_TRIAL + 1))
  RP_CTR=cs-rp-$RP_NAME-$$-$RP_TRIAL
  RP_RUN=(podman run --rm --name "$RP_CTR" "${PODMAN_RUN_OPTS[@]}" "$@"
    --network "ns:/run/netns/$RP_NS" "${RP_COMMON_OPTS[@]}" "${RP_OPTS[@]}"
    --rootfs "$RP_ROOT" "${RP_CMD[@]}")
}

# rp_verify_opts: the --runtime-opt flags that make `capscope verify
# --runtime podman` run the container as rp_podman_cmd does: this
# machine's PODMAN_RUN_OPTS, the network namespace, /run (verify adds --rm,
# --tmpfs /tmp and the capability flags).
rp_verify_opts() {
  local o
  RP_VERIFY_OPTS=(--runtime-opt=--network=ns:/run/netns/"$RP_NS" --runtime-opt=--tmpfs=/run)
  for o in "${PODMAN_RUN_OPTS[@]}"; do
    RP_VERIFY_OPTS+=("--runtime-opt=$o")
  done
  for o in "${RP_OPTS[@]}"; do
    RP_VERIFY_OPTS+=("--runtime-opt=$o")
  done
}

# rp_wait_health PID: poll rp_health until it passes (0), the process PID
# (the podman run or capscope record in the background) ends (2), or
# RP_HEALTH_TIMEOUT seconds pass (1).
rp_wait_health() {
  local pid=$1 deadline=$((SECONDS + RP_HEALTH_TIMEOUT))
  while ((SECONDS < deadline)); do
    if rp_health >>"$RP_WORK/health.log" 2>&1; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 2
    sleep 0.3
  done
  return 1
}

# rp_stop_wait PID: stop the current container, wait for PID (its podman run,
# or capscope record around it) to end; sets RP_RC to PID's exit status.
rp_stop_wait() {
  local pid=$1 i
  timeout 30 podman stop -t 5 "$RP_CTR" >/dev/null 2>&1 || true
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill "$pid" 2>/dev/null
  RP_RC=0
  wait "$pid" 2>/dev/null || RP_RC=$?
}

# rp_trial LOG CAPFLAGS...: start the daemon with these flags on a fresh
# rootfs, run the health check; true when it passes. The container is
# stopped either way. LOG gets podman's output.
rp_trial() {
  local log=$1 pid rc=0
  shift
  rp_fresh_root || return 3
  rp_podman_cmd "$@"
  "${RP_RUN[@]}" </dev/null >"$log" 2>&1 &
  pid=$!
  rp_wait_health "$pid" || rc=$?
  rp_stop_wait "$pid"
  return "$rc"
}

# rp_caps_flags LIST: "--cap-drop=ALL --cap-add=A ..." words for a
# comma-separated list.
rp_caps_flags() {
  local c
  local -a caps
  IFS=, read -r -a caps <<<"$1"
  printf '%s\n' --cap-drop=ALL
  for c in "${caps[@]}"; do
    [[ -n "$c" ]] && printf '%s\n' "--cap-add=$c"
  done
}

# rp_sort_list LIST: a comma-separated list, sorted, no duplicates.
rp_sort_list() {
  tr ',' '\n' <<<"$1" | sed '/^$/d' | sort -u | paste -sd, -
}
