#pragma once
// Feeds the `report_to` trackers (worker/engine/tracking) on rank 0, the way Hugging Face's
// TensorBoardCallback and MLflowCallback follow Trainer's on_log: every entry the scheduler adds
// to state.log_history (logging_steps, evaluations, the closing train_runtime entry) goes to
// every tracker once, and the run's parameters before the first step.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "worker/engine/tracking/run_tracker.h"
#include "worker/engine/train/trainer.h"

namespace bertfleet {

class TrackingReporter : public TrainingObserver {
 public:
  // `params`: the job spec and the model config (config keys first, spec keys win, as
  // MLflowCallback combines them).
  TrackingReporter(std::vector<std::unique_ptr<RunTracker>> trackers, const nlohmann::json& spec,
                   const nlohmann::json& model_config);

  void OnTrainBegin(TrainerState& state) override;
  void OnStepEnd(TrainerState& state, const StepStats& stats) override { Forward(state); }
  void OnEpochEnd(TrainerState& state) override { Forward(state); }
  void OnTrainEnd(TrainerState& state) override { Forward(state); }

  // After the final model is written (or the run failed): the model directory to upload.
  void Finish(const std::filesystem::path& model_dir, RunOutcome outcome);

  // A log_history entry as a tracker sees it: its numbers, `step` taken out.
  static TrackedLog ToTrackedLog(const nlohmann::json& entry);
  static std::vector<std::pair<std::string, std::string>> FlattenParams(const nlohmann::json& spec,
                                                                        const nlohmann::json& model_config);

 private:
  void Forward(const TrainerState& state);

  std::vector<std::unique_ptr<RunTracker>> trackers_;
  std::vector<std::pair<std::string, std::string>> params_;
  size_t forwarded_ = 0;
  bool finished_ = false;
};

}  // namespace bertfleet
