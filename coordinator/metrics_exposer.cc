#include "coordinator/metrics_exposer.h"

#include "common/util/error.h"

namespace bertfleet::coordinator {

MetricsEndpoint StartMetricsEndpoint(const std::string& listen,
                                     const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables) {
  MetricsEndpoint endpoint;
  try {
    endpoint.exposer = std::make_unique<prometheus::Exposer>(listen, /*num_threads=*/2);
  } catch (const std::exception& e) {
    throw Error("--metrics-listen: cannot listen on " + listen + ": " + e.what());
  }
  endpoint.collectables = collectables;
  for (const auto& collectable : collectables) endpoint.exposer->RegisterCollectable(collectable);
  const std::vector<int> ports = endpoint.exposer->GetListeningPorts();
  const auto colon = listen.rfind(':');
  const std::string host = colon == std::string::npos ? "0.0.0.0" : listen.substr(0, colon);
  endpoint.address = host + ":" + (ports.empty() ? std::string("?") : std::to_string(ports.front()));
  return endpoint;
}

}  // namespace bertfleet::coordinator
