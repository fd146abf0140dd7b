#include "common/util/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include <nlohmann/json.hpp>

#include "common/util/error.h"

namespace bertfleet {
namespace {

std::mutex log_mu;
std::atomic<bool> json_format{false};

std::string Now() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  int ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

}  // namespace

void SetLogFormat(const std::string& format, const std::string& source) {
  if (format != "text" && format != "json") {
    throw Error(source + ": must be text or json (got " + format + ")");
  }
  json_format = format == "json";
}

void Log(const std::string& level, const std::string& message, const LogFields& fields) {
  std::string line;
  if (json_format) {
    nlohmann::json j = {{"time", Now()}, {"level", level}, {"msg", message}};
    for (const auto& [k, v] : fields) j[k] = v;
    // Replace, not throw, on invalid UTF-8 (a child's stderr can hold anything).
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = Now() + " " + level + " " + message;
    for (const auto& [k, v] : fields) line += " " + k + "=" + v;
  }
  std::lock_guard<std::mutex> lock(log_mu);
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace bertfleet
