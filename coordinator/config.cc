#include "coordinator/config.h"

#include <yaml-cpp/yaml.h>

#include <set>

#include "common/cli/arg_parser.h"
#include "common/util/error.h"
#include "common/util/file_io.h"

namespace bertfleet::coordinator {

namespace {

// Workers reach MLflow through its REST API: a file: or databricks URI would fail on every worker.
void CheckMlflowTrackingUri(const std::string& uri, const std::string& where) {
  if (!uri.empty() && uri.rfind("http://", 0) != 0 && uri.rfind("https://", 0) != 0) {
    throw Error(where + ": must be an http:// or https:// MLflow server (got " + uri + ")");
  }
}

}  // namespace

CoordinatorConfig ParseCoordinatorConfig(const std::string& yaml_text, const std::string& source) {
  CoordinatorConfig config;
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw Error(source + ": " + e.what());
  }
  if (!root || root.IsNull()) return config;
  if (!root.IsMap()) throw Error(source + ": expected a mapping of settings");
  const std::set<std::string> known = {"listen", "db", "data_root", "checkpoint_root",
                                       "heartbeat_interval_ms", "lease_ms", "cancel_timeout_ms",
                                       "log_format", "metrics_listen", "metrics_retention_ms",
                                       "state_dir", "security", "mlflow_tracking_uri",
                                       "mlflow_experiment_name", "upload_dir", "max_upload_bytes"};
  for (const auto& item : root) {
    std::string key = item.first.as<std::string>();
    if (!known.count(key)) throw Error(source + ": unknown key '" + key + "'");
    try {
      const YAML::Node& v = item.second;
      if (key == "listen") config.listen = v.as<std::string>();
      if (key == "db") config.db = v.as<std::string>();
      if (key == "data_root") config.data_root = v.as<std::string>();
      if (key == "checkpoint_root") config.checkpoint_root = v.as<std::string>();
      if (key == "heartbeat_interval_ms") config.heartbeat_interval_ms = v.as<int64_t>();
      if (key == "lease_ms") config.lease_ms = v.as<int64_t>();
      if (key == "cancel_timeout_ms") config.cancel_timeout_ms = v.as<int64_t>();
      if (key == "log_format") config.log_format = v.as<std::string>();
      if (key == "state_dir") config.state_dir = v.as<std::string>();
      if (key == "security") config.security = ParseSecurityConfig(v, source);
      if (key == "metrics_listen") config.metrics_listen = v.as<std::string>();
      if (key == "metrics_retention_ms") config.metrics_retention_ms = v.as<int64_t>();
      if (key == "mlflow_tracking_uri") config.mlflow_tracking_uri = v.as<std::string>();
      if (key == "mlflow_experiment_name") config.mlflow_experiment_name = v.as<std::string>();
      if (key == "upload_dir") config.upload_dir = v.as<std::string>();
      if (key == "max_upload_bytes") config.max_upload_bytes = v.as<int64_t>();
    } catch (const YAML::Exception&) {
      throw Error(source + ": " + key + ": wrong type");
    }
  }
  if (config.heartbeat_interval_ms <= 0) throw Error(source + ": heartbeat_interval_ms: must be > 0");
  if (config.lease_ms <= config.heartbeat_interval_ms) {
    throw Error(source + ": lease_ms: must be > heartbeat_interval_ms (" +
                std::to_string(config.heartbeat_interval_ms) + ")");
  }
  if (config.metrics_retention_ms < 0) throw Error(source + ": metrics_retention_ms: must be >= 0");
  if (config.max_upload_bytes < 1) throw Error(source + ": max_upload_bytes: must be >= 1");
  CheckMlflowTrackingUri(config.mlflow_tracking_uri, source + ": mlflow_tracking_uri");
  if (config.log_format != "text" && config.log_format != "json") {
    throw Error(source + ": log_format: must be text or json (got " + config.log_format + ")");
  }
  return config;
}

std::optional<CoordinatorConfig> LoadCoordinatorConfig(const std::vector<std::string>& args) {
  ArgParser parser("bertfleet-coordinator");
  parser.Value("config", "YAML settings file")
      .Value("listen", "address to serve on (host:port; port 0 picks a free one)")
      .Value("db", "SQLite job database")
      .Value("data-root", "directory that job data and model paths resolve in")
      .Value("checkpoint-root", "directory under which each job's output directory lives")
      .Value("metrics-listen", "serve Prometheus /metrics on host:port (port 0 picks a free one)")
      .Value("log-format", "text (default) or json: one object per log line")
      .Value("mlflow-tracking-uri", "MLflow server for jobs with report_to: mlflow (mlflow_tracking_uri)")
      .Value("mlflow-experiment-name", "MLflow experiment of those jobs (mlflow_experiment_name; default: Default)")
      .Value("state-dir", "directory of the admin token file (default: the database's directory)")
      .Value("tls-cert", "PEM server certificate (security.tls_cert_file)")
      .Value("tls-key", "PEM private key of --tls-cert (security.tls_key_file)")
      .Value("tls-client-ca", "PEM CA that signs client certificates (security.tls_client_ca_file)")
      .Flag("insecure", "no TLS, no tokens: only allowed when every listen address is loopback")
      .About("Serves JobService, WorkerService and AuthService (plus grpc.health.v1 and server reflection) over "
             "one SQLite job database; flags override the --config file's keys (docs/operations.md).")
      .NoEnv()
      .Example("bertfleet-coordinator --listen 127.0.0.1:50051 --db state/jobs.db --data-root data "
               "--checkpoint-root checkpoints --insecure");
  if (!parser.ParseCommand(args)) return std::nullopt;
  CoordinatorConfig config;
  if (parser.Has("config")) {
    std::string path = parser.Get("config");
    config = ParseCoordinatorConfig(ReadFileToString(path), path);
  }
  config.listen = parser.GetOr("listen", config.listen);
  config.db = parser.GetOr("db", config.db);
  config.data_root = parser.GetOr("data-root", config.data_root);
  config.checkpoint_root = parser.GetOr("checkpoint-root", config.checkpoint_root);
  config.metrics_listen = parser.GetOr("metrics-listen", config.metrics_listen);
  config.log_format = parser.GetOr("log-format", config.log_format);
  config.state_dir = parser.GetOr("state-dir", config.state_dir);
  config.mlflow_tracking_uri = parser.GetOr("mlflow-tracking-uri", config.mlflow_tracking_uri);
  config.mlflow_experiment_name = parser.GetOr("mlflow-experiment-name", config.mlflow_experiment_name);
  CheckMlflowTrackingUri(config.mlflow_tracking_uri, "--mlflow-tracking-uri");
  config.security.tls_cert_file = parser.GetOr("tls-cert", config.security.tls_cert_file);
  config.security.tls_key_file = parser.GetOr("tls-key", config.security.tls_key_file);
  config.security.tls_client_ca_file = parser.GetOr("tls-client-ca", config.security.tls_client_ca_file);
  if (parser.Has("insecure")) config.security.insecure = true;
  return config;
}

}  // namespace bertfleet::coordinator
