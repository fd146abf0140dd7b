#pragma once
// Riding out a coordinator that is briefly unreachable (a restart, a rolling update): idempotent
// calls are retried on UNAVAILABLE with capped exponential backoff.
#include <chrono>
#include <functional>
#include <string>

#include <grpcpp/support/status.h>

namespace bertfleet::cli {

// 200 ms, 400 ms, ... up to `max`, each with up to 25% jitter.
class Backoff {
 public:
  explicit Backoff(std::chrono::milliseconds max = std::chrono::seconds(5)) : max_(max) {}
  std::chrono::milliseconds Next();
  void Reset() { delay_ = std::chrono::milliseconds(0); }

 private:
  std::chrono::milliseconds max_;
  std::chrono::milliseconds delay_{0};
};

// True for the status of a coordinator that may come back (the process restarting, the network).
bool IsTransient(const grpc::Status& status);

// Runs `call` until it succeeds, fails with a non-transient status, or `attempts` calls were
// made. `call` must make a fresh ClientContext each time.
grpc::Status WithRetries(const std::function<grpc::Status()>& call, int attempts = 5);

// A new random request id for SubmitJobRequest.request_id (32 hex digits).
std::string NewRequestId();

}  // namespace bertfleet::cli
