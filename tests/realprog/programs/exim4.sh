# exim4: Debian's default (local delivery only) configuration, root on port
# 25, receiving as Debian-exim, delivering as the recipient. Check: a mail
# sent over SMTP lands in the recipient's mailbox.
RP_DESC="exim4 (port 25, local delivery as the user): SMTP mail to a mailbox"
RP_CMD=(exim4 -bdf -q30m)

rp_health() {
  if ! grep -qs capscope-smtp-ok "$RP_ROOT/var/mail/ftpuser"; then
    printf 'Subject: capscope\r\n\r\ncapscope-smtp-ok\r\n' |
      rp_in curl -sS --max-time 5 smtp://127.0.0.1 --mail-from root@localhost \
        --mail-rcpt ftpuser@localhost -T - || return 1
  fi
  local i
  for i in 1 2 3 4 5 6 7 8 9 10; do
    grep -qs capscope-smtp-ok "$RP_ROOT/var/mail/ftpuser" && return 0
    sleep 0.3
  done
  return 1
}
