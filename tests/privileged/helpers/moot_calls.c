/* moot_calls.c - test helper for the moot class (bpf/cs_moot.h): makes calls
 * at which the kernel asks for a capability first and then, for some of
 * them, falls back to a rule that gives the same outcome without it.
 *
 *   moot_calls setid-same        setgid(getgid()); setuid(getuid())
 *   moot_calls setuid-to UID     setuid(UID) (a real change when UID differs)
 *   moot_calls capset-keep       capset with the current sets (inheritable
 *                                unchanged: moot)
 *   moot_calls capset-grow       drop CAP_NET_RAW from permitted, then
 *                                capset adding it to inheritable (not moot:
 *                                needs CAP_SETPCAP)
 *   moot_calls sysctl-read PATH  open(PATH, O_RDONLY) and read it
 *   moot_calls sysctl-write PATH open(PATH, O_WRONLY) and write back what it
 *                                held (read first, as root reading 0644)
 *
 * Each exits 0 when its calls did what they should (and prints what it
 * read), non-zero with a message otherwise. sysctl-write also exits 3 when
 * the open for writing is refused (EACCES), so tests can tell that apart.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int cap_get(struct __user_cap_data_struct d[2]) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  return (int)syscall(SYS_capget, &h, d);
}

static int cap_set(struct __user_cap_data_struct d[2]) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  return (int)syscall(SYS_capset, &h, d);
}

static int die(const char *what) {
  fprintf(stderr, "moot_calls: %s: %s\n", what, strerror(errno));
  return 1;
}

static int read_file(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n < 0)
    return -1;
  buf[n] = 0;
  return (int)n;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: moot_calls ACT [ARG]\n");
    return 2;
  }
  const char *act = argv[1];
  if (!strcmp(act, "setid-same")) {
    if (setgid(getgid()))
      return die("setgid(getgid())");
    if (setuid(getuid()))
      return die("setuid(getuid())");
    printf("uid %u gid %u\n", (unsigned)getuid(), (unsigned)getgid());
    return 0;
  }
  if (!strcmp(act, "setuid-to") && argc > 2) {
    uid_t to = (uid_t)strtoul(argv[2], NULL, 10);
    if (setuid(to))
      return die("setuid");
    printf("uid %u euid %u\n", (unsigned)getuid(), (unsigned)geteuid());
    return 0;
  }
  if (!strcmp(act, "capset-keep") || !strcmp(act, "capset-grow")) {
    struct __user_cap_data_struct d[2];
    if (cap_get(d))
      return die("capget");
    if (!strcmp(act, "capset-keep")) {
      if (cap_set(d))
        return die("capset (same sets)");
      printf("inheritable %08x%08x\n", d[1].inheritable, d[0].inheritable);
      return 0;
    }
    /* CAP_NET_RAW (13) leaves permitted and effective... */
    d[0].permitted &= ~(1u << CAP_NET_RAW);
    d[0].effective &= ~(1u << CAP_NET_RAW);
    if (cap_set(d))
      return die("capset (drop NET_RAW from permitted)");
    /* ...and comes back in inheritable: beyond old inheritable |
     * permitted, allowed only with CAP_SETPCAP. */
    d[0].inheritable |= 1u << CAP_NET_RAW;
    if (cap_set(d))
      return die("capset (NET_RAW into inheritable)");
    if (cap_get(d))
      return die("capget");
    if (!(d[0].inheritable & (1u << CAP_NET_RAW))) {
      fprintf(stderr, "moot_calls: NET_RAW not inheritable after capset\n");
      return 1;
    }
    printf("inheritable %08x%08x\n", d[1].inheritable, d[0].inheritable);
    return 0;
  }
  if (!strcmp(act, "sysctl-read") && argc > 2) {
    char buf[256];
    if (read_file(argv[2], buf, sizeof buf) < 0)
      return die(argv[2]);
    fputs(buf, stdout);
    return 0;
  }
  if (!strcmp(act, "sysctl-write") && argc > 2) {
    char buf[256];
    int n = read_file(argv[2], buf, sizeof buf);
    if (n < 0)
      return die(argv[2]);
    int fd = open(argv[2], O_WRONLY);
    if (fd < 0) {
      int e = errno;
      die("open for writing");
      return e == EACCES ? 3 : 1;
    }
    if (write(fd, buf, (size_t)n) != n) {
      close(fd);
      return die("write");
    }
    close(fd);
    fputs(buf, stdout);
    return 0;
  }
  fprintf(stderr, "moot_calls: unknown act %s\n", act);
  return 2;
}
