#pragma once
// Decides, as training goes, when to evaluate, when to save, which checkpoint is best and when
// to stop (signals, cancellation); at the end loads the best model if asked. The trainer itself
// knows none of this.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "common/config/job_spec.h"
#include "worker/engine/checkpoint/checkpoint_manager.h"
#include "worker/engine/train/evaluator.h"
#include "worker/engine/train/trainer.h"

namespace bertfleet {

class TrainingScheduler : public TrainingObserver {
 public:
  // `evaluator` may be null (no validation data); `checkpoints` is null on ranks other than 0,
  // which still evaluate (the evaluation is sharded) but never write.
  TrainingScheduler(const JobSpec& spec, TrainingSession& session, const Evaluator* evaluator,
                    CheckpointManager* checkpoints, std::function<void(const std::string&)> log);

  // Set from a signal handler or another thread: save at the next step boundary, then stop.
  void RequestStop(bool save_checkpoint) {
    save_on_stop_ = save_checkpoint;
    stop_requested_ = true;
  }

  void OnTrainBegin(TrainerState& state) override;
  void OnStepEnd(TrainerState& state, const StepStats& stats) override;
  void OnEpochEnd(TrainerState& state) override;
  void OnTrainEnd(TrainerState& state) override;
  bool StopRequested() const override { return stop_requested_; }
  // The trainer stopped early at a step boundary: save there (no-op off rank 0 or when this step
  // was saved), unless this rank's own stop said not to. A stop agreed among ranks saves even on
  // a rank 0 that was not signalled itself; a signal that came after this step's OnStepEnd saves
  // here rather than not at all.
  void OnStoppedEarly(TrainerState& state) {
    if (!stop_requested_ || save_on_stop_) SaveCheckpoint(state);
  }

  const std::optional<EvalResult>& last_eval() const { return last_eval_; }

  // Called after each checkpoint this rank wrote, with how long writing it took (for metrics).
  using CheckpointListener =
      std::function<void(const std::filesystem::path& checkpoint, int64_t global_step, double seconds)>;
  void SetCheckpointListener(CheckpointListener listener) { checkpoint_listener_ = std::move(listener); }

 private:
  EvalResult RunEvaluation(TrainerState& state);
  void SaveCheckpoint(TrainerState& state);

  const JobSpec& spec_;
  TrainingSession& session_;
  const Evaluator* evaluator_;
  CheckpointManager* checkpoints_;
  std::function<void(const std::string&)> log_;
  CheckpointListener checkpoint_listener_;
  std::optional<EvalResult> last_eval_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> save_on_stop_{false};
  int64_t last_saved_step_ = -1;
  // This process's steps, for the logging_steps entries and the closing entry of log_history.
  std::chrono::steady_clock::time_point run_started_ = std::chrono::steady_clock::now();
  double run_loss_sum_ = 0;
  int64_t run_steps_ = 0;
  int64_t run_examples_ = 0;
  double log_loss_sum_ = 0;
  int64_t log_steps_ = 0;
  bool pending_best_ = false;
};

}  // namespace bertfleet
