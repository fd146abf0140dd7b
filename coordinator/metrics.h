#pragma once
// The coordinator's event metrics: what only a moment in time can tell (a job submitted or
// finished, how long it waited in the queue, how long an RPC took). Fed by Fleet's event hook
// (FleetOptions::on_event) and the gRPC interceptor (rpc_metrics.h). The gauges that describe
// the present — jobs by state, workers, per-job results — are computed at scrape time by
// fleet_collector.h. docs/observability.md lists every series.
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <grpcpp/grpcpp.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "bertfleet/v1/jobs.pb.h"

namespace bertfleet::coordinator {

class CoordinatorMetrics {
 public:
  CoordinatorMetrics();

  // Every job event the Fleet emits (called under the Fleet's lock: never calls back).
  void OnJobEvent(const bertfleet::v1::JobEvent& event);
  // A finished RPC. Streams (Connect, WatchJob) are counted, but their lifetime is no latency,
  // so only unary RPCs go into the duration histogram.
  void OnRpcDone(const std::string& method, bool unary, grpc::StatusCode code, double seconds);

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter& submitted_;
  prometheus::Counter& requeued_;
  prometheus::Family<prometheus::Counter>& finished_;
  prometheus::Family<prometheus::Counter>& resizes_;
  prometheus::Histogram& queue_wait_;
  prometheus::Family<prometheus::Histogram>& rpc_duration_;
  prometheus::Family<prometheus::Counter>& rpc_requests_;
  std::mutex mu_;
  std::map<std::string, int64_t> queued_since_ms_;  // job id -> when it (re)entered QUEUED
};

// "queued", "running", ...: JobState as a label value.
std::string JobStateLabel(bertfleet::v1::JobState state);

}  // namespace bertfleet::coordinator
