#include "coordinator/job_paths.h"

#include <filesystem>

#include "common/util/error.h"

namespace bertfleet::coordinator {
namespace {

namespace fs = std::filesystem;

// True when `path` (already normalised) lies inside `root` (or is the root itself).
bool Inside(const fs::path& path, const fs::path& root) {
  auto rel = path.lexically_relative(root);
  if (rel.empty()) return false;
  for (const auto& part : rel) {
    if (part == "..") return false;
  }
  return true;
}

// Symlinks resolved for the part of the path that exists; the rest normalised.
fs::path Resolved(const fs::path& path) {
  std::error_code error;
  fs::path resolved = fs::weakly_canonical(path, error);
  return error ? path.lexically_normal() : resolved;
}

void CheckPath(const std::string& key, const std::string& value, const std::string& root_name,
               const std::string& root_dir) {
  fs::path path(value);
  fs::path root = root_dir.empty() ? fs::path("/nonexistent-root") : fs::absolute(root_dir).lexically_normal();
  for (const auto& part : path) {
    if (part == "..") {
      throw Error(key + ": " + value + " must not use '..' (paths resolve inside the " + root_name + " " +
                  root.string() + ")");
    }
  }
  fs::path full = path.is_absolute() ? path.lexically_normal() : (root / path).lexically_normal();
  if (!Inside(full, root)) {
    throw Error(key + ": " + value + " is outside the " + root_name + " " + root.string());
  }
  if (!Inside(Resolved(full), Resolved(root))) {
    throw Error(key + ": " + value + " leads outside the " + root_name + " " + root.string() +
                " through a symbolic link (it resolves to " + Resolved(full).string() + ")");
  }
}

}  // namespace

void CheckJobPaths(const JobSpec& spec, const std::string& data_root, const std::string& checkpoint_root) {
  if (spec.data != "download") CheckPath("data", spec.data, "coordinator's data root", data_root);
  // Your own files are read by the workers under the same root.
  for (const auto& [key, value] : OwnFileKeys(spec)) {
    // "sha256:HEX/NAME" names an upload, which the JobService checks against the submitter's.
    if (!value->empty() && value->rfind("sha256:", 0) != 0) CheckPath(key, *value, "coordinator's data root", data_root);
  }
  // A hub id ("org/name") never contains ".." nor starts with "/"; anything else is a local path.
  CheckPath("model", spec.model, "coordinator's data root", data_root);
  // TensorBoard files go under the job's own output directory on the workers.
  if (!spec.logging_dir.empty()) {
    const fs::path logging_dir(spec.logging_dir);
    bool escapes = logging_dir.is_absolute();
    for (const auto& part : logging_dir) escapes = escapes || part == "..";
    if (escapes) {
      throw Error("logging_dir: " + spec.logging_dir +
                  " must be a relative path without '..' (it resolves in the job's output directory)");
    }
  }
  if (!spec.resume_from_checkpoint.empty()) {
    // Workers open it as given (not under a root), so only an absolute path is unambiguous.
    if (!std::filesystem::path(spec.resume_from_checkpoint).is_absolute()) {
      throw Error("resume_from_checkpoint: " + spec.resume_from_checkpoint +
                  " must be an absolute path inside the coordinator's checkpoint root");
    }
    CheckPath("resume_from_checkpoint", spec.resume_from_checkpoint, "coordinator's checkpoint root",
              checkpoint_root);
  }
}

}  // namespace bertfleet::coordinator
