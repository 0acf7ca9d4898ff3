# shellcheck shell=bash disable=SC2016,SC2034  # sourced by tests/realprog/lib.sh; container commands in single quotes
# nginx: master as root on port 80, workers as www-data (Debian's
# configuration). Check: HTTP GET answered by nginx.
RP_DESC="nginx (master root, workers www-data, port 80): HTTP GET /; workers run as www-data"
RP_CMD=(nginx -g 'daemon off;')

rp_health() {
  rp_runs_as www-data nginx || return 1
  rp_in curl -fsS --max-time 3 -o /dev/null -D - http://127.0.0.1/ | grep -qi '^server: nginx'
}
