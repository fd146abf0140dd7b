#pragma once
// Rendezvous board for data-parallel attempts: rank 0 publishes a payload (Gloo store address,
// NCCL unique id) under (job, attempt); other ranks wait for it up to their timeout.
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

namespace bertfleet::coordinator {

class Rendezvous {
 public:
  using Done = std::function<void(const grpc::Status&, const std::string& payload)>;

  void Publish(const std::string& job_id, int32_t attempt, const std::string& payload);
  // Calls `done` (outside the lock) once the payload is there, or with DEADLINE_EXCEEDED after
  // `timeout_ms` (capped at 10 minutes).
  void Get(const std::string& job_id, int32_t attempt, int32_t rank, int64_t timeout_ms, Done done);
  // Drops the payloads of every attempt of the job (the attempt ended) and fails waiters.
  void Clear(const std::string& job_id);
  void Tick();  // expires waiters

 private:
  using Key = std::pair<std::string, int32_t>;
  struct Waiter {
    Key key;
    int32_t rank;
    std::chrono::steady_clock::time_point deadline;
    Done done;
  };
  std::mutex mu_;
  std::map<Key, std::string> payloads_;
  std::vector<Waiter> waiters_;
};

}  // namespace bertfleet::coordinator
