# shellcheck shell=bash disable=SC2016,SC2034  # sourced by tests/realprog/lib.sh; container commands in single quotes
# unbound: port 53, chroot to /etc/unbound, drops to the unbound user.
# Check: a DNS answer for a local record.
RP_DESC="unbound (port 53, chroot, user unbound): DNS A query; runs as unbound"
RP_CMD=(unbound -d -c /etc/unbound/capscope.conf)

rp_prepare() {
  cat >"$RP_ROOT/etc/unbound/capscope.conf" <<'CONF'
server:
  interface: 127.0.0.1
  port: 53
  do-ip6: no
  do-daemonize: no
  use-syslog: no
  logfile: ""
  pidfile: ""
  chroot: "/etc/unbound"
  directory: "/etc/unbound"
  username: "unbound"
  local-zone: "capscope.test." static
  local-data: "health.capscope.test. IN A 192.0.2.53"
remote-control:
  control-enable: no
CONF
}

rp_health() {
  rp_runs_as unbound unbound || return 1
  [[ "$(rp_in dig +short +time=2 +tries=1 @127.0.0.1 health.capscope.test A)" == 192.0.2.53 ]]
}
