#pragma once
// The coordinator's settings: a YAML file (--config) overridden by command-line flags.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/auth/security_config.h"

namespace bertfleet::coordinator {

struct CoordinatorConfig {
  std::string listen = "0.0.0.0:50051";  // port 0: pick a free port (printed at start)
  std::string db = "bertfleet.db";
  std::string data_root = ".";
  std::string checkpoint_root = "checkpoints";
  int64_t heartbeat_interval_ms = 2000;
  int64_t lease_ms = 10000;  // no message from a worker for this long: the worker is lost
  int64_t cancel_timeout_ms = 5000;  // ranks that do not confirm a cancel by then are ignored
  std::string log_format = "text";   // text | json
  std::string state_dir;  // the admin token file lives here; empty: the job database's directory
  SecurityConfig security;  // `security:` mapping: TLS files, --insecure, per-client limits
  std::string metrics_listen;        // host:port of /metrics (Prometheus); empty: none
  int64_t metrics_retention_ms = 900000;  // a finished job's per-job series stay this long
  // report_to: mlflow for the jobs it runs: the cluster's MLflow server, passed to every worker
  // with its assignment (workers need no environment variable). Empty: the workers' own
  // MLFLOW_TRACKING_URI, if any.
  std::string mlflow_tracking_uri;
  std::string mlflow_experiment_name;  // empty: the workers' MLFLOW_EXPERIMENT_NAME, else Default
  // Files uploaded through FileService (bertfleet submit with local train_file, ...), stored by
  // sha256. Empty: <state_dir>/uploads.
  std::string upload_dir;
  int64_t max_upload_bytes = int64_t{1} << 30;  // one file; a larger one is refused, naming this key
};

// Parses the YAML text of a config file. Throws Error naming the file and key.
CoordinatorConfig ParseCoordinatorConfig(const std::string& yaml_text, const std::string& source);

// `bertfleet-coordinator [--config FILE] [--listen ADDR] [--db FILE] [--data-root DIR]
// [--checkpoint-root DIR] [--metrics-listen ADDR] [--log-format text|json]`. Throws Error on a bad flag or file;
// nullopt after printing the usage for --help.
std::optional<CoordinatorConfig> LoadCoordinatorConfig(const std::vector<std::string>& args);

}  // namespace bertfleet::coordinator
