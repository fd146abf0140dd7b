#pragma once
// Which files `bertfleet download` sends for a job: its final model (the top-level files of its
// output directory, in Hugging Face's layout) or one of its checkpoints (checkpoint-N, checked
// against the checkpoint's own bertfleet_manifest.json first). Every file gets its size and
// sha256, which the client checks what it received against.
#include <filesystem>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "bertfleet/v1/files.pb.h"
#include "bertfleet/v1/jobs.pb.h"

namespace bertfleet::coordinator {

struct CheckpointFiles {
  bertfleet::v1::CheckpointManifest manifest;
  std::vector<std::filesystem::path> paths;  // manifest order
};

// `which`: "" or "final", "best", "last", or a step number. NOT_FOUND names what exists;
// FAILED_PRECONDITION when the job has not written it yet; DATA_LOSS names a file that does
// not match its checkpoint's manifest.
grpc::Status FindCheckpointFiles(const bertfleet::v1::Job& job, const std::string& which, CheckpointFiles* files);

}  // namespace bertfleet::coordinator
