#include "coordinator/rendezvous.h"

#include <algorithm>

namespace bertfleet::coordinator {

void Rendezvous::Publish(const std::string& job_id, int32_t attempt, const std::string& payload) {
  std::vector<Done> ready;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Key key{job_id, attempt};
    payloads_[key] = payload;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->key == key) {
        ready.push_back(std::move(it->done));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (Done& done : ready) done(grpc::Status::OK, payload);
}

void Rendezvous::Get(const std::string& job_id, int32_t attempt, int32_t rank, int64_t timeout_ms,
                     Done done) {
  std::string payload;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = payloads_.find({job_id, attempt});
    if (it == payloads_.end()) {
      timeout_ms = std::clamp<int64_t>(timeout_ms, 0, 600000);
      waiters_.push_back({{job_id, attempt}, rank,
                          std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms),
                          std::move(done)});
      return;
    }
    payload = it->second;
  }
  done(grpc::Status::OK, payload);
}

void Rendezvous::Clear(const std::string& job_id) {
  std::vector<Done> failed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = payloads_.begin(); it != payloads_.end();) {
      it = it->first.first == job_id ? payloads_.erase(it) : std::next(it);
    }
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->key.first == job_id) {
        failed.push_back(std::move(it->done));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (Done& done : failed) {
    done(grpc::Status(grpc::StatusCode::ABORTED, "job " + job_id + ": the attempt ended"), "");
  }
}

void Rendezvous::Tick() {
  std::vector<std::pair<Done, std::string>> expired;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto now = std::chrono::steady_clock::now();
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->deadline <= now) {
        expired.emplace_back(std::move(it->done),
                             "job " + it->key.first + " attempt " + std::to_string(it->key.second) +
                                 ": rank 0 has not published its rendezvous (rank " +
                                 std::to_string(it->rank) + " gave up waiting)");
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& [done, message] : expired) {
    done(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, message), "");
  }
}

}  // namespace bertfleet::coordinator
