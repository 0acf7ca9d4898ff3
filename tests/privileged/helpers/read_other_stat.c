/* read_other_stat PID: reads /proc/PID/stat of a process owned by another
 * user and prints "pid PID uid UID state S". As root this makes the kernel
 * ask for CAP_SYS_PTRACE with PTRACE_MODE_NOAUDIT (do_task_stat ->
 * ptrace_may_access): an advisory check, the read works without it (the
 * kernel then only withholds a few fields). Exits 0 when the read worked,
 * 1 when it did not, 2 on bad usage or when PID is our own user's.
 *
 * read_other_stat --hold SECS: the process to read: becomes uid and gid
 * 65534 with no supplementary groups, prints "held PID" and sleeps SECS
 * (start it outside the traced workload: dropping to 65534 needs SETUID and
 * SETGID, which are not the reader's). */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static long number(const char *s, long max) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v <= 0 || v > max)
    return -1;
  return v;
}

static int hold(const char *secs) {
  long s = number(secs, 86400);
  if (s < 0) {
    fprintf(stderr, "read_other_stat: invalid seconds '%s'\n", secs);
    return 2;
  }
  if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0) {
    fprintf(stderr, "read_other_stat: cannot become uid 65534: %s\n",
            strerror(errno));
    return 1;
  }
  printf("held %d\n", (int)getpid());
  fflush(stdout);
  sleep((unsigned)s);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--hold") == 0)
    return hold(argv[2]);
  if (argc != 2) {
    fprintf(stderr, "usage: read_other_stat PID | --hold SECS\n");
    return 2;
  }
  long pid = number(argv[1], 1L << 22);
  if (pid < 0) {
    fprintf(stderr, "read_other_stat: invalid pid '%s'\n", argv[1]);
    return 2;
  }
  char path[64], buf[1024];
  struct stat st;
  snprintf(path, sizeof path, "/proc/%ld", pid);
  if (stat(path, &st) != 0) {
    fprintf(stderr, "read_other_stat: %s: %s\n", path, strerror(errno));
    return 1;
  }
  if (st.st_uid == geteuid()) {
    fprintf(stderr, "read_other_stat: pid %ld is our own user's (uid %u)\n",
            pid, (unsigned)st.st_uid);
    return 2;
  }
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "read_other_stat: open %s: %s\n", path, strerror(errno));
    return 1;
  }
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  int err = ferror(f) ? errno : 0;
  fclose(f);
  buf[n] = '\0';
  /* "PID (comm) S ...": the state follows the last ')'. */
  char *p = strrchr(buf, ')');
  if (err || !p || p[1] != ' ' || !p[2]) {
    fprintf(stderr, "read_other_stat: cannot read %s: %s\n", path,
            err ? strerror(err) : "unexpected contents");
    return 1;
  }
  printf("pid %ld uid %u state %c\n", pid, (unsigned)st.st_uid, p[2]);
  return 0;
}
