#pragma once
// How the agent talks to the coordinator, named by intent so that WorkerAgent can be unit-tested
// without a server: a link is one WorkerService.Connect stream. The gRPC implementation is
// grpc_coordinator_link.h; tests use a fake.
#include <functional>
#include <memory>

#include <grpcpp/support/status.h>

#include "bertfleet/v1/workers.pb.h"

namespace bertfleet {

class CoordinatorLink {
 public:
  using MessageCallback = std::function<void(const v1::CoordinatorMessage& message)>;
  using ClosedCallback = std::function<void()>;
  virtual ~CoordinatorLink() = default;

  // Opens the stream and sends `hello` without blocking the caller. Every message the
  // coordinator sends goes to `on_message`, then `on_closed` runs once when the stream ended,
  // on any thread.
  virtual void Open(const v1::WorkerMessage& hello, MessageCallback on_message, ClosedCallback on_closed) = 0;
  // False when the stream is broken.
  virtual bool Write(const v1::WorkerMessage& message) = 0;
  // Ends the stream and returns how it ended. `drain`: half-close first and give the coordinator
  // a few seconds to end it, so it reads every report written before.
  virtual grpc::Status Close(bool drain) = 0;
};

class CoordinatorConnector {
 public:
  virtual ~CoordinatorConnector() = default;
  virtual std::unique_ptr<CoordinatorLink> NewLink() = 0;
};

}  // namespace bertfleet
