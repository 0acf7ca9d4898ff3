/* bind_port PORT [HOLD_MS]: bind and listen on 0.0.0.0:PORT (TCP), print
 * "bound PORT", hold the socket HOLD_MS milliseconds (default 0), exit 0.
 * Binding a port below 1024 needs CAP_NET_BIND_SERVICE. Exits 1 with a
 * message on stderr when anything fails, so a test can assert the effect. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long parse_num(const char *s, const char *what, long min, long max) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
    fprintf(stderr, "bind_port: invalid %s '%s' (expected %ld..%ld)\n", what, s,
            min, max);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: bind_port PORT [HOLD_MS]\n");
    return 2;
  }
  long port = parse_num(argv[1], "port", 1, 65535);
  long hold_ms =
      argc == 3 ? parse_num(argv[2], "hold time", 0, 3600L * 1000) : 0;

  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fprintf(stderr, "bind_port: socket: %s\n", strerror(errno));
    return 1;
  }
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    fprintf(stderr, "bind_port: setsockopt(SO_REUSEADDR): %s\n",
            strerror(errno));
    return 1;
  }
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    fprintf(stderr, "bind_port: bind 0.0.0.0:%ld: %s\n", port, strerror(errno));
    return 1;
  }
  if (listen(fd, 16) != 0) {
    fprintf(stderr, "bind_port: listen on port %ld: %s\n", port,
            strerror(errno));
    return 1;
  }
  printf("bound %ld\n", port);
  fflush(stdout);

  if (hold_ms > 0) {
    struct timespec ts = {hold_ms / 1000, (hold_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
  close(fd);
  return 0;
}
