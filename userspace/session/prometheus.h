// prometheus.h - instant queries against Prometheus' HTTP API
// (GET /api/v1/query), for `capscope advise --prometheus`.
#pragma once

#include <string>
#include <vector>

#include "core/cluster.h"
#include "core/result.h"

namespace capscope {

// Runs `promql` at Prometheus `url` ("http://HOST:PORT" with an optional
// path prefix). Errors are one line: a bad URL, Prometheus unreachable, a
// non-200 answer (with Prometheus' own message when it gave one), an
// answer that is not JSON or not an instant vector.
Result<std::vector<PromSample>> prometheus_query(const std::string &url,
                                                 const std::string &promql,
                                                 int timeout_s = 10);

} // namespace capscope
