#pragma once
// The `bertfleet` subcommands. Each returns the process exit status: 0 on success, 1 when the
// coordinator refused (one line "bertfleet: CODE: message" on stderr), and for `watch` 1 when
// the job ended FAILED or CANCELLED.
#include <memory>
#include <string>

#include "bertfleet/v1/auth.grpc.pb.h"
#include "bertfleet/v1/files.grpc.pb.h"
#include "bertfleet/v1/jobs.grpc.pb.h"
#include "bertfleet/v1/sweeps.grpc.pb.h"

namespace bertfleet::cli {

struct CliContext {
  std::unique_ptr<bertfleet::v1::JobService::Stub> stub;
  std::unique_ptr<bertfleet::v1::AuthService::Stub> auth;
  std::unique_ptr<bertfleet::v1::FileService::Stub> files;
  std::unique_ptr<bertfleet::v1::SweepService::Stub> sweeps;
  bool json = false;
};

// A context with a deadline (none for 0) and the caller's $USER, which a coordinator run with
// --insecure records as the job owner (with tokens the owner is the token's name).
std::unique_ptr<grpc::ClientContext> NewContext(int seconds);

int SubmitCommand(CliContext& cli, const std::string& spec_path, bool watch);
int JobsCommand(CliContext& cli);
int StatusCommand(CliContext& cli, const std::string& job_id);
int WatchCommand(CliContext& cli, const std::string& job_id);
int CancelCommand(CliContext& cli, const std::string& job_id);
int WorkersCommand(CliContext& cli);
// Per-epoch history (cli/history_commands.cc).
int MetricsCommand(CliContext& cli, const std::string& job_id, bool csv);
// A job's curves, or a sweep's (an id "sweep-...") as mean ± std per configuration.
int PlotCommand(CliContext& cli, const std::string& id, const std::string& output);
std::string EpochCsv(const bertfleet::v1::Job& job);

}  // namespace bertfleet::cli
