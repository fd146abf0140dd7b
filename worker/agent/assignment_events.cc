#include "worker/agent/assignment_events.h"

#include <cinttypes>
#include <cstdio>

namespace bertfleet {

std::string AssignmentKey::Describe() const {
  return job_id + " attempt " + std::to_string(attempt) + " rank " + std::to_string(rank);
}

v1::EpochMetrics EpochMetricsFromJson(const nlohmann::json& json) {
  v1::EpochMetrics metrics;
  metrics.set_epoch(json.value("epoch", int64_t{0}));
  metrics.set_global_step(json.value("global_step", int64_t{0}));
  metrics.set_train_loss(json.value("train_loss", 0.0));
  metrics.set_eval_loss(json.value("eval_loss", 0.0));
  metrics.set_eval_accuracy(json.value("eval_accuracy", 0.0));
  metrics.set_eval_f1(json.value("eval_f1", 0.0));
  metrics.set_train_samples_per_second(json.value("train_samples_per_second", 0.0));
  metrics.set_evaluated(json.value("evaluated", false));
  return metrics;
}

std::optional<v1::WorkerMessage> ReportFromEvent(const AssignmentKey& key, const nlohmann::json& event) {
  const std::string kind = event.value("event", "");
  v1::WorkerMessage message;
  if (kind == "started") {
    auto* started = message.mutable_started();
    started->set_job_id(key.job_id);
    started->set_attempt(key.attempt);
    started->set_rank(key.rank);
    started->set_total_steps(event.value("total_steps", int64_t{0}));
  } else if (kind == "progress") {
    auto* report = message.mutable_progress();
    report->set_job_id(key.job_id);
    report->set_attempt(key.attempt);
    report->set_rank(key.rank);
    auto* progress = report->mutable_progress();
    progress->set_global_step(event.value("global_step", int64_t{0}));
    progress->set_total_steps(event.value("total_steps", int64_t{0}));
    progress->set_epoch(event.value("epoch", int64_t{0}));
    progress->set_loss(event.value("loss", 0.0));
    progress->set_samples_per_second(event.value("samples_per_second", 0.0));
  } else if (kind == "epoch") {
    auto* report = message.mutable_epoch();
    report->set_job_id(key.job_id);
    report->set_attempt(key.attempt);
    *report->mutable_metrics() = EpochMetricsFromJson(event);
  } else if (kind == "checkpoint") {
    auto* report = message.mutable_checkpoint();
    report->set_job_id(key.job_id);
    report->set_attempt(key.attempt);
    report->set_global_step(event.value("global_step", int64_t{0}));
    report->set_path(event.value("path", ""));
  } else {
    return std::nullopt;
  }
  return message;
}

std::string EventLogLine(const nlohmann::json& event) {
  char line[256];
  if (event.value("event", "") == "epoch") {
    if (!event.value("evaluated", false)) {
      std::snprintf(line, sizeof(line), "epoch %" PRId64 " done: train_loss %.4f", event.value("epoch", int64_t{0}),
                    event.value("train_loss", 0.0));
    } else {
      std::snprintf(line, sizeof(line), "epoch %" PRId64 " done: train_loss %.4f eval_loss %.4f eval_accuracy %.4f eval_f1 %.4f",
                    event.value("epoch", int64_t{0}), event.value("train_loss", 0.0), event.value("eval_loss", 0.0),
                    event.value("eval_accuracy", 0.0), event.value("eval_f1", 0.0));
    }
    return line;
  }
  const double seconds = event.value("window_seconds", 0.0);
  const double real = event.value("window_real_tokens", 0.0);
  const double padded = event.value("window_padded_tokens", 0.0);
  std::snprintf(line, sizeof(line), "epoch %" PRId64 " step %" PRId64 "/%" PRId64 " loss %.4f %.1f samples/s %.0f tokens/s padding %.3f",
                event.value("epoch", int64_t{0}), event.value("global_step", int64_t{0}),
                event.value("total_steps", int64_t{0}), event.value("loss", 0.0), event.value("samples_per_second", 0.0),
                seconds > 0 ? real / seconds : 0.0, padded > 0 ? 1.0 - real / padded : 0.0);
  return line;
}

v1::WorkerMessage FinishedMessage(const AssignmentKey& key, bool success, bool cancelled, const std::string& text,
                                  const v1::EpochMetrics* final_metrics, const std::string& model_dir) {
  v1::WorkerMessage message;
  auto* finished = message.mutable_finished();
  finished->set_job_id(key.job_id);
  finished->set_attempt(key.attempt);
  finished->set_rank(key.rank);
  finished->set_success(success);
  finished->set_cancelled(cancelled);
  finished->set_message(text);
  if (final_metrics) *finished->mutable_final_metrics() = *final_metrics;
  finished->set_model_dir(model_dir);
  return message;
}

}  // namespace bertfleet
