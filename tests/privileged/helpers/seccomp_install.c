/* seccomp_install [--nnp]: installs a seccomp filter that allows every
 * system call (through prctl(PR_SET_SECCOMP)), then prints "installed".
 * Without --nnp, no_new_privs is left unset, and the kernel then demands
 * CAP_SYS_ADMIN (seccomp_prepare_filter: ns_capable_noaudit, a NOAUDIT
 * check that decides the outcome: -EACCES without it). With --nnp it sets
 * no_new_privs first and needs no capability.
 * Exits 0 when the filter is installed, 1 when it was refused, 2 on bad
 * usage. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

int main(int argc, char **argv) {
  int nnp = argc == 2 && strcmp(argv[1], "--nnp") == 0;
  if (argc > 2 || (argc == 2 && !nnp)) {
    fprintf(stderr, "usage: seccomp_install [--nnp]\n");
    return 2;
  }
  struct sock_filter filter[] = {
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {
      .len = sizeof(filter) / sizeof(filter[0]),
      .filter = filter,
  };
  if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    fprintf(stderr, "seccomp_install: no_new_privs: %s\n", strerror(errno));
    return 1;
  }
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    fprintf(stderr, "seccomp_install: cannot install filter%s: %s\n",
            nnp ? "" : " without no_new_privs", strerror(errno));
    return 1;
  }
  printf("installed\n");
  return 0;
}
