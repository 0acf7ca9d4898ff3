/* mem_churn [N]: N rounds (default 200) of mmap/touch/munmap of 1 MiB,
 * malloc/free (small and large), and fork of a child that exits at once,
 * reaped with waitpid. Only memory and processes: no privileged act, so the
 * only capability checks it causes are the memory-overcommit probe (noise).
 * Exits 0 when every round worked. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1u << 20)

int main(int argc, char **argv) {
  long rounds = 200;
  if (argc > 2) {
    fprintf(stderr, "usage: mem_churn [N]\n");
    return 2;
  }
  if (argc == 2) {
    char *end = NULL;
    errno = 0;
    rounds = strtol(argv[1], &end, 10);
    if (errno != 0 || end == argv[1] || *end != '\0' || rounds < 0 ||
        rounds > 1000000) {
      fprintf(stderr, "mem_churn: invalid round count '%s'\n", argv[1]);
      return 2;
    }
  }
  for (long i = 0; i < rounds; i++) {
    unsigned char *m = mmap(NULL, MIB, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
      fprintf(stderr, "mem_churn: round %ld: mmap 1 MiB: %s\n", i,
              strerror(errno));
      return 1;
    }
    memset(m, (int)(i & 0xff), MIB);
    if (munmap(m, MIB) != 0) {
      fprintf(stderr, "mem_churn: round %ld: munmap: %s\n", i, strerror(errno));
      return 1;
    }

    /* A small block (heap, brk) and a large one (mmap threshold). */
    size_t sizes[2] = {4096, 512u << 10};
    for (int k = 0; k < 2; k++) {
      volatile unsigned char *p = malloc(sizes[k]);
      if (p == NULL) {
        fprintf(stderr, "mem_churn: round %ld: malloc %zu: out of memory\n", i,
                sizes[k]);
        return 1;
      }
      memset((void *)p, 0x5a, sizes[k]);
      free((void *)p);
    }

    pid_t pid = fork();
    if (pid < 0) {
      fprintf(stderr, "mem_churn: round %ld: fork: %s\n", i, strerror(errno));
      return 1;
    }
    if (pid == 0)
      _exit(0);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) {
        fprintf(stderr, "mem_churn: round %ld: waitpid: %s\n", i,
                strerror(errno));
        return 1;
      }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "mem_churn: round %ld: child failed (status 0x%x)\n", i,
              status);
      return 1;
    }
  }
  return 0;
}
