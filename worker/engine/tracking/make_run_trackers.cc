#include "worker/engine/tracking/make_run_trackers.h"

#include <unistd.h>

#include <cstdlib>
#include <ctime>

#include "common/util/error.h"
#include "worker/engine/tracking/mlflow_tracker.h"
#include "worker/engine/tracking/tensorboard_writer.h"

namespace bertfleet {

namespace fs = std::filesystem;

namespace {

std::string EnvOr(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

bool Wants(const TrackingOptions& options, const std::string& name) {
  for (const std::string& chosen : options.report_to) {
    if (chosen == name) return true;
  }
  return false;
}

}  // namespace

fs::path DefaultLoggingDir(const fs::path& output_dir) {
  char stamp[64] = {};
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  std::strftime(stamp, sizeof(stamp), "%b%d_%H-%M-%S", &local);
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return output_dir / "runs" / (std::string(stamp) + "_" + host);
}

std::vector<std::unique_ptr<RunTracker>> MakeRunTrackers(const TrackingOptions& options) {
  std::vector<std::unique_ptr<RunTracker>> trackers;
  const bool all = Wants(options, "all");
  const std::string uri =
      !options.mlflow_tracking_uri.empty() ? options.mlflow_tracking_uri : EnvOr("MLFLOW_TRACKING_URI");

  if (all || Wants(options, "tensorboard")) {
    // A relative logging_dir is inside the output directory (a fleet job's only writable place).
    const fs::path dir = options.logging_dir.empty() ? DefaultLoggingDir(options.output_dir)
                                                     : options.output_dir / fs::path(options.logging_dir);
    trackers.push_back(std::make_unique<TensorBoardWriter>(dir));
    if (options.log) options.log("report_to: tensorboard: events in " + dir.string());
  }
  if (Wants(options, "mlflow") || (all && !uri.empty())) {
    if (uri.empty()) {
      throw Error("report_to: mlflow needs a tracking server: set MLFLOW_TRACKING_URI (http://host:5000), or the "
                  "coordinator's mlflow_tracking_uri for jobs it runs");
    }
    if (!IsHttpTrackingUri(uri)) {
      throw Error("report_to: mlflow: MLFLOW_TRACKING_URI must be an http:// or https:// MLflow server (got " + uri +
                  ")");
    }
    MlflowSettings settings;
    settings.tracking_uri = uri;
    settings.experiment_name =
        !options.mlflow_experiment_name.empty() ? options.mlflow_experiment_name : EnvOr("MLFLOW_EXPERIMENT_NAME");
    settings.experiment_id = EnvOr("MLFLOW_EXPERIMENT_ID");
    settings.run_name = !options.run_name.empty() ? options.run_name : options.output_dir.filename().string();
    settings.tags = options.tags;
    if (const std::string seconds = EnvOr("BERTFLEET_MLFLOW_FLUSH_SECONDS"); !seconds.empty()) {
      char* end = nullptr;
      const double value = std::strtod(seconds.c_str(), &end);
      if (end == seconds.c_str() || *end != '\0' || value < 0) {
        throw Error("BERTFLEET_MLFLOW_FLUSH_SECONDS must be a number of seconds >= 0 (got " + seconds + ")");
      }
      settings.flush_timeout = std::chrono::milliseconds(static_cast<int64_t>(value * 1000));
    }
    settings.warn = options.log;
    trackers.push_back(std::make_unique<MlflowTracker>(settings, MakeCurlTransport(HttpCredentials::FromMlflowEnvironment())));
    if (options.log) options.log("report_to: mlflow: run " + settings.run_name + " on " + uri);
  }
  return trackers;
}

}  // namespace bertfleet
