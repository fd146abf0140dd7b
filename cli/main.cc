// bertfleet: the user CLI for the coordinator's JobService.
#include <cstdlib>
#include <iostream>

#include <grpcpp/grpcpp.h>

#include "cli/commands.h"
#include "cli/health_command.h"
#include "common/cli/arg_parser.h"
#include "common/util/error.h"

namespace {

const char* kUsage =
    "usage: bertfleet [--coordinator HOST:PORT] [--json] COMMAND\n"
    "  submit JOB.yaml [--watch]   queue a fine-tuning job (and follow it)\n"
    "  jobs                        list jobs, newest first\n"
    "  status JOB                  one job's state, progress and epoch metrics\n"
    "  watch JOB                   follow a job until it ends (non-zero exit unless it SUCCEEDED)\n"
    "  cancel JOB                  stop a job on every worker\n"
    "  workers                     list workers\n"
    "  health [SERVICE]            grpc.health.v1 check; exit 0 only when SERVING\n"
    "The coordinator address comes from --coordinator or $BERTFLEET_COORDINATOR\n"
    "(default localhost:50051).\n";

int Run(const std::vector<std::string>& args) {
  bertfleet::ArgParser parser("bertfleet");
  parser.Value("coordinator", "coordinator address (default $BERTFLEET_COORDINATOR)")
      .Flag("json", "JSON output for scripts")
      .Flag("watch", "submit: follow the job until it ends")
      .Flag("help", "show this help");
  parser.Parse(args);
  const auto& pos = parser.positional();
  if (parser.Has("help") || pos.empty()) {
    std::cout << kUsage;
    return pos.empty() && !parser.Has("help") ? 2 : 0;
  }
  const std::string& command = pos[0];
  const char* env = std::getenv("BERTFLEET_COORDINATOR");
  std::string address = parser.GetOr("coordinator", env && *env ? env : "localhost:50051");
  bertfleet::cli::CliContext cli;
  cli.json = parser.Has("json");
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  cli.stub = bertfleet::v1::JobService::NewStub(channel);

  auto one_arg = [&](const char* what) -> std::string {
    if (pos.size() != 2) throw bertfleet::Error(command + " takes exactly one argument: " + what);
    return pos[1];
  };
  auto no_arg = [&] {
    if (pos.size() != 1) throw bertfleet::Error(command + " takes no arguments (got " + pos[1] + ")");
  };
  if (command == "submit") return bertfleet::cli::SubmitCommand(cli, one_arg("JOB.yaml"), parser.Has("watch"));
  if (command == "jobs") return no_arg(), bertfleet::cli::JobsCommand(cli);
  if (command == "status") return bertfleet::cli::StatusCommand(cli, one_arg("JOB"));
  if (command == "watch") return bertfleet::cli::WatchCommand(cli, one_arg("JOB"));
  if (command == "cancel") return bertfleet::cli::CancelCommand(cli, one_arg("JOB"));
  if (command == "workers") return no_arg(), bertfleet::cli::WorkersCommand(cli);
  if (command == "health") {
    if (pos.size() > 2) throw bertfleet::Error("health takes at most one argument: SERVICE");
    return bertfleet::cli::HealthCommand(channel, pos.size() == 2 ? pos[1] : "", cli.json);
  }
  throw bertfleet::Error("unknown command '" + command + "' (submit, jobs, status, watch, cancel, workers, health)");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    std::cerr << "bertfleet: " << e.what() << std::endl;
    return 2;
  }
}
