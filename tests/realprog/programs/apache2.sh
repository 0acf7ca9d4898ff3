# shellcheck shell=bash disable=SC2016,SC2034  # sourced by tests/realprog/lib.sh; container commands in single quotes
# apache2: started as root, binds port 80, workers run as www-data (the
# Debian package's own configuration). Check: HTTP GET of the default page.
RP_DESC="apache2 (root -> www-data, port 80): HTTP GET /; workers run as www-data"
RP_CMD=(sh -c '. /etc/apache2/envvars && mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR" && exec apache2 -DFOREGROUND')

rp_health() {
  rp_runs_as www-data apache2 || return 1
  rp_in curl -fsS --max-time 3 http://127.0.0.1/ | grep -q "Apache2 Debian Default Page"
}
