/* nice_neg: setpriority(PRIO_PROCESS, 0, -5), which needs CAP_SYS_NICE,
 * check that getpriority() now returns -5, print it. Exit 0 on success,
 * 1 with a message on stderr otherwise. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

int main(void) {
  if (setpriority(PRIO_PROCESS, 0, -5) != 0) {
    fprintf(stderr, "nice_neg: setpriority(PRIO_PROCESS, 0, -5): %s\n",
            strerror(errno));
    return 1;
  }
  errno = 0;
  int prio = getpriority(PRIO_PROCESS, 0);
  if (prio == -1 && errno != 0) {
    fprintf(stderr, "nice_neg: getpriority: %s\n", strerror(errno));
    return 1;
  }
  if (prio != -5) {
    fprintf(stderr, "nice_neg: priority is %d after setpriority, expected -5\n",
            prio);
    return 1;
  }
  printf("nice %d\n", prio);
  return 0;
}
