#pragma once
// The line protocol between the agent and its `run-assignment` child: one JSON object per line
// on the child's stdout, with "event" one of
//   started    {global_step, total_steps}
//   progress   {global_step, total_steps, epoch, loss, samples_per_second, and for the steps
//               since the previous progress event: step_seconds [..], allreduce_seconds [..]
//               (data-parallel only), window_seconds, window_examples, window_real_tokens,
//               window_padded_tokens, window_allreduce_bytes}
//   epoch      {epoch, global_step, train_loss, eval_loss, eval_accuracy, eval_f1,
//               train_samples_per_second, evaluated}
//   checkpoint {global_step, path, save_seconds}
//   finished   {final_metrics: {...epoch keys}, model_dir}
//   stopped    {global_step}          (SIGTERM: stopped at a step boundary)
//   failed     {message}
// and the conversion of those events into bertfleet.v1.WorkerMessage reports.
#include <optional>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

#include "bertfleet/v1/workers.pb.h"

namespace bertfleet {

// Which assignment a child runs: what every report names.
struct AssignmentKey {
  std::string job_id;
  int32_t attempt = 0;
  int32_t rank = 0;
  bool operator<(const AssignmentKey& other) const {
    return std::tie(job_id, attempt, rank) < std::tie(other.job_id, other.attempt, other.rank);
  }
  bool operator==(const AssignmentKey& other) const {
    return job_id == other.job_id && attempt == other.attempt && rank == other.rank;
  }
  std::string Describe() const;  // "job-12 attempt 1 rank 0"
};

v1::EpochMetrics EpochMetricsFromJson(const nlohmann::json& json);

// started / progress / epoch / checkpoint become a report; finished, stopped and failed are
// reported by the agent once the child exited (see FinishedMessage); unknown events: nullopt.
std::optional<v1::WorkerMessage> ReportFromEvent(const AssignmentKey& key, const nlohmann::json& event);

// The log line for a progress or epoch event, Marian-style so that it greps well:
// "epoch 2 step 300/690 loss 0.4100 35.2 samples/s 4120 tokens/s padding 0.180".
std::string EventLogLine(const nlohmann::json& event);

v1::WorkerMessage FinishedMessage(const AssignmentKey& key, bool success, bool cancelled, const std::string& message,
                                  const v1::EpochMetrics* final_metrics, const std::string& model_dir);

}  // namespace bertfleet
