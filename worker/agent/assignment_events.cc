#include "worker/agent/assignment_events.h"

#include <cinttypes>
#include <cstdio>

namespace bertfleet {

std::string AssignmentKey::Describe() const {
  return job_id + " attempt " + std::to_string(attempt) + " rank " + std::to_string(rank);
}

std::optional<v1::WorkerMessage> ReportFromEvent(const AssignmentKey& key, const v1::AssignmentEvent& event) {
  v1::WorkerMessage message;
  switch (event.event_case()) {
    case v1::AssignmentEvent::kStarted: {
      auto* started = message.mutable_started();
      started->set_job_id(key.job_id);
      started->set_attempt(key.attempt);
      started->set_rank(key.rank);
      started->set_total_steps(event.started().total_steps());
      break;
    }
    case v1::AssignmentEvent::kProgress: {
      auto* report = message.mutable_progress();
      report->set_job_id(key.job_id);
      report->set_attempt(key.attempt);
      report->set_rank(key.rank);
      *report->mutable_progress() = event.progress().progress();
      break;
    }
    case v1::AssignmentEvent::kEpoch: {
      auto* report = message.mutable_epoch();
      report->set_job_id(key.job_id);
      report->set_attempt(key.attempt);
      *report->mutable_metrics() = event.epoch();
      break;
    }
    case v1::AssignmentEvent::kCheckpoint: {
      auto* report = message.mutable_checkpoint();
      report->set_job_id(key.job_id);
      report->set_attempt(key.attempt);
      report->set_global_step(event.checkpoint().global_step());
      report->set_path(event.checkpoint().path());
      break;
    }
    default:
      return std::nullopt;
  }
  return message;
}

std::string EventLogLine(const v1::AssignmentEvent& event) {
  char line[256];
  if (event.has_epoch()) {
    const v1::EpochMetrics& epoch = event.epoch();
    if (!epoch.evaluated()) {
      std::snprintf(line, sizeof(line), "epoch %" PRId64 " done: train_loss %.4f", epoch.epoch(), epoch.train_loss());
    } else {
      std::snprintf(line, sizeof(line), "epoch %" PRId64 " done: train_loss %.4f eval_loss %.4f", epoch.epoch(),
                    epoch.train_loss(), epoch.eval_loss());
      std::string text = line;
      for (const v1::MetricValue& metric : epoch.eval_metrics()) {
        std::snprintf(line, sizeof(line), " eval_%s %.4f", metric.name().c_str(), metric.value());
        text += line;
      }
      return text;
    }
    return line;
  }
  const v1::TrainingProgress& window = event.progress();
  const v1::StepProgress& progress = window.progress();
  const double seconds = window.window_seconds();
  const double real = static_cast<double>(window.window_real_tokens());
  const double padded = static_cast<double>(window.window_padded_tokens());
  std::snprintf(line, sizeof(line), "epoch %" PRId64 " step %" PRId64 "/%" PRId64 " loss %.4f %.1f samples/s %.0f tokens/s padding %.3f",
                progress.epoch(), progress.global_step(), progress.total_steps(), progress.loss(),
                progress.samples_per_second(), seconds > 0 ? real / seconds : 0.0, padded > 0 ? 1.0 - real / padded : 0.0);
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
