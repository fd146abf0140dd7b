#pragma once
// The coordinator's worker agent inside bertfleet-worker (built with BERTFLEET_SERVICES):
//   bertfleet-worker --coordinator ADDR --device cpu [--threads N] [--worker-id ID] [--data-root DIR]
// It runs each assignment in a `bertfleet-worker run-assignment` child (worker/cli), and links
// no LibTorch itself. This header is what the child may use of the agent: no gRPC in it.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/config/job_spec.h"

namespace bertfleet {

int RunAgentCommand(const std::vector<std::string>& args);

// The worker's side of uploads (upload_fetch.cc): a job spec whose train_file, validation_file or
// test_file is "sha256:HEX/NAME" gets the bytes from the coordinator (FileService.DownloadUpload)
// into <cache>/uploads/HEX/NAME, checked against the digest, and the spec then names that file.
// A cached copy whose digest still matches is used again. The coordinator connection comes from
// the environment the agent exports for its children. Throws Error naming the key on failure.
void FetchUploads(JobSpec& spec, const std::filesystem::path& cache_dir,
                  const std::function<void(const std::string&)>& log);

}  // namespace bertfleet
