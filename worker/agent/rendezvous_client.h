#pragma once
// The worker side of the coordinator's rendezvous board for data-parallel attempts: rank 0's
// agent publishes the address its training process serves the group's store on
// (WorkerService.PublishRendezvous); the other ranks' agents fetch it (GetRendezvous) before
// starting their training processes. Each call runs on its own thread, so the agent's loop never
// blocks on the coordinator; the result comes back through a callback on that thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>

namespace bertfleet {

// One call in flight. Destroying it cancels the call and waits for its thread.
class RendezvousCall {
 public:
  using Done = std::function<void(const grpc::Status& status, const std::string& payload)>;
  ~RendezvousCall();

 private:
  friend class RendezvousClient;
  RendezvousCall() = default;
  grpc::ClientContext context_;
  std::thread thread_;
};

class RendezvousClient {
 public:
  explicit RendezvousClient(std::shared_ptr<grpc::Channel> channel) : channel_(std::move(channel)) {}

  // Both wait for a coordinator that is briefly unreachable (restarting), up to `timeout`.
  std::unique_ptr<RendezvousCall> Publish(const std::string& job_id, int32_t attempt, const std::string& payload,
                                          std::chrono::milliseconds timeout, RendezvousCall::Done done);
  // DEADLINE_EXCEEDED (naming rank 0) when rank 0 has not published within `timeout`.
  std::unique_ptr<RendezvousCall> Get(const std::string& job_id, int32_t attempt, int32_t rank,
                                      std::chrono::milliseconds timeout, RendezvousCall::Done done);

 private:
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace bertfleet
