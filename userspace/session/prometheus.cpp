// prometheus.cpp - one HTTP/1.1 GET of /api/v1/query through cpp-httplib's
// client (already the daemon's HTTP server), errors made one line.
#include "session/prometheus.h"

#include <cerrno>
#include <httplib.h>
#include <nlohmann/json.hpp>

namespace capscope {

Result<std::vector<PromSample>> prometheus_query(const std::string &url,
                                                 const std::string &promql,
                                                 int timeout_s) {
  if (url.starts_with("https://"))
    return Error{EINVAL, "--prometheus: https is not supported; give an "
                         "http:// URL (e.g. through kubectl port-forward)"};
  if (!url.starts_with("http://") || url.size() <= 7)
    return Error{EINVAL,
                 "--prometheus wants http://HOST:PORT, got '" + url + "'"};
  std::string rest = url.substr(7);
  auto slash = rest.find('/');
  std::string host = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!prefix.empty() && prefix.back() == '/')
    prefix.pop_back();
  if (host.empty())
    return Error{EINVAL,
                 "--prometheus wants http://HOST:PORT, got '" + url + "'"};
  httplib::Client cli("http://" + host);
  cli.set_connection_timeout(timeout_s, 0);
  cli.set_read_timeout(timeout_s, 0);
  httplib::Params params{{"query", promql}};
  auto res = cli.Get(prefix + "/api/v1/query", params, httplib::Headers{});
  if (!res)
    return Error{EHOSTUNREACH, "cannot reach Prometheus at " + url + " (" +
                                   httplib::to_string(res.error()) + ")"};
  if (res->status != 200) {
    std::string why;
    try {
      auto j = nlohmann::json::parse(res->body);
      why = j.value("error", std::string());
    } catch (const std::exception &) {
    }
    return Error{EIO, "Prometheus at " + url + " answered HTTP " +
                          std::to_string(res->status) +
                          (why.empty() ? "" : ": " + why)};
  }
  auto samples = parse_prom_vector(res->body);
  if (!samples)
    return Error{samples.error().err,
                 samples.error().message + " (at " + url + ")"};
  return samples;
}

} // namespace capscope
