#include "common/data/http_fetch.h"

#include <curl/curl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>

namespace bertfleet {
namespace {

// curl_global_init is not thread-safe and must run once per process before any handle exists.
void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Sink {
  std::filesystem::path path;
  bool append = false;
  std::FILE* file = nullptr;
  int open_errno = 0;
};

// Opening lazily means a refused connection or an HTTP error leaves no empty file behind.
size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  if (!sink->file) {
    sink->file = std::fopen(sink->path.c_str(), sink->append ? "ab" : "wb");
    if (!sink->file) {
      sink->open_errno = errno;
      return 0;  // makes curl stop with CURLE_WRITE_ERROR
    }
  }
  return std::fwrite(data, 1, size * count, sink->file);
}

}  // namespace

FetchResult FetchToFile(const std::string& url, const std::filesystem::path& destination,
                        int64_t offset) {
  InitCurlOnce();
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  FetchResult result;
  if (!curl) {
    result.message = "curl_easy_init failed";
    return result;
  }
  Sink sink;
  sink.path = destination;
  sink.append = offset > 0;
  char error_buffer[CURL_ERROR_SIZE] = {0};

  CURL* handle = curl.get();
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(handle, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(handle, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, 15L);
  // A stalled transfer (under 1 byte/s for 60 s) fails instead of hanging a worker forever;
  // the bytes received so far stay in the .part file for the next attempt.
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_USERAGENT, "bertfleet/0.1 (libcurl)");
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &sink);
  if (offset > 0) {
    curl_easy_setopt(handle, CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(offset));
  }

  const CURLcode code = curl_easy_perform(handle);
  bool close_failed = false;
  if (sink.file) close_failed = std::fclose(sink.file) != 0;

  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  if (code == CURLE_OK && !close_failed) {
    result.ok = true;
    return result;
  }
  // libcurl reports a server that answers a Range request with the whole body as
  // CURLE_RANGE_ERROR, and (with FAILONERROR) a range past the end as HTTP 416.
  result.range_unusable = offset > 0 && (code == CURLE_RANGE_ERROR || status == 416);
  if (sink.open_errno != 0) {
    result.message = destination.string() + ": cannot write: " + std::strerror(sink.open_errno);
  } else if (close_failed) {
    result.message = destination.string() + ": write failed";
  } else {
    result.message = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
    // FAILONERROR's text already says "The requested URL returned error: 404".
    if (status >= 400 && result.message.find(std::to_string(status)) == std::string::npos) {
      result.message += " (HTTP " + std::to_string(status) + ")";
    }
  }
  return result;
}

}  // namespace bertfleet
