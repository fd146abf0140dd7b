#include "coordinator/metrics.h"

#include <algorithm>
#include <cctype>

#include "common/util/grpc_status_name.h"
#include "coordinator/time_util.h"

namespace bertfleet::coordinator {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildHistogram;
using prometheus::Histogram;

// Queue waits range from an instant (idle workers) to hours (a busy fleet).
const Histogram::BucketBoundaries kQueueWaitBuckets = {0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 21600};
// Unary RPCs answer from memory or one SQLite write: sub-millisecond to a few hundred ms.
const Histogram::BucketBoundaries kRpcBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                 0.1,    0.25,  0.5,    1,     2.5,  5};

}  // namespace

std::string JobStateLabel(bertfleet::v1::JobState state) {
  std::string name = bertfleet::v1::JobState_Name(state);
  if (name.rfind("JOB_STATE_", 0) == 0) name = name.substr(10);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return name;
}

CoordinatorMetrics::CoordinatorMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      submitted_(BuildCounter()
                     .Name("bertfleet_jobs_submitted_total")
                     .Help("Jobs accepted by SubmitJob")
                     .Register(*registry_)
                     .Add({})),
      requeued_(BuildCounter()
                    .Name("bertfleet_jobs_requeued_total")
                    .Help("Started jobs queued again (their attempt was abandoned after a coordinator restart)")
                    .Register(*registry_)
                    .Add({})),
      finished_(BuildCounter()
                    .Name("bertfleet_jobs_finished_total")
                    .Help("Jobs that reached a final state, by outcome (succeeded, failed, cancelled)")
                    .Register(*registry_)),
      resizes_(BuildCounter()
                   .Name("bertfleet_job_resizes_total")
                   .Help("Attempts of elastic jobs that started on another number of workers than the previous "
                         "attempt (direction shrink or grow)")
                   .Register(*registry_)),
      queue_wait_(BuildHistogram()
                      .Name("bertfleet_job_queue_wait_seconds")
                      .Help("Time from entering QUEUED to being scheduled on a gang of workers")
                      .Register(*registry_)
                      .Add({}, kQueueWaitBuckets)),
      rpc_duration_(BuildHistogram()
                        .Name("bertfleet_rpc_duration_seconds")
                        .Help("Latency of unary gRPC calls served by the coordinator, by method")
                        .Register(*registry_)),
      rpc_requests_(BuildCounter()
                        .Name("bertfleet_rpc_requests_total")
                        .Help("gRPC calls (unary and streams) finished by the coordinator, by method and status code")
                        .Register(*registry_)) {
  for (auto outcome : {v1::JOB_STATE_SUCCEEDED, v1::JOB_STATE_FAILED, v1::JOB_STATE_CANCELLED}) {
    finished_.Add({{"outcome", JobStateLabel(outcome)}});  // zeros, so increase() sees the first one
  }
  for (const char* direction : {"shrink", "grow"}) resizes_.Add({{"direction", direction}});
}

void CoordinatorMetrics::OnJobEvent(const v1::JobEvent& event) {
  if (event.event_case() == v1::JobEvent::kResize) {
    const bool grew = event.resize().to_world_size() > event.resize().from_world_size() && event.resize().from_world_size() > 0;
    resizes_.Add({{"direction", grew ? "grow" : "shrink"}}).Increment();
    return;
  }
  if (event.event_case() != v1::JobEvent::kState) return;
  const std::string& job_id = event.job_id();
  const int64_t time_ms = TimestampMs(event.time());
  std::lock_guard<std::mutex> lock(mu_);
  switch (event.state()) {
    case v1::JOB_STATE_QUEUED:
      // attempt 0: a new submission; later attempts come back after a restart.
      (event.job().attempt() == 0 ? submitted_ : requeued_).Increment();
      queued_since_ms_[job_id] = time_ms;
      break;
    case v1::JOB_STATE_SCHEDULED: {
      auto it = queued_since_ms_.find(job_id);
      if (it == queued_since_ms_.end()) break;  // queued before this coordinator started
      queue_wait_.Observe(std::max<int64_t>(0, time_ms - it->second) / 1000.0);
      queued_since_ms_.erase(it);
      break;
    }
    case v1::JOB_STATE_SUCCEEDED:
    case v1::JOB_STATE_FAILED:
    case v1::JOB_STATE_CANCELLED:
      finished_.Add({{"outcome", JobStateLabel(event.state())}}).Increment();
      queued_since_ms_.erase(job_id);
      break;
    default:
      break;
  }
}

void CoordinatorMetrics::OnRpcDone(const std::string& method, bool unary, grpc::StatusCode code, double seconds) {
  rpc_requests_.Add({{"method", method}, {"code", GrpcStatusName(static_cast<int>(code))}}).Increment();
  if (unary) rpc_duration_.Add({{"method", method}}, kRpcBuckets).Observe(seconds);
}

}  // namespace bertfleet::coordinator
