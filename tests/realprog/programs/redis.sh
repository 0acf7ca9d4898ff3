# shellcheck shell=bash disable=SC2016,SC2034  # sourced by tests/realprog/lib.sh; container commands in single quotes
# redis: a non-root container (--user redis) on port 6379. Check: PING and a
# SET/GET round trip.
RP_DESC="redis (container user redis, port 6379): PING, SET, GET"
RP_CMD=(redis-server --bind 127.0.0.1 --port 6379 --daemonize no --protected-mode no --save '' --dir /tmp)
RP_OPTS=(--user redis:redis)

rp_health() {
  [[ "$(rp_in redis-cli -h 127.0.0.1 ping 2>/dev/null)" == PONG ]] &&
    rp_in redis-cli -h 127.0.0.1 set capscope ok >/dev/null &&
    [[ "$(rp_in redis-cli -h 127.0.0.1 get capscope)" == ok ]]
}
