# shellcheck shell=bash disable=SC2016,SC2034  # sourced by tests/realprog/lib.sh; container commands in single quotes
# rsyslog: receives syslog over UDP port 514 and writes it to a file, as
# root. Check: a message sent with logger, with a marker never sent before,
# lands in the file (the file outlives a run).
RP_DESC="rsyslog (UDP port 514, root): a logger message lands in a file"
RP_CMD=(rsyslogd -n -f /etc/rsyslog-capscope.conf -i /run/rsyslogd.pid)

rp_prepare() {
  cat >"$RP_ROOT/etc/rsyslog-capscope.conf" <<'CONF'
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="514")
*.* action(type="omfile" file="/var/log/capscope-health.log")
CONF
}

rp_health() {
  local marker i
  marker=capscope-syslog-$(date +%s%N)-$RANDOM
  rp_in logger -n 127.0.0.1 -P 514 -d -t capscope "$marker" || return 1
  for ((i = 0; i < 10; i++)); do
    grep -qs -- "$marker" "$RP_ROOT/var/log/capscope-health.log" && return 0
    sleep 0.2
  done
  return 1
}
