#include "coordinator/job_paths.h"

#include <filesystem>

#include "common/util/error.h"

namespace bertfleet::coordinator {
namespace {

namespace fs = std::filesystem;

// True when `path` (lexically normalised) lies inside `root`.
bool Inside(const fs::path& path, const fs::path& root) {
  fs::path p = path.lexically_normal();
  fs::path r = root.lexically_normal();
  auto rel = p.lexically_relative(r);
  if (rel.empty()) return false;
  for (const auto& part : rel) {
    if (part == "..") return false;
  }
  return true;
}

void CheckPath(const std::string& key, const std::string& value, const std::string& data_root) {
  fs::path path(value);
  fs::path root = data_root.empty() ? fs::path("/nonexistent-data-root") : fs::absolute(data_root);
  if (path.is_absolute()) {
    if (!Inside(path, root)) {
      throw Error(key + ": " + value + " is outside the coordinator's data root " + root.string());
    }
    return;
  }
  for (const auto& part : path) {
    if (part == "..") {
      throw Error(key + ": " + value + " must not use '..' (paths resolve inside the data root " +
                  root.string() + ")");
    }
  }
}

}  // namespace

void CheckJobPaths(const JobSpec& spec, const std::string& data_root) {
  if (spec.data != "download") CheckPath("data", spec.data, data_root);
  // A hub id ("org/name") never contains ".." nor starts with "/"; anything else is a local path.
  CheckPath("model", spec.model, data_root);
}

}  // namespace bertfleet::coordinator
