#include "coordinator/checkpoint_files.h"

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "bertfleet/v1/job_states.h"
#include "common/data/mrpc_download.h"
#include "common/data/text_lines.h"
#include "common/util/file_io.h"

namespace bertfleet::coordinator {

namespace fs = std::filesystem;

namespace {

constexpr char kManifest[] = "bertfleet_manifest.json";  // what CheckpointManager writes

grpc::Status Status(grpc::StatusCode code, const std::string& message) { return {code, message}; }

// checkpoint-N directories of the output directory, by N.
std::map<int64_t, fs::path> Checkpoints(const fs::path& output_dir) {
  std::map<int64_t, fs::path> found;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(output_dir, error)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.rfind("checkpoint-", 0) != 0) continue;
    if (const auto step = ParseInt64(std::string_view(name).substr(11)); step && fs::exists(entry.path() / kManifest)) {
      found.emplace(*step, entry.path());
    }
  }
  return found;
}

std::string Steps(const std::map<int64_t, fs::path>& checkpoints) {
  if (checkpoints.empty()) return "none";
  std::string text;
  for (const auto& [step, path] : checkpoints) text += (text.empty() ? "" : ", ") + std::to_string(step);
  return text;
}

void Add(CheckpointFiles* files, const fs::path& path, const std::string& sha256) {
  bertfleet::v1::ManifestFile* file = files->manifest.add_files();
  file->set_name(path.filename().string());
  file->set_size(static_cast<int64_t>(fs::file_size(path)));
  file->set_sha256(sha256);
  files->paths.push_back(path);
}

grpc::Status CheckpointDirectory(const fs::path& directory, CheckpointFiles* files) {
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(ReadFileToString(directory / kManifest));
  } catch (const std::exception& error) {
    return Status(grpc::StatusCode::DATA_LOSS, (directory / kManifest).string() + ": unreadable manifest: " + error.what());
  }
  if (!manifest.contains("files") || !manifest["files"].is_object()) {
    return Status(grpc::StatusCode::DATA_LOSS, (directory / kManifest).string() + ": manifest lists no files");
  }
  files->manifest.set_checkpoint(directory.filename().string());
  for (const auto& [name, sha] : manifest["files"].items()) {
    const fs::path path = directory / name;
    if (name.find('/') != std::string::npos || !sha.is_string() || !fs::is_regular_file(path)) {
      return Status(grpc::StatusCode::DATA_LOSS, path.string() + ": listed in the checkpoint's manifest but missing");
    }
    const std::string actual = Sha256OfFile(path);
    if (actual != sha.get<std::string>()) {
      return Status(grpc::StatusCode::DATA_LOSS, path.string() + ": sha256 " + actual + " does not match the manifest's " +
                                                     sha.get<std::string>() + " (the checkpoint is corrupt)");
    }
    Add(files, path, actual);
  }
  Add(files, directory / kManifest, Sha256OfFile(directory / kManifest));
  return grpc::Status::OK;
}

}  // namespace

grpc::Status FindCheckpointFiles(const bertfleet::v1::Job& job, const std::string& which, CheckpointFiles* files) {
  const fs::path output_dir = job.output_dir();
  if (job.output_dir().empty() || !fs::is_directory(output_dir)) {
    return Status(grpc::StatusCode::FAILED_PRECONDITION, "job " + job.id() + " has written nothing yet (" +
                                                             v1::JobState_Name(job.state()) + ")");
  }
  const std::map<int64_t, fs::path> checkpoints = Checkpoints(output_dir);
  if (which.empty() || which == "final") {
    if (job.state() != v1::JOB_STATE_SUCCEEDED || !fs::exists(output_dir / "model.safetensors")) {
      return Status(grpc::StatusCode::FAILED_PRECONDITION,
                    "job " + job.id() + " has no final model (" + v1::JobState_Name(job.state()) +
                        "); its checkpoints: " + Steps(checkpoints) + " (--checkpoint last or a step)");
    }
    files->manifest.set_checkpoint("final");
    std::vector<fs::path> paths;
    for (const auto& entry : fs::directory_iterator(output_dir)) {
      if (entry.is_regular_file()) paths.push_back(entry.path());
    }
    std::sort(paths.begin(), paths.end());
    for (const fs::path& path : paths) Add(files, path, Sha256OfFile(path));
    return grpc::Status::OK;
  }
  if (which == "last") {
    if (checkpoints.empty()) return Status(grpc::StatusCode::NOT_FOUND, "job " + job.id() + " has no checkpoint");
    return CheckpointDirectory(checkpoints.rbegin()->second, files);
  }
  if (which == "best") {
    // The final trainer_state.json, else the newest checkpoint's, names it as Hugging Face does.
    fs::path state = output_dir / "trainer_state.json";
    if (!fs::exists(state) && !checkpoints.empty()) state = checkpoints.rbegin()->second / "trainer_state.json";
    std::string best;
    try {
      const nlohmann::json json = nlohmann::json::parse(ReadFileToString(state));
      if (json.contains("best_model_checkpoint") && json["best_model_checkpoint"].is_string()) {
        best = fs::path(json["best_model_checkpoint"].get<std::string>()).filename().string();
      }
    } catch (const std::exception&) {
    }
    const auto step = best.rfind("checkpoint-", 0) == 0 ? ParseInt64(std::string_view(best).substr(11)) : std::nullopt;
    if (!step || !checkpoints.count(*step)) {
      return Status(grpc::StatusCode::NOT_FOUND,
                    "job " + job.id() + " has no best checkpoint (it needs load_best_model_at_end and an evaluation "
                                        "at each save); its checkpoints: " + Steps(checkpoints));
    }
    return CheckpointDirectory(checkpoints.at(*step), files);
  }
  const auto step = ParseInt64(which);
  if (!step) {
    return Status(grpc::StatusCode::INVALID_ARGUMENT,
                  "checkpoint: expected final, best, last or a step number (got '" + which + "')");
  }
  if (!checkpoints.count(*step)) {
    return Status(grpc::StatusCode::NOT_FOUND, "job " + job.id() + " has no checkpoint-" + which +
                                                   "; its checkpoints: " + Steps(checkpoints));
  }
  return CheckpointDirectory(checkpoints.at(*step), files);
}

}  // namespace bertfleet::coordinator
