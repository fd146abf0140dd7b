#include "worker/cli/assignment_event_reporter.h"

namespace bertfleet {

v1::EpochMetrics EpochMetricsOf(const EpochSummary& summary) {
  v1::EpochMetrics metrics;
  metrics.set_epoch(summary.epoch);
  metrics.set_global_step(summary.global_step);
  metrics.set_train_loss(summary.train_loss);
  metrics.set_eval_loss(summary.eval_loss);
  metrics.set_eval_accuracy(summary.eval_accuracy);
  metrics.set_eval_f1(summary.eval_f1);
  metrics.set_train_samples_per_second(summary.train_samples_per_second);
  metrics.set_evaluated(summary.evaluated);
  for (const auto& [name, value] : summary.eval_metrics) {
    v1::MetricValue* metric = metrics.add_eval_metrics();
    metric->set_name(name);
    metric->set_value(value);
  }
  return metrics;
}

void AssignmentEventReporter::OnTrainBegin(TrainerState& state) {
  v1::AssignmentEvent event;
  event.mutable_started()->set_global_step(state.global_step);
  event.mutable_started()->set_total_steps(state.total_steps);
  writer_.Write(std::move(event));
  last_report_ = std::chrono::steady_clock::now();
}

void AssignmentEventReporter::OnStepEnd(TrainerState& state, const StepStats& stats) {
  window_loss_ += stats.loss;
  window_steps_ += 1;
  window_.add_step_seconds(stats.seconds);
  if (stats.allreduce_bytes > 0) window_.add_allreduce_seconds(stats.allreduce_seconds);
  window_.set_window_seconds(window_.window_seconds() + stats.seconds);
  window_.set_window_examples(window_.window_examples() + stats.examples);
  window_.set_window_real_tokens(window_.window_real_tokens() + stats.real_tokens);
  window_.set_window_padded_tokens(window_.window_padded_tokens() + stats.padded_tokens);
  window_.set_window_allreduce_bytes(window_.window_allreduce_bytes() + stats.allreduce_bytes);
  const auto now = std::chrono::steady_clock::now();
  const bool due = (progress_steps_ > 0 && state.global_step % progress_steps_ == 0) ||
                   now - last_report_ >= std::chrono::seconds(2) || state.global_step == state.total_steps;
  if (!due) return;
  v1::StepProgress* progress = window_.mutable_progress();
  progress->set_global_step(state.global_step);
  progress->set_total_steps(state.total_steps);
  progress->set_epoch(state.epoch_index + 1);
  progress->set_loss(window_loss_ / double(window_steps_));
  progress->set_samples_per_second(
      window_.window_seconds() > 0 ? double(window_.window_examples()) / window_.window_seconds() : 0.0);
  v1::AssignmentEvent event;
  event.mutable_progress()->Swap(&window_);
  writer_.Write(std::move(event));
  window_.Clear();
  window_loss_ = 0;
  window_steps_ = 0;
  last_report_ = now;
}

void AssignmentEventReporter::OnEpochEnd(TrainerState& state) {
  if (!rank_zero_ || state.epochs.empty()) return;
  v1::AssignmentEvent event;
  *event.mutable_epoch() = EpochMetricsOf(state.epochs.back());
  writer_.Write(std::move(event));
}

void AssignmentEventReporter::OnCheckpointSaved(const std::filesystem::path& checkpoint, int64_t global_step,
                                                double seconds) {
  v1::AssignmentEvent event;
  v1::CheckpointWritten* written = event.mutable_checkpoint();
  written->set_global_step(global_step);
  written->set_path(checkpoint.string());
  written->set_save_seconds(seconds);
  writer_.Write(std::move(event));
}

}  // namespace bertfleet
