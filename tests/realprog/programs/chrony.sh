# shellcheck shell=bash disable=SC2016,SC2034  # sourced by tests/realprog/lib.sh; container commands in single quotes
# chrony: an NTP server (local stratum) on UDP port 123 that drops to the
# _chrony user, keeping only what it needs through libcap; -x: it never
# steers the (shared) system clock. Check: an NTP exchange with chronyd -Q.
RP_DESC="chronyd (UDP port 123, root -> _chrony via libcap, -x): NTP answer; runs as _chrony"
RP_CMD=(chronyd -d -x -u _chrony -f /etc/chrony/capscope.conf)

rp_prepare() {
  cat >"$RP_ROOT/etc/chrony/capscope.conf" <<'CONF'
local stratum 8
allow 127.0.0.1
bindaddress 127.0.0.1
port 123
cmdport 0
pidfile /run/chrony/chronyd.pid
CONF
  cat >"$RP_ROOT/etc/chrony/capscope-client.conf" <<'CONF'
server 127.0.0.1 iburst
cmdport 0
pidfile /tmp/chrony-client.pid
CONF
}

rp_health() {
  rp_runs_as _chrony chronyd || return 1
  rp_in timeout 8 chronyd -Q -t 6 -f /etc/chrony/capscope-client.conf 2>&1 | grep -q 'System clock wrong by'
}
