// bertfleet: the user CLI for the coordinator's JobService.
#include <cstdlib>
#include <iostream>

#include <grpcpp/grpcpp.h>

#include "cli/commands.h"
#include "cli/token_commands.h"
#include "client/channel_credentials.h"
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
    "  metrics JOB [--csv]         per-epoch loss, accuracy and F1 of a job\n"
    "  plot JOB -o FILE.svg        draw those per-epoch curves as SVG\n"
    "  health [SERVICE]            grpc.health.v1 check; exit 0 only when SERVING\n"
    "  token create --name NAME --role admin|user|worker   (admin) make a token, shown once\n"
    "  token list | token revoke NAME                      (admin) manage tokens\n"
    "The coordinator address comes from --coordinator or $BERTFLEET_COORDINATOR\n"
    "(default localhost:50051); the token from $BERTFLEET_TOKEN or --token-file; TLS is verified\n"
    "against --ca-file / $BERTFLEET_CA_FILE. Any of them may also be set in the config file\n"
    "$BERTFLEET_CONFIG (default ~/.config/bertfleet/config.yaml); see docs/security.md.\n";

int Run(const std::vector<std::string>& args) {
  bertfleet::ArgParser parser("bertfleet");
  parser.Value("coordinator", "coordinator address (default $BERTFLEET_COORDINATOR)")
      .Flag("json", "JSON output for scripts")
      .Flag("watch", "submit: follow the job until it ends")
      .Flag("csv", "metrics: CSV instead of a table")
      .Value("output", "plot: the SVG file to write (also -o)")
      .Value("name", "token create: the token's name (owner of the jobs it submits)")
      .Value("role", "token create: admin, user or worker")
      .Flag("help", "show this help");
  bertfleet::client::AddConnectionFlags(parser);
  // `-o FILE` is the usual spelling for an output file; the parser knows only long flags.
  std::vector<std::string> long_args = args;
  for (auto& arg : long_args) {
    if (arg == "-o") arg = "--output";
  }
  parser.Parse(long_args);
  const auto& pos = parser.positional();
  if (parser.Has("help") || pos.empty()) {
    std::cout << kUsage;
    return pos.empty() && !parser.Has("help") ? 2 : 0;
  }
  const std::string& command = pos[0];
  bertfleet::client::ConnectionSettings connection =
      bertfleet::client::LoadConnectionSettings(parser, "localhost:50051");
  bertfleet::cli::CliContext cli;
  cli.json = parser.Has("json");
  auto channel = grpc::CreateChannel(connection.coordinator, bertfleet::client::MakeChannelCredentials(connection));
  cli.stub = bertfleet::v1::JobService::NewStub(channel);
  cli.auth = bertfleet::v1::AuthService::NewStub(channel);

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
  if (command == "metrics") return bertfleet::cli::MetricsCommand(cli, one_arg("JOB"), parser.Has("csv"));
  if (command == "plot") return bertfleet::cli::PlotCommand(cli, one_arg("JOB"), parser.GetOr("output", ""));
  if (command == "token") {
    std::string action = pos.size() >= 2 ? pos[1] : "";
    if (action == "create" && pos.size() == 2) {
      return bertfleet::cli::TokenCreateCommand(cli, parser.Get("name"), parser.Get("role"));
    }
    if (action == "list" && pos.size() == 2) return bertfleet::cli::TokenListCommand(cli);
    if (action == "revoke" && pos.size() == 3) return bertfleet::cli::TokenRevokeCommand(cli, pos[2]);
    throw bertfleet::Error("usage: token create --name NAME --role admin|user|worker | token list | token revoke NAME");
  }
  if (command == "health") {
    if (pos.size() > 2) throw bertfleet::Error("health takes at most one argument: SERVICE");
    return bertfleet::cli::HealthCommand(channel, pos.size() == 2 ? pos[1] : "", cli.json);
  }
  throw bertfleet::Error("unknown command '" + command + "' (submit, jobs, status, watch, cancel, workers, health, token, metrics, plot)");
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
