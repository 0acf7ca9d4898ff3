/* seccomp_deny DIR: installs a seccomp filter that fails mkdir/mkdirat
 * with EPERM, then tries to create DIR. Exits 1 when the mkdir fails (as it
 * should: a failure that has nothing to do with capabilities), 0 if it
 * unexpectedly worked, 2 when the filter could not be installed. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#ifndef SYS_mkdir
#define SYS_mkdir SYS_mkdirat /* arm64: only mkdirat(2) */
#endif

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: seccomp_deny DIR\n");
    return 2;
  }
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mkdirat, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mkdir, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & 0xffff)),
  };
  struct sock_fprog prog = {
      .len = sizeof(filter) / sizeof(filter[0]),
      .filter = filter,
  };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    fprintf(stderr, "seccomp_deny: cannot install filter: %s\n",
            strerror(errno));
    return 2;
  }
  if (mkdir(argv[1], 0700) == 0) {
    printf("mkdir %s worked (unexpected)\n", argv[1]);
    return 0;
  }
  printf("mkdir %s: %s\n", argv[1], strerror(errno));
  return 1;
}
