# shellcheck shell=bash disable=SC2016,SC2034  # sourced by tests/realprog/lib.sh; container commands in single quotes
# exim4: Debian's default (local delivery only) configuration, root on port
# 25, receiving as Debian-exim, delivering as the recipient. Check: a mail
# sent over SMTP, with a marker never sent before, lands in the recipient's
# mailbox (the mailbox outlives a run, so an old marker proves nothing).
RP_DESC="exim4 (port 25, local delivery as the user): SMTP mail lands in a mailbox"
RP_CMD=(exim4 -bdf -q30m)

rp_health() {
  local marker i
  marker=capscope-smtp-$(date +%s%N)-$RANDOM
  printf 'Subject: capscope\r\n\r\n%s\r\n' "$marker" |
    rp_in curl -sS --max-time 5 smtp://127.0.0.1 --mail-from root@localhost \
      --mail-rcpt ftpuser@localhost -T - || return 1
  for ((i = 0; i < 20; i++)); do
    grep -qs -- "$marker" "$RP_ROOT/var/mail/ftpuser" && return 0
    sleep 0.2
  done
  return 1
}
