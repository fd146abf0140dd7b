#include "worker/engine/train/training_scheduler.h"

#include <cmath>

#include <chrono>
#include <sstream>

#include "common/util/error.h"

namespace bertfleet {

TrainingScheduler::TrainingScheduler(const JobSpec& spec, TrainingSession& session,
                                     const Evaluator* evaluator, CheckpointManager* checkpoints,
                                     std::function<void(const std::string&)> log)
    : spec_(spec), session_(session), evaluator_(evaluator), checkpoints_(checkpoints), log_(std::move(log)) {}

EvalResult TrainingScheduler::RunEvaluation(TrainerState& state) {
  EvalResult result = evaluator_->Evaluate(session_.model(), session_.precision(), session_.device());
  last_eval_ = result;
  // The job spec accepts only the metrics the task declares (common/train/task_metrics.h), and
  // the evaluator reports exactly those: a name it lacks is a bug (Value throws), not a reason to
  // compare some other number.
  const double metric = result.Value(spec_.BestMetricName());
  nlohmann::json entry = {{"epoch", state.EpochProgress()},
                          {"step", state.global_step},
                          {"eval_loss", result.loss},
                          {"eval_runtime", result.seconds},
                          {"eval_samples_per_second", result.seconds > 0 ? result.examples / result.seconds : 0.0}};
  for (const auto& [name, value] : result.metrics) entry["eval_" + name] = value;
  state.log_history.push_back(std::move(entry));
  // Hugging Face compares with the best so far when saving; a checkpoint saved right after
  // this evaluation becomes the best one.
  const bool better = !state.has_best_metric ||
                      (spec_.BestMetricGreaterIsBetter() ? metric > state.best_metric : metric < state.best_metric);
  if (better) {
    state.best_metric = metric;
    state.has_best_metric = true;
    pending_best_ = true;
  }
  return result;
}

void TrainingScheduler::SaveCheckpoint(TrainerState& state) {
  if (state.global_step == last_saved_step_) return;
  last_saved_step_ = state.global_step;
  if (!checkpoints_) return;
  const std::string target =
      (checkpoints_->output_dir() / ("checkpoint-" + std::to_string(state.global_step))).string();
  if (pending_best_) {
    state.best_model_checkpoint = target;
    pending_best_ = false;
  }
  const auto start = std::chrono::steady_clock::now();
  const auto path = checkpoints_->Save(session_, state);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (log_) log_("saved checkpoint " + path.string());
  if (checkpoint_listener_) checkpoint_listener_(path, state.global_step, seconds);
}

void TrainingScheduler::OnStepEnd(TrainerState& state, const StepStats& stats) {
  const int64_t step = state.global_step;
  run_loss_sum_ += stats.loss;
  run_examples_ += stats.examples;
  ++run_steps_;
  log_loss_sum_ += stats.loss;
  ++log_steps_;
  if (spec_.logging_steps > 0 && step % spec_.logging_steps == 0) {
    // Hugging Face's logging_steps entry: the mean loss since the last one, rounded as Trainer
    // rounds it, and the rate the next step will use (the scheduler has already stepped).
    state.log_history.push_back({{"loss", std::round(log_loss_sum_ / log_steps_ * 1e4) / 1e4},
                                 {"grad_norm", stats.grad_norm},
                                 {"learning_rate", session_.LearningRate(step)},
                                 {"epoch", state.EpochProgress()},
                                 {"step", step}});
    log_loss_sum_ = 0;
    log_steps_ = 0;
  }
  const int64_t eval_steps = spec_.EffectiveEvalSteps();
  if (evaluator_ && spec_.eval_strategy == "steps" && eval_steps > 0 && step % eval_steps == 0) {
    RunEvaluation(state);
  }
  if (spec_.save_strategy == "steps" && spec_.save_steps > 0 && step % spec_.save_steps == 0) {
    SaveCheckpoint(state);
  }
  if (stop_requested_ && save_on_stop_) SaveCheckpoint(state);
}

void TrainingScheduler::OnEpochEnd(TrainerState& state) {
  EpochSummary& summary = state.epochs.back();
  // The epoch's mean loss (the epoch row), unless a logging_steps entry was made at this very
  // step: one `loss` per step in the history, as TensorBoard and MLflow plot it.
  const bool logged_here = spec_.logging_steps > 0 && state.global_step % spec_.logging_steps == 0;
  if (!logged_here) {
    state.log_history.push_back({{"epoch", state.EpochProgress()},
                                 {"step", state.global_step},
                                 {"loss", summary.train_loss},
                                 {"learning_rate", session_.LearningRate(state.global_step)}});
  }
  if (evaluator_ && spec_.eval_strategy == "epoch") {
    const EvalResult result = RunEvaluation(state);
    summary.evaluated = true;
    summary.eval_loss = result.loss;
    summary.eval_accuracy = result.accuracy;
    summary.eval_f1 = result.f1;
    summary.eval_metrics = result.metrics;
  }
  if (spec_.save_strategy == "epoch" || (stop_requested_ && save_on_stop_)) SaveCheckpoint(state);
}

void TrainingScheduler::OnTrainBegin(TrainerState& state) {
  run_started_ = std::chrono::steady_clock::now();
}

void TrainingScheduler::OnTrainEnd(TrainerState& state) {
  // Trainer's closing entry (train_runtime, ...), over the steps this process ran.
  const double runtime = std::chrono::duration<double>(std::chrono::steady_clock::now() - run_started_).count();
  if (run_steps_ > 0) {
    state.log_history.push_back({{"train_runtime", runtime},
                                 {"train_samples_per_second", runtime > 0 ? run_examples_ / runtime : 0.0},
                                 {"train_steps_per_second", runtime > 0 ? run_steps_ / runtime : 0.0},
                                 {"train_loss", run_loss_sum_ / run_steps_},
                                 {"epoch", state.EpochProgress()},
                                 {"step", state.global_step}});
  }
  if (!spec_.load_best_model_at_end || state.best_model_checkpoint.empty()) return;
  // Every rank loads the same weights from the shared checkpoint directory.
  CheckpointManager::LoadModelWeights(std::filesystem::path(state.best_model_checkpoint) / "model.safetensors",
                                      session_.model());
  if (log_) {
    std::ostringstream message;
    message << "loaded best model from " << state.best_model_checkpoint << " (" << spec_.BestMetricName()
            << " " << state.best_metric << ")";
    log_(message.str());
  }
}

}  // namespace bertfleet
