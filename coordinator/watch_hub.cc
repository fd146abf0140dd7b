#include "coordinator/watch_hub.h"

namespace bertfleet::coordinator {

void WatchHub::Subscribe(const std::string& job_id, WatchSink* sink) {
  std::lock_guard<std::mutex> lock(mu_);
  sinks_.emplace(job_id, sink);
}

void WatchHub::Unsubscribe(WatchSink* sink) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = sinks_.begin(); it != sinks_.end();) {
    it = it->second == sink ? sinks_.erase(it) : std::next(it);
  }
}

void WatchHub::Publish(const bertfleet::v1::JobEvent& event) {
  std::lock_guard<std::mutex> lock(mu_);
  auto range = sinks_.equal_range(event.job_id());
  for (auto it = range.first; it != range.second; ++it) it->second->Push(event);
}

size_t WatchHub::SubscriberCount(const std::string& job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return sinks_.count(job_id);
}

}  // namespace bertfleet::coordinator
