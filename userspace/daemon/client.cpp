// client.cpp - the CLI side of the daemon socket (the only daemon client).
#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/json_safe.h"
#include "daemon/protocol.h"

namespace capscope {

Result<nlohmann::json> daemon_request(const std::string &socket_path,
                                      const nlohmann::json &request) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return Error{errno, std::string("socket: ") + std::strerror(errno)};
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path)
    return Error{ENAMETOOLONG, "socket path too long: " + socket_path};
  std::strcpy(addr.sun_path, socket_path.c_str());
  if (connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
    int e = errno;
    if (e == ENOENT || e == ECONNREFUSED)
      return Error{e, "no capscope daemon is listening on " + socket_path +
                          " (start one with: sudo capscope daemon" +
                          (socket_path == kDefaultSocket
                               ? std::string()
                               : " --socket " + socket_path) +
                          ")"};
    if (e == EACCES)
      return Error{e, "cannot talk to the daemon at " + socket_path +
                          ": permission denied (the socket is root-only)"};
    return Error{e,
                 "cannot connect to " + socket_path + ": " + std::strerror(e)};
  }
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string line = json_text(request) + "\n";
  if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    return Error{errno, "cannot send to the daemon: " +
                            std::string(std::strerror(errno))};
  shutdown(fd, SHUT_WR);
  std::string reply;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return Error{errno, "no answer from the daemon: " +
                              std::string(std::strerror(errno))};
    if (n == 0)
      break;
    reply.append(buf, n);
  }
  try {
    auto j = nlohmann::json::parse(reply);
    if (!j.value("ok", false))
      return Error{EINVAL, j.value("error", std::string("daemon error"))};
    return j;
  } catch (const nlohmann::json::exception &) {
    return Error{EPROTO, "malformed answer from the daemon"};
  }
}

Result<Profile> daemon_get_profile(const std::string &socket,
                                   const std::string &id_or_name) {
  auto r = daemon_request(socket, {{"op", "get"}, {"id", id_or_name}});
  if (!r)
    return r.error();
  return profile_from_json(r.value()["profile"]);
}

Result<nlohmann::json> daemon_list(const std::string &socket) {
  return daemon_request(socket, {{"op", "list"}});
}

Result<Profile> fetch_daemon_profile(const std::string &id_or_name,
                                     const std::string &socket) {
  auto p = daemon_get_profile(socket, id_or_name);
  if (!p && p.error().err == ENOENT)
    return Error{ENOENT, "no such profile file '" + id_or_name + "', and " +
                             p.error().message};
  return p;
}

} // namespace capscope
