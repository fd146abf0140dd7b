#pragma once
// The trackers a job's `report_to` asks for, built on rank 0 before the first step, so that a
// missing tracking URI or an unwritable logging directory fails the job before it trains.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "worker/engine/tracking/run_tracker.h"

namespace bertfleet {

struct TrackingOptions {
  std::vector<std::string> report_to;     // the job spec's (tensorboard, mlflow, all)
  std::filesystem::path output_dir;
  std::string logging_dir;                // the job spec's ("" -> OUTPUT/runs/<date>_<host>)
  std::string run_name;                   // "" -> the output directory's name
  // The coordinator's tracking URI for its jobs; "" -> $MLFLOW_TRACKING_URI.
  std::string mlflow_tracking_uri;
  std::string mlflow_experiment_name;     // "" -> $MLFLOW_EXPERIMENT_NAME, else Default
  std::vector<std::pair<std::string, std::string>> tags;  // MLflow run tags (job id, owner)
  std::function<void(const std::string&)> log;
};

// Throws Error naming the key or variable: `report_to: mlflow needs MLFLOW_TRACKING_URI ...`.
// `all` is tensorboard, plus mlflow where a tracking URI is set. Empty without report_to.
std::vector<std::unique_ptr<RunTracker>> MakeRunTrackers(const TrackingOptions& options);

// Hugging Face's default logging_dir name: runs/<%b%d_%H-%M-%S>_<hostname>.
std::filesystem::path DefaultLoggingDir(const std::filesystem::path& output_dir);

}  // namespace bertfleet
