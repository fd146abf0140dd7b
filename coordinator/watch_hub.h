#pragma once
// Fan-out of live job events to WatchJob streams. The Fleet publishes while holding its own lock,
// so a watcher that subscribes under that lock after reading the stored history sees every event
// exactly once, in order.
#include <map>
#include <mutex>
#include <string>

#include "bertfleet/v1/jobs.pb.h"

namespace bertfleet::coordinator {

class WatchSink {
 public:
  virtual ~WatchSink() = default;
  // Must not block nor call back into the hub or the Fleet.
  virtual void Push(const bertfleet::v1::JobEvent& event) = 0;
};

class WatchHub {
 public:
  void Subscribe(const std::string& job_id, WatchSink* sink);
  // After this returns the hub never touches `sink` again.
  void Unsubscribe(WatchSink* sink);
  void Publish(const bertfleet::v1::JobEvent& event);
  size_t SubscriberCount(const std::string& job_id);

 private:
  std::mutex mu_;
  std::multimap<std::string, WatchSink*> sinks_;
};

}  // namespace bertfleet::coordinator
