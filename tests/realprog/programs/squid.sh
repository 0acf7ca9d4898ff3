# shellcheck shell=bash disable=SC2016,SC2034  # sourced by tests/realprog/lib.sh; container commands in single quotes
# squid: a forward proxy started as root, running as the proxy user. Check:
# a page fetched through it from a backend the test serves in the namespace.
RP_DESC="squid (root -> proxy, port 3128): HTTP GET through the proxy; runs as proxy"
RP_CMD=(squid -N -f /etc/squid/capscope.conf)

rp_prepare() {
  cat >"$RP_ROOT/etc/squid/capscope.conf" <<'CONF'
http_port 127.0.0.1:3128
acl localhost src 127.0.0.1/32
http_access allow localhost
http_access deny all
cache deny all
cache_effective_user proxy
pid_filename none
coredump_dir /tmp
dns_nameservers 127.0.0.1
CONF
}

rp_helpers() {
  mkdir -p "$RP_WORK/www"
  echo capscope-squid-ok >"$RP_WORK/www/marker"
  rp_bg python3 -m http.server 8080 --bind 127.0.0.1 --directory "$RP_WORK/www" >/dev/null 2>&1
}

rp_health() {
  rp_runs_as proxy squid || return 1
  [[ "$(rp_in curl -fsS --max-time 3 -x http://127.0.0.1:3128 http://127.0.0.1:8080/marker)" == capscope-squid-ok ]]
}
