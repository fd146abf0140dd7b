#pragma once
// CoordinatorLink over gRPC: a fresh channel per link (no inherited subchannel backoff, so a
// restarted coordinator is found as soon as the agent's own backoff allows) and a reader thread
// per stream, so a slow or unreachable coordinator never blocks the agent's loop.
#include <memory>
#include <string>

#include "client/connection_settings.h"
#include "worker/agent/coordinator_link.h"

namespace bertfleet {

class GrpcCoordinatorConnector final : public CoordinatorConnector {
 public:
  GrpcCoordinatorConnector(std::string address, client::ConnectionSettings connection)
      : address_(std::move(address)), connection_(std::move(connection)) {}
  std::unique_ptr<CoordinatorLink> NewLink() override;

 private:
  std::string address_;
  client::ConnectionSettings connection_;
};

}  // namespace bertfleet
