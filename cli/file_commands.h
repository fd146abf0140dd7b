#pragma once
// Data in and models out through FileService (proto/bertfleet/v1/files.proto), for a client that
// shares no file system with the cluster.
#include <string>

#include "cli/commands.h"

namespace bertfleet::cli {

// The spec's train_file, validation_file and test_file that name files here (relative to the
// current directory, as `bertfleet-worker train` reads them) are checked as the worker would
// check them, uploaded unless the coordinator has them already, and replaced by their
// references ("sha256:HEX/NAME"). Other values (paths in the coordinator's data root, earlier
// references) stay. Returns the spec to submit (`spec_yaml` itself when nothing was local).
// Throws Error naming the file, or the coordinator's refusal.
std::string UploadLocalFiles(CliContext& cli, const std::string& spec_yaml);

// `bertfleet download JOB [--checkpoint final|best|last|STEP] --to DIR`: every file of the job's
// model or checkpoint, each checked against the manifest's size and sha256 before it takes its
// name in DIR (a file that does not match is never left there).
int DownloadCommand(CliContext& cli, const std::string& job_id, const std::string& checkpoint, const std::string& to);

}  // namespace bertfleet::cli
