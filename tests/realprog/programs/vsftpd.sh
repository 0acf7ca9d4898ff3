# shellcheck shell=bash disable=SC2016,SC2034  # sourced by tests/realprog/lib.sh; container commands in single quotes
# vsftpd: standalone FTP server as root on port 21; a local user logs in
# with a password (PAM), the session runs as that user. Check: log in and
# download a file.
RP_DESC="vsftpd (port 21, PAM login, session as the user): FTP login + RETR"
RP_CMD=(sh -c 'mkdir -p /run/vsftpd/empty && exec vsftpd /etc/vsftpd-capscope.conf')

rp_prepare() {
  cat >"$RP_ROOT/etc/vsftpd-capscope.conf" <<'CONF'
listen=YES
listen_ipv6=NO
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=NO
xferlog_enable=NO
secure_chroot_dir=/run/vsftpd/empty
pam_service_name=vsftpd
CONF
  echo capscope-ftp-ok >"$RP_ROOT/home/ftpuser/marker"
}

rp_health() {
  [[ "$(rp_in curl -fsS --max-time 5 ftp://ftpuser:ftppass@127.0.0.1/marker)" == capscope-ftp-ok ]]
}
