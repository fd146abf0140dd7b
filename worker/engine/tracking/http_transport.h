#pragma once
// The HTTP requests MLflow's REST API needs (JSON POST/GET, file PUT), behind an interface so
// that the tracker's queueing and retries are unit-tested without a network (a fake transport),
// while the feature test talks to a real `mlflow server` through CurlTransport.
#include <filesystem>
#include <memory>
#include <string>

namespace bertfleet {

struct HttpRequest {
  std::string method;  // GET | POST | PUT
  std::string url;
  std::string json_body;                  // POST
  std::filesystem::path upload_file;      // PUT: streamed from this file
};

struct HttpResponse {
  long status = 0;            // 0: no response (connection refused, timeout, DNS)
  std::string body;
  std::string transport_error;  // why there was no response
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual HttpResponse Send(const HttpRequest& request) = 0;
  // From another thread: the request in flight, and every later one, ends at once with no
  // response (a tracker that stops waiting must not wait for a hung server either).
  virtual void Abort() = 0;
};

struct HttpCredentials {
  std::string bearer_token;  // MLFLOW_TRACKING_TOKEN
  std::string username;      // MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD: basic auth
  std::string password;
  static HttpCredentials FromMlflowEnvironment();
};

// libcurl; connect timeout 5 s, JSON calls time out after 30 s, uploads when stalled for 30 s.
std::unique_ptr<HttpTransport> MakeCurlTransport(HttpCredentials credentials);

}  // namespace bertfleet
