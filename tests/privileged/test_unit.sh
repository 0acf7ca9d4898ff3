# shellcheck shell=bash
# `capscope record --unit NAME.service` on a real systemd: a transient unit
# started with `systemd-run` that makes real capability checks, recorded by
# its cgroup, and the `--format systemd` drop-in it gives, applied to a
# unit that must then still work. Where the host's init is systemd the
# host's is used; elsewhere a systemd booted in a podman container
# (`podman run --systemd=always` on the Debian rootfs of
# `scripts/mkdebbase.sh systemd`) runs the units, and capscope on the host
# finds them by the cgroup they have there. Skipped with the reason when
# neither can run. The functions here run under lib.sh (see run.sh).

# unit_env: sets UNIT_WHERE ("host" or "container") and UNIT_CTR (the
# booted container's name), or skips saying why neither works.
unit_env() {
  require_cmd systemd-run
  if [[ -d /run/systemd/system ]] && systemctl is-system-running >/dev/null 2>&1; then
    UNIT_WHERE=host
    return 0
  fi
  local why_host
  why_host="systemd is not this host's init (pid 1 is $(ps -p 1 -o comm= 2>/dev/null || echo '?'))"
  command -v podman >/dev/null || skip "$why_host, and podman is missing to boot one in a container"
  local root
  root=$(bash "$REPO_ROOT/scripts/mkdebbase.sh" systemd) ||
    skip "$why_host, and the systemd rootfs could not be built (scripts/mkdebbase.sh systemd)"
  UNIT_CTR=$(unique_name unit)
  podman_cleanup "$UNIT_CTR"
  # The rootfs is a template: an overlay (:O) keeps it unchanged.
  if ! timeout 60 podman run -d --name "$UNIT_CTR" "${PODMAN_RUN_OPTS[@]}" --systemd=always \
    --cap-add=ALL --rootfs "$root:O" /lib/systemd/systemd >"$TEST_TMP/boot.out" 2>&1; then
    skip "$why_host, and podman could not boot systemd in a container: $(tail -n 2 "$TEST_TMP/boot.out" | tr '\n' ' ')"
  fi
  local state=""
  for _ in $(seq 60); do
    state=$(timeout 5 podman exec "$UNIT_CTR" systemctl is-system-running 2>/dev/null || true)
    [[ "$state" == running || "$state" == degraded ]] && break
    sleep 0.5
  done
  [[ "$state" == running || "$state" == degraded ]] ||
    skip "$why_host, and systemd booted in container $UNIT_CTR did not come up (state '$state': $(podman logs "$UNIT_CTR" 2>&1 | tail -n 3 | tr '\n' ' '))"
  UNIT_WHERE=container
}

# unit_run ARGS...: a command where the units live (the host or the
# booted container).
unit_run() {
  if [[ "$UNIT_WHERE" == host ]]; then
    "$@"
  else
    timeout 30 podman exec "$UNIT_CTR" "$@"
  fi
}

# unit_start NAME SYSTEMD-RUN-OPTIONS... -- CMD...: a transient service,
# stopped when the test ends.
unit_start() {
  local name=$1
  shift
  if [[ "$UNIT_WHERE" == host ]]; then
    on_exit "systemctl stop $name.service >/dev/null 2>&1"
  fi
  unit_run systemd-run --unit="$name" --quiet "$@" ||
    fail "systemd-run --unit=$name $* failed"
  for _ in $(seq 20); do
    [[ "$(unit_run systemctl is-active "$name.service" 2>/dev/null)" == active ]] && return 0
    sleep 0.25
  done
  fail "unit $name.service is not active: $(unit_run systemctl status "$name.service" 2>&1 | tail -n 5)"
}

# unit_status NAME SYSTEMD-RUN-OPTIONS... -- CMD...: run CMD as a one-shot
# transient unit and print its exit status once it ended. (`systemd-run
# --wait` needs D-Bus, which a minimal systemd does not run.)
unit_status() {
  local name=$1 sub=""
  shift
  unit_run systemd-run --unit="$name" --quiet -p RemainAfterExit=yes "$@" >/dev/null ||
    fail "systemd-run --unit=$name $* failed"
  for _ in $(seq 40); do
    sub=$(unit_run systemctl show -p SubState --value "$name.service")
    [[ "$sub" == exited || "$sub" == failed ]] && break
    sleep 0.25
  done
  [[ "$sub" == exited || "$sub" == failed ]] || fail "unit $name.service did not end (SubState '$sub')"
  unit_run systemctl show -p ExecMainStatus --value "$name.service"
  unit_run systemctl stop "$name.service" >/dev/null 2>&1 || true
  unit_run systemctl reset-failed "$name.service" >/dev/null 2>&1 || true
}

# A root unit that chowns in a loop: recorded by its cgroup, it needs CHOWN
# and only CHOWN; the profile is the unit's; the unit's effect is real.
test_unit_record_root() {
  unit_env
  local name="cs-chown-$$" out rc=0
  unit_start "$name" -- /bin/sh -c 'touch /tmp/cs-unit-f; while :; do chown 1000 /tmp/cs-unit-f; chown 0 /tmp/cs-unit-f; sleep 0.1; done'
  out=$(timeout 60 "$CAPSCOPE" record --unit "$name" --duration 3s --format json -o - 2>"$TEST_TMP/rec.err") || rc=$?
  cat "$TEST_TMP/rec.err" >&2
  assert_eq 0 "$rc" "exit status of record --unit $name"
  assert_contains "$(cat "$TEST_TMP/rec.err")" "attached" "record --unit's start line"
  printf '%s\n' "$out" >"$TEST_TMP/p.json"
  assert_eq "unit $name.service systemd" \
    "$(json_get "$TEST_TMP/p.json" 'd["workload"]["kind"] + " " + d["workload"]["id"] + " " + d["workload"]["runtime"]')" \
    "the profile's workload"
  assert_eq "CHOWN" "$(json_get "$TEST_TMP/p.json" '",".join(d["advice"]["add"])')" "advice for $name"
  local granted
  granted=$(json_get "$TEST_TMP/p.json" 'sum(c["granted"] for c in d["checks"] if c["cap"] == "CHOWN" and c["class"] == "needed")')
  ((granted >= 10)) || fail "only $granted CHOWN checks in 3 s of 20 chowns a second"
  # The workload really chowned (the file is root's or 1000's, in turn).
  [[ "$(unit_run stat -c %u /tmp/cs-unit-f)" =~ ^(0|1000)$ ]] || fail "/tmp/cs-unit-f has an unexpected owner"
  # Its systemd drop-in: the measured bounding set, no ambient for root.
  out=$("$CAPSCOPE" advise "$TEST_TMP/p.json" --format systemd)
  echo "$out" >&2
  assert_contains "$out" "/etc/systemd/system/$name.service.d/capscope.conf" "where the drop-in goes"
  assert_contains "$out" $'[Service]\nCapabilityBoundingSet=CAP_CHOWN\nNoNewPrivileges=yes' "the drop-in for root"
  # Without --duration the recording ends with the unit: a unit whose
  # process exits after a few checks (made once capscope is surely
  # attached: it waits for the file the test creates after the start line).
  unit_run rm -f "/tmp/cs-brief-go-$$"
  unit_start "cs-brief-$$" -- /bin/sh -c "while [ ! -e /tmp/cs-brief-go-$$ ]; do sleep 0.1; done; touch /tmp/cs-brief-f; chown 1000 /tmp/cs-brief-f; mknod /tmp/cs-brief-d c 1 3; sleep 1"
  rc=0
  timeout 30 "$CAPSCOPE" record --unit "cs-brief-$$" --format docker -o "$TEST_TMP/brief.out" 2>"$TEST_TMP/brief.err" &
  local rec=$!
  bg_track "$rec"
  wait_for_text "$TEST_TMP/brief.err" "attached" 20 || fail "record --unit cs-brief-$$ did not attach: $(cat "$TEST_TMP/brief.err")"
  unit_run touch /tmp/cs-brief-go-$$
  wait "$rec" || rc=$?
  out=$(cat "$TEST_TMP/brief.out")
  cat "$TEST_TMP/brief.err" >&2
  assert_eq "0:--cap-drop=ALL --cap-add=CHOWN --cap-add=MKNOD" "$rc:$out" "record --unit of a unit that ends by itself (status:advice)"
  assert_contains "$(cat "$TEST_TMP/brief.err")" "unit cs-brief-$$.service has no process left" "record --unit's end line"
  assert_eq "1000" "$(unit_run stat -c %u /tmp/cs-brief-f)" "owner of the file the brief unit chowned"
  # A unit that is not running is one line and status 125.
  rc=0
  out=$("$CAPSCOPE" record --unit "cs-none-$$" --duration 1s 2>&1) || rc=$?
  assert_eq "125:capscope: record: no process runs in a cgroup of unit cs-none-$$.service (is it running? systemctl status cs-none-$$.service)" \
    "$rc:$out" "record --unit of a unit that does not run"
}

# A non-root unit granted CHOWN through ambient capabilities: the profile
# knows its uid, the drop-in gives User=, the bounding set and
# AmbientCapabilities=, and a unit started with exactly those properties
# works while one without them fails.
test_unit_record_nonroot_dropin() {
  unit_env
  local name="cs-amb-$$" out rc=0
  unit_run sh -c 'rm -f /tmp/cs-amb-f; touch /tmp/cs-amb-f; chown 65534 /tmp/cs-amb-f'
  unit_start "$name" -p User=65534 -p AmbientCapabilities=CAP_CHOWN -p CapabilityBoundingSet=CAP_CHOWN -- \
    /bin/sh -c 'while :; do chown 65534:1000 /tmp/cs-amb-f; chown 65534:65534 /tmp/cs-amb-f; sleep 0.1; done'
  out=$(timeout 60 "$CAPSCOPE" record --unit "$name.service" --duration 3s --format json -o - 2>"$TEST_TMP/rec.err") || rc=$?
  cat "$TEST_TMP/rec.err" >&2
  assert_eq 0 "$rc" "exit status of record --unit $name.service"
  printf '%s\n' "$out" >"$TEST_TMP/p.json"
  assert_eq "65534" "$(json_get "$TEST_TMP/p.json" 'd["workload"].get("user", "")' | sed 's/^nobody$/65534/')" "the unit's user in the profile"
  assert_eq "CHOWN" "$(json_get "$TEST_TMP/p.json" '",".join(d["advice"]["add"])')" "advice for $name"
  out=$("$CAPSCOPE" advise "$TEST_TMP/p.json" --format systemd)
  echo "$out" >&2
  assert_contains "$out" "CapabilityBoundingSet=CAP_CHOWN"$'\n'"AmbientCapabilities=CAP_CHOWN"$'\n'"NoNewPrivileges=yes" "the non-root drop-in"
  local user
  user=$(sed -n 's/^User=//p' <<<"$out")
  [[ "$user" == 65534 || "$user" == nobody ]] || fail "the drop-in's User= is '$user', expected the unit's uid 65534"

  # The drop-in applied: a unit with exactly its [Service] settings works,
  # one without the capability does not (the check is real).
  local props=() line
  while IFS= read -r line; do
    [[ "$line" == *=* && "$line" != \#* ]] && props+=(-p "$line")
  done <<<"$out"
  # The recorded unit is stopped first: its loop chowns the same file.
  # Group 1000 is none of 65534's: chgrp to it needs CHOWN; each run
  # starts from 65534:65534.
  unit_run systemctl stop "$name.service"
  unit_run chown 65534:65534 /tmp/cs-amb-f
  assert_eq 0 "$(unit_status "cs-apply-$$" "${props[@]}" -- /bin/sh -c 'chown 65534:1000 /tmp/cs-amb-f')" \
    "exit status of a unit run with the drop-in's settings (${props[*]})"
  assert_eq "65534:1000" "$(unit_run stat -c %u:%g /tmp/cs-amb-f)" "owner of the file the drop-in's unit chowned"
  unit_run chown 65534:65534 /tmp/cs-amb-f
  rc=$(unit_status "cs-bare-$$" -p User=65534 -p NoNewPrivileges=yes -- /bin/sh -c 'chown 65534:1000 /tmp/cs-amb-f')
  assert_eq "65534:65534" "$(unit_run stat -c %u:%g /tmp/cs-amb-f)" "owner of the file after the unit without CHOWN"
  [[ $rc -ne 0 ]] || fail "chown worked in a unit of user 65534 without CHOWN: the check proves nothing"
}
