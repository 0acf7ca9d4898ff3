# shellcheck shell=bash disable=SC2016,SC2034  # sourced by tests/realprog/lib.sh; container commands in single quotes
# memcached: started as root, drops to the memcache user itself (-u). Check:
# the text protocol's "version".
RP_DESC="memcached (root -> memcache via -u, port 11211): version; runs as memcache"
RP_CMD=(memcached -u memcache -l 127.0.0.1 -p 11211)

rp_health() {
  rp_runs_as memcache memcached || return 1
  rp_in bash -c 'exec 3<>/dev/tcp/127.0.0.1/11211 && printf "version\r\n" >&3 && timeout 2 head -n 1 <&3' |
    grep -q '^VERSION '
}
