#pragma once
// `bertfleet health [SERVICE]`: one grpc.health.v1.Health/Check call, for container health checks
// and Kubernetes exec probes (the coordinator serves the standard health service).
#include <memory>
#include <string>

#include <grpcpp/channel.h>

namespace bertfleet::cli {

// Prints the serving status ("SERVING", or {"status":"SERVING"} with `json`) and returns 0 only
// when it is SERVING; 1 for any other status or a failed call (the reason on stderr). An empty
// `service` asks about the server as a whole.
int HealthCommand(const std::shared_ptr<grpc::Channel>& channel, const std::string& service, bool json);

}  // namespace bertfleet::cli
