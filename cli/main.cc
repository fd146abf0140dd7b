// bertfleet: the user CLI for the coordinator's JobService.
#include <cstdlib>
#include <functional>
#include <iostream>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "cli/commands.h"
#include "cli/file_commands.h"
#include "cli/token_commands.h"
#include "client/channel_credentials.h"
#include "cli/health_command.h"
#include "cli/sweep_commands.h"
#include "common/cli/arg_parser.h"
#include "common/util/error.h"

namespace {

// One `bertfleet` subcommand, for the usage texts; the flags are parsed by one parser (Run).
struct CliCommand {
  const char* name;
  const char* synopsis;  // after "bertfleet NAME"
  const char* summary;
  std::function<void(bertfleet::ArgParser&)> flags;  // the command's own flags
  const char* example;
};

void GlobalFlags(bertfleet::ArgParser& parser) {
  parser.Value("coordinator", "coordinator address (default $BERTFLEET_COORDINATOR, else localhost:50051)")
      .Flag("json", "JSON output for scripts");
  bertfleet::client::AddConnectionFlags(parser);
  parser.Env("USER", "the job owner a coordinator run with --insecure records (with tokens: the token's name)");
}

const std::vector<CliCommand>& Commands() {
  using bertfleet::ArgParser;
  auto none = [](ArgParser&) {};
  static const std::vector<CliCommand> commands = {
      {"submit", "JOB.yaml [--watch]", "queue a fine-tuning job (and follow it); a retried submit never makes two jobs",
       [](ArgParser& p) { p.Flag("watch", "follow the job until it ends, as `watch`"); },
       "bertfleet submit examples/mrpc-minilm.yaml --watch"},
      {"jobs", "", "list jobs, newest first", none, "bertfleet jobs"},
      {"status", "JOB", "one job's state, progress and epoch metrics", none, "bertfleet status job-0123456789"},
      {"watch", "JOB", "follow a job until it ends, reconnecting if the coordinator restarts (non-zero exit unless it SUCCEEDED)",
       none, "bertfleet watch job-0123456789"},
      {"cancel", "JOB", "stop a job on every worker", none, "bertfleet cancel job-0123456789"},
      {"workers", "", "list workers", none, "bertfleet workers"},
      {"metrics", "JOB [--csv]", "per-epoch loss, accuracy and F1 of a job",
       [](ArgParser& p) { p.Flag("csv", "CSV instead of a table"); }, "bertfleet metrics job-0123456789 --csv"},
      {"plot", "JOB|SWEEP -o FILE.svg", "draw those per-epoch curves as SVG (a sweep: mean ± std per configuration)",
       [](ArgParser& p) { p.Value("output", "the SVG file to write (also -o)"); },
       "bertfleet plot job-0123456789 -o curves.svg"},
      {"sweep", "JOB.yaml --seeds S1,S2,... [--set-grid KEY=V1,V2 ...] [--watch] | status SWEEP [--watch]",
       "run a spec for every seed and grid point as ordinary jobs; status: per configuration mean ± std over seeds "
       "and the best one",
       [](ArgParser& p) {
         p.Value("seeds", "sweep: the seeds, comma-separated (each replaces the spec's seed)")
             .Repeated("set-grid", "sweep: KEY=V1,V2,...: one axis of the grid (repeat for more; every combination runs)")
             .Flag("watch", "sweep: follow the sweep, printing its table whenever it changes, until every job ended");
       },
       "bertfleet sweep examples/mrpc-minilm.yaml --seeds 42,43,44 --set-grid learning_rate=5e-5,1e-4 --watch"},
      {"sweeps", "", "list sweeps, newest first", none, "bertfleet sweeps"},
      {"download", "JOB --to DIR [--checkpoint final|best|last|STEP]",
       "fetch a job's model (default) or a checkpoint in Hugging Face's layout, sha256-checked",
       [](ArgParser& p) {
         p.Value("to", "download: the directory to write the files into")
             .Value("checkpoint", "download: final (default), best, last or a step number");
       },
       "bertfleet download job-0123456789 --to models/mrpc"},
      {"health", "[SERVICE]", "grpc.health.v1 check; exit 0 only when SERVING", none, "bertfleet health"},
      {"token", "create --name NAME --role admin|user|worker | list | revoke NAME",
       "(admin) make a token (shown once), list or revoke tokens",
       [](ArgParser& p) {
         p.Value("name", "token create: the token's name (owner of the jobs it submits)")
             .Value("role", "token create: admin, user or worker");
       },
       "bertfleet token create --name alice --role user"},
  };
  return commands;
}

std::string TopUsage() {
  bertfleet::ArgParser parser("bertfleet");
  std::string commands;
  for (const CliCommand& command : Commands()) {
    std::string head = std::string(command.name) + (*command.synopsis ? std::string(" ") + command.synopsis : "");
    commands += "  " + head + (head.size() < 28 ? std::string(28 - head.size(), ' ') : "\n" + std::string(30, ' ')) +
                command.summary + "\n";
  }
  parser.Synopsis("[options] COMMAND [arguments]")
      .About("commands:\n" + commands +
             "\n'bertfleet COMMAND --help' describes a command. Connection settings may also come from the "
             "config file (docs/security.md).");
  GlobalFlags(parser);
  parser.Flag("help", "show this help").Example("bertfleet --coordinator localhost:50051 --insecure jobs");
  return parser.Usage();
}

std::string CommandUsage(const CliCommand& command) {
  bertfleet::ArgParser parser(std::string("bertfleet ") + command.name);
  parser.Synopsis(std::string(command.synopsis) + (*command.synopsis ? " " : "") + "[options]").About(command.summary);
  command.flags(parser);
  GlobalFlags(parser);
  parser.Flag("help", "show this help").Example(command.example);
  return parser.Usage();
}

int Run(const std::vector<std::string>& args) {
  bertfleet::ArgParser parser("bertfleet");
  GlobalFlags(parser);
  for (const CliCommand& command : Commands()) command.flags(parser);
  parser.Flag("help", "show this help");
  // `-o FILE` is the usual spelling for an output file; the parser knows only long flags.
  std::vector<std::string> long_args = args;
  for (auto& arg : long_args) {
    if (arg == "-o") arg = "--output";
  }
  parser.Parse(long_args);
  const auto& pos = parser.positional();
  if (parser.Has("help") || pos.empty()) {
    const CliCommand* command = nullptr;
    for (const CliCommand& candidate : Commands()) {
      if (!pos.empty() && pos[0] == candidate.name) command = &candidate;
    }
    (pos.empty() && !parser.Has("help") ? std::cerr : std::cout) << (command ? CommandUsage(*command) : TopUsage());
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
  cli.files = bertfleet::v1::FileService::NewStub(channel);
  cli.sweeps = bertfleet::v1::SweepService::NewStub(channel);

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
  if (command == "download") {
    return bertfleet::cli::DownloadCommand(cli, one_arg("JOB"), parser.GetOr("checkpoint", ""), parser.GetOr("to", ""));
  }
  if (command == "plot") return bertfleet::cli::PlotCommand(cli, one_arg("JOB or SWEEP"), parser.GetOr("output", ""));
  if (command == "sweep") {
    if (pos.size() == 3 && pos[1] == "status") return bertfleet::cli::SweepStatusCommand(cli, pos[2], parser.Has("watch"));
    return bertfleet::cli::SweepCommand(cli, one_arg("JOB.yaml (or: status SWEEP)"), parser.GetOr("seeds", ""),
                                        parser.GetAll("set-grid"), parser.Has("watch"));
  }
  if (command == "sweeps") return no_arg(), bertfleet::cli::SweepsCommand(cli);
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
  throw bertfleet::Error("unknown command '" + command + "' (submit, jobs, status, watch, cancel, workers, health, token, metrics, plot, download, sweep, sweeps)");
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
