#include "worker/engine/tracking/mlflow_rest.h"

#include <cctype>
#include <cmath>

#include <nlohmann/json.hpp>

namespace bertfleet {

namespace {

using nlohmann::json;

json PairsJson(const MlflowPairs& pairs) {
  json list = json::array();
  for (const auto& [key, value] : pairs) list.push_back({{"key", key}, {"value", value}});
  return list;
}

std::string UrlEncode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// Artifact paths keep their slashes; each segment is encoded.
std::string EncodePath(const std::string& path) {
  std::string out;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t slash = path.find('/', start);
    const size_t end = slash == std::string::npos ? path.size() : slash;
    out += UrlEncode(path.substr(start, end - start));
    if (slash == std::string::npos) break;
    out += '/';
    start = slash + 1;
  }
  return out;
}

}  // namespace

bool IsHttpTrackingUri(const std::string& uri) {
  return uri.rfind("http://", 0) == 0 || uri.rfind("https://", 0) == 0;
}

MlflowRest::MlflowRest(std::string tracking_uri, HttpTransport& transport)
    : base_(std::move(tracking_uri)), transport_(transport) {
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
}

std::string MlflowRest::Call(const std::string& method, const std::string& path, const std::string& body) {
  HttpRequest request;
  request.method = method;
  request.url = base_ + path;
  request.json_body = body;
  const HttpResponse response = transport_.Send(request);
  if (response.status == 0) throw MlflowCallError(response.transport_error, /*retryable=*/true);
  if (response.status >= 200 && response.status < 300) return response.body;
  std::string detail = response.body.substr(0, 300);
  const json parsed = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object() && parsed.contains("message")) detail = parsed["message"].get<std::string>();
  const bool retryable = response.status == 429 || response.status >= 500;
  throw MlflowCallError(method + " " + path + ": HTTP " + std::to_string(response.status) + ": " + detail, retryable);
}

std::string MlflowRest::ExperimentId(const std::string& name) {
  HttpRequest request;
  request.method = "GET";
  request.url = base_ + "/api/2.0/mlflow/experiments/get-by-name?experiment_name=" + UrlEncode(name);
  const HttpResponse found = transport_.Send(request);
  if (found.status == 0) throw MlflowCallError(found.transport_error, true);
  if (found.status == 200) return json::parse(found.body).at("experiment").at("experiment_id").get<std::string>();
  if (found.status != 404) {
    throw MlflowCallError("experiments/get-by-name: HTTP " + std::to_string(found.status), found.status >= 500);
  }
  const std::string created = Call("POST", "/api/2.0/mlflow/experiments/create", json{{"name", name}}.dump());
  return json::parse(created).at("experiment_id").get<std::string>();
}

MlflowRun MlflowRest::CreateRun(const std::string& experiment_id, const std::string& run_name,
                                const MlflowPairs& tags, int64_t start_time_ms) {
  const json body = {{"experiment_id", experiment_id},
                     {"run_name", run_name},
                     {"start_time", start_time_ms},
                     {"tags", PairsJson(tags)}};
  const json info = json::parse(Call("POST", "/api/2.0/mlflow/runs/create", body.dump())).at("run").at("info");
  return {info.at("run_id").get<std::string>(), info.value("artifact_uri", "")};
}

void MlflowRest::LogBatch(const std::string& run_id, const std::vector<MlflowMetric>& metrics,
                          const MlflowPairs& params, const MlflowPairs& tags) {
  json metric_list = json::array();
  for (const MlflowMetric& metric : metrics) {
    if (!std::isfinite(metric.value)) continue;  // JSON has no NaN; MLflow would refuse the batch
    metric_list.push_back(
        {{"key", metric.key}, {"value", metric.value}, {"timestamp", metric.timestamp_ms}, {"step", metric.step}});
  }
  const json body = {{"run_id", run_id}, {"metrics", metric_list}, {"params", PairsJson(params)}, {"tags", PairsJson(tags)}};
  Call("POST", "/api/2.0/mlflow/runs/log-batch", body.dump());
}

void MlflowRest::UpdateRun(const std::string& run_id, const std::string& status, int64_t end_time_ms) {
  Call("POST", "/api/2.0/mlflow/runs/update",
       json{{"run_id", run_id}, {"status", status}, {"end_time", end_time_ms}}.dump());
}

void MlflowRest::UploadArtifact(const MlflowRun& run, const std::string& relative_path,
                                const std::filesystem::path& file) {
  static const std::string kProxyScheme = "mlflow-artifacts:";
  if (run.artifact_uri.rfind(kProxyScheme, 0) != 0) {
    throw MlflowCallError("the run's artifact store is " + run.artifact_uri +
                              ", not the tracking server's proxy (mlflow server --serve-artifacts)",
                          false);
  }
  std::string root = run.artifact_uri.substr(kProxyScheme.size());
  while (!root.empty() && root.front() == '/') root.erase(0, 1);
  HttpRequest request;
  request.method = "PUT";
  request.url = base_ + "/api/2.0/mlflow-artifacts/artifacts/" + EncodePath(root + "/" + relative_path);
  request.upload_file = file;
  const HttpResponse response = transport_.Send(request);
  if (response.status == 0) throw MlflowCallError(response.transport_error, true);
  if (response.status < 200 || response.status >= 300) {
    throw MlflowCallError("artifact " + relative_path + ": HTTP " + std::to_string(response.status) + ": " +
                              response.body.substr(0, 300),
                          response.status == 429 || response.status >= 500);
  }
}

}  // namespace bertfleet
