#include <curl/curl.h>

#include <atomic>

#include <cstdio>
#include <cstdlib>

#include "worker/engine/tracking/http_transport.h"

namespace bertfleet {

namespace {

std::string EnvOr(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

size_t OnBody(char* data, size_t size, size_t count, void* sink) {
  static_cast<std::string*>(sink)->append(data, size * count);
  return size * count;
}

size_t ReadUpload(char* buffer, size_t size, size_t count, void* file) {
  return std::fread(buffer, size, count, static_cast<std::FILE*>(file));
}

int OnProgress(void* aborted, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<std::atomic<bool>*>(aborted)->load() ? 1 : 0;  // non-zero ends the transfer
}

class CurlTransport : public HttpTransport {
 public:
  explicit CurlTransport(HttpCredentials credentials) : credentials_(std::move(credentials)) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
  }

  void Abort() override { aborted_ = true; }

  HttpResponse Send(const HttpRequest& request) override {
    HttpResponse response;
    if (aborted_) {
      response.transport_error = "aborted";
      return response;
    }
    CURL* handle = curl_easy_init();
    if (!handle) {
      response.transport_error = "curl_easy_init failed";
      return response;
    }
    char error_buffer[CURL_ERROR_SIZE] = {};
    curl_slist* headers = nullptr;
    std::FILE* upload = nullptr;
    if (!credentials_.bearer_token.empty()) {
      headers = curl_slist_append(headers, ("Authorization: Bearer " + credentials_.bearer_token).c_str());
    } else if (!credentials_.username.empty()) {
      curl_easy_setopt(handle, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt(handle, CURLOPT_USERNAME, credentials_.username.c_str());
      curl_easy_setopt(handle, CURLOPT_PASSWORD, credentials_.password.c_str());
    }
    curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(handle, CURLOPT_USERAGENT, "bertfleet/0.1");
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, OnProgress);
    curl_easy_setopt(handle, CURLOPT_XFERINFODATA, &aborted_);
    if (request.method == "PUT") {
      upload = std::fopen(request.upload_file.c_str(), "rb");
      if (!upload) {
        response.transport_error = "cannot read " + request.upload_file.string();
        curl_slist_free_all(headers);
        curl_easy_cleanup(handle);
        return response;
      }
      std::error_code size_error;
      const auto size = std::filesystem::file_size(request.upload_file, size_error);
      headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
      curl_easy_setopt(handle, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(handle, CURLOPT_READFUNCTION, ReadUpload);
      curl_easy_setopt(handle, CURLOPT_READDATA, upload);
      if (!size_error) curl_easy_setopt(handle, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
      curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, 30L);
    } else {
      curl_easy_setopt(handle, CURLOPT_TIMEOUT, 30L);
      if (request.method == "POST") {
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.json_body.c_str());
        curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.json_body.size()));
      }
    }
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
    const CURLcode code = curl_easy_perform(handle);
    if (code == CURLE_OK) {
      curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &response.status);
    } else {
      response.transport_error = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
    }
    if (upload) std::fclose(upload);
    curl_slist_free_all(headers);
    curl_easy_cleanup(handle);
    return response;
  }

 private:
  HttpCredentials credentials_;
  std::atomic<bool> aborted_{false};
};

}  // namespace

HttpCredentials HttpCredentials::FromMlflowEnvironment() {
  HttpCredentials credentials;
  credentials.bearer_token = EnvOr("MLFLOW_TRACKING_TOKEN");
  credentials.username = EnvOr("MLFLOW_TRACKING_USERNAME");
  credentials.password = EnvOr("MLFLOW_TRACKING_PASSWORD");
  return credentials;
}

std::unique_ptr<HttpTransport> MakeCurlTransport(HttpCredentials credentials) {
  return std::make_unique<CurlTransport>(std::move(credentials));
}

}  // namespace bertfleet
