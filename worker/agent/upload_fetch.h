#pragma once
// The worker's side of uploads: a job spec whose train_file, validation_file or test_file is
// "sha256:HEX/NAME" gets the bytes from the coordinator (FileService.DownloadUpload) into
// <cache>/uploads/HEX/NAME, checked against the digest, and the spec then names that file. A
// cached copy whose digest still matches is used again. No gRPC in this header: the training
// child (run-assignment) calls it.
#include <filesystem>
#include <functional>

#include "common/config/job_spec.h"

namespace bertfleet {

// The coordinator connection comes from the environment the agent exports for its children
// (ExportConnectionForChildren). Throws Error naming the key and the file on failure.
void FetchUploads(JobSpec& spec, const std::filesystem::path& cache_dir,
                  const std::function<void(const std::string&)>& log);

// True when any own-file key of `spec` is an upload reference.
bool HasUploads(const JobSpec& spec);

}  // namespace bertfleet
