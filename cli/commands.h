#pragma once
// The `bertfleet` subcommands. Each returns the process exit status: 0 on success, 1 when the
// coordinator refused (one line "bertfleet: CODE: message" on stderr), and for `watch` 1 when
// the job ended FAILED or CANCELLED.
#include <memory>
#include <string>

#include "bertfleet/v1/jobs.grpc.pb.h"

namespace bertfleet::cli {

struct CliContext {
  std::unique_ptr<bertfleet::v1::JobService::Stub> stub;
  bool json = false;
};

int SubmitCommand(CliContext& cli, const std::string& spec_path, bool watch);
int JobsCommand(CliContext& cli);
int StatusCommand(CliContext& cli, const std::string& job_id);
int WatchCommand(CliContext& cli, const std::string& job_id);
int CancelCommand(CliContext& cli, const std::string& job_id);
int WorkersCommand(CliContext& cli);

}  // namespace bertfleet::cli
