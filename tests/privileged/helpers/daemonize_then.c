/* daemonize_then CMD [ARGS...]: the classic double fork. The original
 * process forks and exits 0 at once; its child calls setsid() and forks
 * again, then exits; the grandchild sleeps 300 ms (by then the original
 * process and its child are gone) and execvp()s CMD. A tracer that stops when
 * its first process exits misses everything CMD does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: daemonize_then CMD [ARGS...]\n");
    return 2;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "daemonize_then: fork: %s\n", strerror(errno));
    return 1;
  }
  if (pid > 0)
    return 0; /* original parent: exit at once */

  if (setsid() < 0) {
    fprintf(stderr, "daemonize_then: setsid: %s\n", strerror(errno));
    _exit(1);
  }
  pid = fork();
  if (pid < 0) {
    fprintf(stderr, "daemonize_then: second fork: %s\n", strerror(errno));
    _exit(1);
  }
  if (pid > 0)
    _exit(0); /* session leader: exit, the grandchild is orphaned */

  struct timespec ts = {0, 300L * 1000 * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  execvp(argv[1], argv + 1);
  int err = errno;
  fprintf(stderr, "daemonize_then: exec %s: %s\n", argv[1], strerror(err));
  _exit(err == ENOENT ? 127 : 126);
}
