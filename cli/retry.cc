#include "cli/retry.h"

#include <algorithm>
#include <random>
#include <thread>

namespace bertfleet::cli {

std::chrono::milliseconds Backoff::Next() {
  delay_ = delay_.count() == 0 ? std::chrono::milliseconds(200) : std::min(max_, delay_ * 2);
  static thread_local std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int64_t> jitter(0, delay_.count() / 4);
  return delay_ + std::chrono::milliseconds(jitter(random));
}

bool IsTransient(const grpc::Status& status) { return status.error_code() == grpc::StatusCode::UNAVAILABLE; }

grpc::Status WithRetries(const std::function<grpc::Status()>& call, int attempts) {
  Backoff backoff;
  grpc::Status status;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    status = call();
    if (!IsTransient(status)) return status;
    if (attempt < attempts) std::this_thread::sleep_for(backoff.Next());
  }
  return status;
}

std::string NewRequestId() {
  std::random_device device;
  static const char* kHex = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 8; ++i) {
    const uint32_t bits = device();
    for (int shift = 0; shift < 16; shift += 4) id += kHex[(bits >> shift) & 15];
  }
  return id;
}

}  // namespace bertfleet::cli
