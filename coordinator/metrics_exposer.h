#pragma once
// The coordinator's /metrics endpoint: prometheus-cpp's pull Exposer (civetweb). The
// coordinator does not link LibTorch, so the Exposer's small thread stacks are no problem here
// (the worker serves its own endpoint: worker/agent/metrics_http_server.h).
#include <memory>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

namespace bertfleet::coordinator {

struct MetricsEndpoint {
  std::unique_ptr<prometheus::Exposer> exposer;
  std::string address;  // host:port actually bound (port 0 in `listen` picks a free one)
  // The Exposer holds only weak pointers: the endpoint keeps what it serves alive.
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables;
};

// Serves `collectables` on http://listen/metrics. Throws Error naming --metrics-listen when it
// cannot listen.
MetricsEndpoint StartMetricsEndpoint(const std::string& listen,
                                     const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables);

}  // namespace bertfleet::coordinator
