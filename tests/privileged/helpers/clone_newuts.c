/* clone_newuts: map and touch some private writable memory (so that the
 * clone's dup_mmap() accounts it and runs the memory-overcommit probe, a
 * CAP_SYS_ADMIN check that is noise), then clone(CLONE_NEWUTS|SIGCHLD) a
 * child that sets its hostname to "capscope-test" in the new UTS namespace.
 * Both the new namespace and sethostname() need CAP_SYS_ADMIN. Exits with the
 * child's status: 0 when the hostname was set and read back. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define NEW_HOSTNAME "capscope-test"
#define MAP_BYTES (4u << 20)
#define STACK_BYTES (256u << 10)

static int child_main(void *arg) {
  (void)arg;
  if (sethostname(NEW_HOSTNAME, strlen(NEW_HOSTNAME)) != 0) {
    fprintf(stderr, "clone_newuts: sethostname in new UTS namespace: %s\n",
            strerror(errno));
    return 1;
  }
  struct utsname u;
  if (uname(&u) != 0) {
    fprintf(stderr, "clone_newuts: uname: %s\n", strerror(errno));
    return 1;
  }
  if (strcmp(u.nodename, NEW_HOSTNAME) != 0) {
    fprintf(stderr, "clone_newuts: hostname is '%s', expected '%s'\n",
            u.nodename, NEW_HOSTNAME);
    return 1;
  }
  printf("hostname %s in new UTS namespace\n", u.nodename);
  fflush(stdout);
  return 0;
}

int main(void) {
  /* Private writable memory that the child's copy of the mm must account. */
  unsigned char *mem = mmap(NULL, MAP_BYTES, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    fprintf(stderr, "clone_newuts: mmap %u bytes: %s\n", MAP_BYTES,
            strerror(errno));
    return 1;
  }
  memset(mem, 0xa5, MAP_BYTES);

  unsigned char *stack = mmap(NULL, STACK_BYTES, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    fprintf(stderr, "clone_newuts: mmap child stack: %s\n", strerror(errno));
    return 1;
  }
  fflush(stdout);
  pid_t pid =
      clone(child_main, stack + STACK_BYTES, CLONE_NEWUTS | SIGCHLD, NULL);
  if (pid < 0) {
    fprintf(stderr, "clone_newuts: clone(CLONE_NEWUTS): %s\n", strerror(errno));
    return 1;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      fprintf(stderr, "clone_newuts: waitpid: %s\n", strerror(errno));
      return 1;
    }
  }
  if (mem[MAP_BYTES - 1] != 0xa5) {
    fprintf(stderr, "clone_newuts: parent memory corrupted\n");
    return 1;
  }
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    fprintf(stderr, "clone_newuts: child killed by signal %d\n",
            WTERMSIG(status));
    return 128 + WTERMSIG(status);
  }
  return 1;
}
