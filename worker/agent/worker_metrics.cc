#include "worker/agent/worker_metrics.h"

#include <unistd.h>

#include <fstream>

#include <prometheus/text_serializer.h>

namespace bertfleet {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

// From a tiny test model's few milliseconds to a BERT-large step on CPU.
const Histogram::BucketBoundaries kStepBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
const Histogram::BucketBoundaries kAllReduceBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                       0.1,    0.25,  0.5,    1,     2.5,   5,     10};
const Histogram::BucketBoundaries kCheckpointBuckets = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};

// Resident set size of a process from /proc (0 once it is gone).
double ResidentBytes(const std::string& pid) {
  std::ifstream statm("/proc/" + pid + "/statm");
  long long pages_total = 0, pages_resident = 0;
  if (!(statm >> pages_total >> pages_resident)) return 0;
  return static_cast<double>(pages_resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

WorkerMetrics::WorkerMetrics(const std::string& device, const std::string& version)
    : registry_(std::make_shared<prometheus::Registry>()),
      device_(device),
      version_(version),
      worker_info_(BuildGauge()
                       .Name("bertfleet_worker_info")
                       .Help("Always 1; labels name the worker (as registered), its device and version")
                       .Register(*registry_)),
      assignment_info_(BuildGauge()
                           .Name("bertfleet_worker_assignment_info")
                           .Help("1 while this worker trains the labelled job attempt as the labelled rank")
                           .Register(*registry_)),
      assignments_(BuildCounter()
                       .Name("bertfleet_worker_assignments_total")
                       .Help("Assignments this worker finished, by outcome (succeeded, failed, cancelled)")
                       .Register(*registry_)),
      step_seconds_(BuildHistogram()
                        .Name("bertfleet_worker_step_seconds")
                        .Help("Wall time of one optimizer step on this worker (forward, backward, all-reduce, update)")
                        .Register(*registry_)
                        .Add({}, kStepBuckets)),
      allreduce_seconds_(BuildHistogram()
                             .Name("bertfleet_worker_allreduce_seconds")
                             .Help("Part of a step spent in the gradient all-reduce (data-parallel jobs only)")
                             .Register(*registry_)
                             .Add({}, kAllReduceBuckets)),
      allreduce_bytes_(BuildCounter()
                           .Name("bertfleet_worker_allreduce_bytes_total")
                           .Help("Bytes this worker passed into gradient all-reduces")
                           .Register(*registry_)
                           .Add({})),
      steps_(BuildCounter()
                 .Name("bertfleet_worker_steps_total")
                 .Help("Optimizer steps this worker took part in")
                 .Register(*registry_)
                 .Add({})),
      samples_(BuildCounter()
                   .Name("bertfleet_worker_train_samples_total")
                   .Help("Training examples of the steps this worker took part in (the whole global batch)")
                   .Register(*registry_)
                   .Add({})),
      tokens_(BuildCounter()
                  .Name("bertfleet_worker_train_tokens_total")
                  .Help("Real (non-padding) training tokens this worker processed")
                  .Register(*registry_)
                  .Add({})),
      samples_per_second_(BuildGauge()
                              .Name("bertfleet_worker_train_samples_per_second")
                              .Help("Training examples per second over the last progress report's steps")
                              .Register(*registry_)
                              .Add({})),
      tokens_per_second_(BuildGauge()
                             .Name("bertfleet_worker_train_tokens_per_second")
                             .Help("Real training tokens per second on this worker over the last progress report")
                             .Register(*registry_)
                             .Add({})),
      padding_ratio_(BuildGauge()
                         .Name("bertfleet_worker_padding_ratio")
                         .Help("Share of this worker's batch tokens that were padding in the last progress report")
                         .Register(*registry_)
                         .Add({})),
      checkpoint_seconds_(BuildHistogram()
                              .Name("bertfleet_worker_checkpoint_save_seconds")
                              .Help("Time to write one checkpoint (rank 0 writes them)")
                              .Register(*registry_)
                              .Add({}, kCheckpointBuckets)),
      memory_(BuildGauge()
                  .Name("bertfleet_worker_resident_memory_bytes")
                  .Help("Resident memory of the agent process and of its training processes (process label)")
                  .Register(*registry_)) {
  worker_info_series_ = &worker_info_.Add({{"worker", ""}, {"device", device_}, {"version", version_}});
  worker_info_series_->Set(1);
  for (const char* outcome : {"succeeded", "failed", "cancelled"}) assignments_.Add({{"outcome", outcome}});
}

void WorkerMetrics::SetWorkerId(const std::string& worker_id) {
  std::lock_guard<std::mutex> lock(mu_);
  worker_info_.Remove(worker_info_series_);
  worker_info_series_ = &worker_info_.Add({{"worker", worker_id}, {"device", device_}, {"version", version_}});
  worker_info_series_->Set(1);
}

void WorkerMetrics::OnAssignmentStarted(const AssignmentKey& key, int world_size, pid_t pid) {
  std::lock_guard<std::mutex> lock(mu_);
  Running& run = running_[key];
  run.pid = pid;
  if (!run.info) {
    run.info = &assignment_info_.Add({{"job", key.job_id},
                                      {"attempt", std::to_string(key.attempt)},
                                      {"rank", std::to_string(key.rank)},
                                      {"world_size", std::to_string(world_size)}});
  }
  run.info->Set(1);
}

void WorkerMetrics::OnChildEvent(const AssignmentKey& key, const v1::AssignmentEvent& event) {
  if (event.has_checkpoint()) {
    checkpoint_seconds_.Observe(event.checkpoint().save_seconds());
    return;
  }
  if (!event.has_progress()) return;
  const v1::TrainingProgress& window = event.progress();
  if (window.step_seconds().empty()) return;
  for (const double seconds : window.step_seconds()) step_seconds_.Observe(seconds);
  for (const double seconds : window.allreduce_seconds()) allreduce_seconds_.Observe(seconds);
  steps_.Increment(static_cast<double>(window.step_seconds_size()));
  const double examples = static_cast<double>(window.window_examples());
  const double real_tokens = static_cast<double>(window.window_real_tokens());
  const double padded_tokens = static_cast<double>(window.window_padded_tokens());
  samples_.Increment(examples);
  tokens_.Increment(real_tokens);
  allreduce_bytes_.Increment(static_cast<double>(window.window_allreduce_bytes()));
  if (window.window_seconds() > 0) {
    samples_per_second_.Set(examples / window.window_seconds());
    tokens_per_second_.Set(real_tokens / window.window_seconds());
  }
  if (padded_tokens > 0) padding_ratio_.Set(1.0 - real_tokens / padded_tokens);
}

void WorkerMetrics::OnAssignmentEnded(const AssignmentKey& key, const std::string& outcome) {
  assignments_.Add({{"outcome", outcome}}).Increment();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = running_.find(key);
  if (it == running_.end()) return;
  if (it->second.info) assignment_info_.Remove(it->second.info);
  running_.erase(it);
}

std::string WorkerMetrics::Render() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    memory_.Add({{"process", "agent"}}).Set(ResidentBytes("self"));
    double training = 0;
    for (const auto& [key, run] : running_) {
      if (run.pid > 0) training += ResidentBytes(std::to_string(run.pid));
    }
    memory_.Add({{"process", "training"}}).Set(training);
  }
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace bertfleet
