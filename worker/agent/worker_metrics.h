#pragma once
// The worker's Prometheus metrics (docs/observability.md lists them all). The agent owns them;
// the numbers come from its `run-assignment` children's AssignmentEvents (assignment_events.proto): each
// `progress` event carries the step times, all-reduce times and token counts of the steps since
// the previous one, so every step lands in the histograms although the child is another process.
#include <sys/types.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "bertfleet/v1/assignment_events.pb.h"
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "worker/agent/assignment_events.h"

namespace bertfleet {

class WorkerMetrics {
 public:
  WorkerMetrics(const std::string& device, const std::string& version);

  // Once the coordinator named this worker (bertfleet_worker_info's `worker` label).
  void SetWorkerId(const std::string& worker_id);
  void OnAssignmentStarted(const AssignmentKey& key, int world_size, pid_t pid);
  void OnChildEvent(const AssignmentKey& key, const v1::AssignmentEvent& event);
  // outcome: succeeded | failed | cancelled.
  void OnAssignmentEnded(const AssignmentKey& key, const std::string& outcome);

  // The exposition (Prometheus text format), with the memory gauges read now. Thread-safe.
  std::string Render();

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::string device_, version_;
  prometheus::Family<prometheus::Gauge>& worker_info_;
  prometheus::Gauge* worker_info_series_ = nullptr;
  prometheus::Family<prometheus::Gauge>& assignment_info_;
  prometheus::Family<prometheus::Counter>& assignments_;
  prometheus::Histogram& step_seconds_;
  prometheus::Histogram& allreduce_seconds_;
  prometheus::Counter& allreduce_bytes_;
  prometheus::Counter& steps_;
  prometheus::Counter& samples_;
  prometheus::Counter& tokens_;
  prometheus::Gauge& samples_per_second_;
  prometheus::Gauge& tokens_per_second_;
  prometheus::Gauge& padding_ratio_;
  prometheus::Histogram& checkpoint_seconds_;
  prometheus::Family<prometheus::Gauge>& memory_;

  std::mutex mu_;  // the running children (Render runs on the HTTP server's thread)
  struct Running {
    prometheus::Gauge* info = nullptr;
    pid_t pid = -1;
  };
  std::map<AssignmentKey, Running> running_;
};

}  // namespace bertfleet
