#pragma once
// The training child's side of the event stream (worker/protocol/assignment_event_stream.h): a
// TrainingObserver that turns the run into bertfleet.v1.AssignmentEvent frames for the agent.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "bertfleet/v1/assignment_events.pb.h"
#include "worker/engine/train/trainer.h"
#include "worker/engine/train/trainer_state.h"
#include "worker/protocol/assignment_event_stream.h"

namespace bertfleet {

// The epoch numbers the agent reports to the coordinator.
v1::EpochMetrics EpochMetricsOf(const EpochSummary& summary);

class AssignmentEventReporter : public TrainingObserver {
 public:
  // Only rank 0 reports epochs (their metrics are the same on every rank) and checkpoints.
  // Progress goes out every `progress_steps` optimizer steps and at least every 2 s.
  AssignmentEventReporter(AssignmentEventWriter& writer, int64_t progress_steps, bool rank_zero)
      : writer_(writer), progress_steps_(progress_steps), rank_zero_(rank_zero) {}

  void OnTrainBegin(TrainerState& state) override;
  void OnStepEnd(TrainerState& state, const StepStats& stats) override;
  void OnEpochEnd(TrainerState& state) override;
  // TrainingScheduler's listener: called right after this rank wrote a checkpoint.
  void OnCheckpointSaved(const std::filesystem::path& checkpoint, int64_t global_step, double seconds);

 private:
  AssignmentEventWriter& writer_;
  int64_t progress_steps_;
  bool rank_zero_;
  std::chrono::steady_clock::time_point last_report_;
  double window_loss_ = 0;
  int64_t window_steps_ = 0;
  v1::TrainingProgress window_;  // the steps since the last progress event
};

}  // namespace bertfleet
