#pragma once
// MLflow's REST API (/api/2.0/mlflow/...), the calls a training run makes: find or create the
// experiment, create the run, log params and metrics in batches, upload artifacts through the
// tracking server's artifact proxy (`mlflow-artifacts:` URIs, `mlflow server`'s default), end
// the run. Synchronous: MlflowTracker calls it from its own thread.
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "worker/engine/tracking/http_transport.h"

namespace bertfleet {

struct MlflowCallError : std::runtime_error {
  MlflowCallError(const std::string& message, bool retryable)
      : std::runtime_error(message), retryable(retryable) {}
  bool retryable;  // no response, 429 or 5xx: the server may come back
};

struct MlflowMetric {
  std::string key;
  double value = 0;
  int64_t timestamp_ms = 0;
  int64_t step = 0;
};

struct MlflowRun {
  std::string run_id;
  std::string artifact_uri;
};

using MlflowPairs = std::vector<std::pair<std::string, std::string>>;

class MlflowRest {
 public:
  // `tracking_uri`: http(s)://host[:port][/prefix], no trailing slash needed.
  MlflowRest(std::string tracking_uri, HttpTransport& transport);

  std::string ExperimentId(const std::string& name);  // creates the experiment if it is missing
  MlflowRun CreateRun(const std::string& experiment_id, const std::string& run_name, const MlflowPairs& tags,
                      int64_t start_time_ms);
  // At most 1000 metrics, 100 params and 100 tags per call (MLflow's log-batch limits).
  void LogBatch(const std::string& run_id, const std::vector<MlflowMetric>& metrics, const MlflowPairs& params,
                const MlflowPairs& tags);
  void UpdateRun(const std::string& run_id, const std::string& status, int64_t end_time_ms);
  // Throws a non-retryable error when the run's artifact store is not the server's proxy.
  void UploadArtifact(const MlflowRun& run, const std::string& relative_path, const std::filesystem::path& file);

 private:
  std::string Call(const std::string& method, const std::string& path, const std::string& body);

  std::string base_;
  HttpTransport& transport_;
};

// Tracking URIs bertfleet can reach: http:// and https:// (not file:, databricks, ...).
bool IsHttpTrackingUri(const std::string& uri);

}  // namespace bertfleet
