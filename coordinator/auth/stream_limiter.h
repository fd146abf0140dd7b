#pragma once
// Bounds the long-lived streams (WatchJob, Connect) one caller may hold open at once, so that one
// token cannot pin the coordinator's memory and threads. Keyed by the caller's principal name.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace bertfleet::coordinator {

class StreamLimiter {
 public:
  explicit StreamLimiter(int64_t max_per_client) : max_per_client_(max_per_client) {}

  // False when `client` already holds the maximum; otherwise counts one more stream.
  bool TryAcquire(const std::string& client);
  void Release(const std::string& client);
  int64_t max_per_client() const { return max_per_client_; }

 private:
  int64_t max_per_client_;
  std::mutex mu_;
  std::map<std::string, int64_t> open_;
};

}  // namespace bertfleet::coordinator
