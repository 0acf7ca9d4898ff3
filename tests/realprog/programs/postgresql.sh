# shellcheck shell=bash disable=SC2016,SC2034  # sourced by tests/realprog/lib.sh; container commands in single quotes
# postgresql: as the official image does it: root creates the data directory
# for the postgres user, then drops to it (setpriv) for initdb and the server.
# Check: a SQL query over TCP.
RP_DESC="postgresql 15 (root -> postgres, initdb + server): SELECT over TCP; server runs as postgres"
RP_CMD=(sh -c 'install -d -o postgres -g postgres -m 0700 /tmp/pgdata &&
  exec setpriv --reuid=postgres --regid=postgres --init-groups sh -c "
    /usr/lib/postgresql/15/bin/initdb -D /tmp/pgdata -A trust -U postgres >/tmp/initdb.log &&
    exec /usr/lib/postgresql/15/bin/postgres -D /tmp/pgdata -c listen_addresses=127.0.0.1 -k /tmp"')

rp_health() {
  rp_runs_as postgres postgres || return 1
  [[ "$(rp_in psql -h 127.0.0.1 -U postgres -Atc 'SELECT 40 + 2' postgres 2>/dev/null)" == 42 ]]
}
