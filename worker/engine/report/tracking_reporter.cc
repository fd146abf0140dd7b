#include "worker/engine/report/tracking_reporter.h"

#include <map>

namespace bertfleet {

TrackingReporter::TrackingReporter(std::vector<std::unique_ptr<RunTracker>> trackers, const nlohmann::json& spec,
                                   const nlohmann::json& model_config)
    : trackers_(std::move(trackers)), params_(FlattenParams(spec, model_config)) {}

std::vector<std::pair<std::string, std::string>> TrackingReporter::FlattenParams(const nlohmann::json& spec,
                                                                                 const nlohmann::json& model_config) {
  std::map<std::string, std::string> combined;
  for (const nlohmann::json* source : {&model_config, &spec}) {
    if (!source->is_object()) continue;
    for (const auto& [key, value] : source->items()) {
      combined[key] = value.is_string() ? value.get<std::string>() : value.dump();
    }
  }
  return {combined.begin(), combined.end()};
}

TrackedLog TrackingReporter::ToTrackedLog(const nlohmann::json& entry) {
  TrackedLog log;
  for (const auto& [key, value] : entry.items()) {
    if (key == "step") {
      log.step = value.get<int64_t>();
    } else if (value.is_number()) {
      log.values.emplace_back(key, value.get<double>());
    }
  }
  return log;
}

void TrackingReporter::OnTrainBegin(TrainerState& state) {
  // A resumed run's history was reported by the run that wrote it.
  forwarded_ = state.log_history.size();
  for (const auto& tracker : trackers_) tracker->LogParams(params_);
}

void TrackingReporter::Forward(const TrainerState& state) {
  for (; forwarded_ < state.log_history.size(); ++forwarded_) {
    const TrackedLog log = ToTrackedLog(state.log_history[forwarded_]);
    for (const auto& tracker : trackers_) tracker->Log(log);
  }
}

void TrackingReporter::Finish(const std::filesystem::path& model_dir, RunOutcome outcome) {
  if (finished_) return;
  finished_ = true;
  for (const auto& tracker : trackers_) tracker->Finish(model_dir, outcome);
}

}  // namespace bertfleet
