#include "coordinator/auth/stream_limiter.h"

namespace bertfleet::coordinator {

bool StreamLimiter::TryAcquire(const std::string& client) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t& open = open_[client];
  if (open >= max_per_client_) return false;
  ++open;
  return true;
}

void StreamLimiter::Release(const std::string& client) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = open_.find(client);
  if (it == open_.end()) return;
  if (--it->second <= 0) open_.erase(it);
}

}  // namespace bertfleet::coordinator
