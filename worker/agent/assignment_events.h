#pragma once
// What the agent makes of its children's events (bertfleet.v1.AssignmentEvent, read by
// worker/protocol/assignment_event_stream.h): the bertfleet.v1.WorkerMessage reports it sends
// the coordinator, and its log lines.
#include <optional>
#include <string>
#include <tuple>

#include "bertfleet/v1/assignment_events.pb.h"
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

// started / progress / epoch / checkpoint become a report; finished, stopped and failed are
// reported by the agent once the child exited (see FinishedMessage), rendezvous never: nullopt.
std::optional<v1::WorkerMessage> ReportFromEvent(const AssignmentKey& key, const v1::AssignmentEvent& event);

// The log line for a progress or epoch event, Marian-style so that it greps well:
// "epoch 2 step 300/690 loss 0.4100 35.2 samples/s 4120 tokens/s padding 0.180".
std::string EventLogLine(const v1::AssignmentEvent& event);

v1::WorkerMessage FinishedMessage(const AssignmentKey& key, bool success, bool cancelled, const std::string& message,
                                  const v1::EpochMetrics* final_metrics, const std::string& model_dir);

}  // namespace bertfleet
