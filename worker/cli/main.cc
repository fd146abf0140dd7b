// bertfleet-worker: the training engine's command line, the coordinator's agent and its child.
#include <cstring>
#include <functional>
#include <iostream>
#include <map>

#include "common/util/error.h"
#include "worker/cli/commands.h"
#ifdef BERTFLEET_SERVICES
#include "worker/agent/agent_commands.h"
#endif

namespace {

struct Subcommand {
  std::function<int(const bertfleet::CommandArgs&)> run;
  const char* summary;
};

const std::map<std::string, Subcommand>& Subcommands() {
  static const std::map<std::string, Subcommand> table = {
      {"tokenize", {bertfleet::RunTokenizeCommand, "tokenize sentence pairs, one JSON line each"}},
      {"data", {bertfleet::RunDataCommand, "load an MRPC split and print counts and balance"}},
      {"train", {bertfleet::RunTrainCommand, "fine-tune a model from a YAML job spec"}},
      {"predict", {bertfleet::RunPredictCommand, "write GLUE predictions for a TSV file"}},
      {"evaluate", {bertfleet::RunEvaluateCommand, "loss, accuracy and F1 on a TSV file"}},
      {"resolve-model", {bertfleet::RunResolveModelCommand, "print the directory a model resolves to, downloading it if needed"}},
  };
  return table;
}

void PrintUsage(std::ostream& out) {
  out << "usage: bertfleet-worker COMMAND [options]\n\ncommands:\n";
  for (const auto& [name, command] : Subcommands()) {
    out << "  " << name << std::string(name.size() < 15 ? 15 - name.size() : 1, ' ') << command.summary << "\n";
  }
  out << "\n'bertfleet-worker COMMAND --help' describes a command's options and the environment variables it\n"
         "reads.\n";
#ifdef BERTFLEET_SERVICES
  out << "\nworker agent: bertfleet-worker --coordinator HOST:PORT --device cpu [--threads N] [--worker-id ID]\n"
         "              [--data-root DIR]   ('bertfleet-worker --coordinator x --help' for every option);\n"
         "              it trains each assignment in a `bertfleet-worker run-assignment` child.\n";
#endif
  out << "\nexample:\n  bertfleet-worker train --job examples/mrpc-minilm.yaml --output runs/mrpc\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    PrintUsage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 2 : 0;
  }
  std::function<int(const bertfleet::CommandArgs&)> run;
  bertfleet::CommandArgs args(argv + 2, argv + argc);
  const char* name = argv[1];
#ifdef BERTFLEET_SERVICES
  // `bertfleet-worker --coordinator ADDR ...` is the agent; run-assignment is its (hidden) child.
  if (!std::strncmp(argv[1], "--", 2)) {
    run = bertfleet::RunAgentCommand;
    args.insert(args.begin(), argv[1]);
    name = "agent";
  } else if (!std::strcmp(argv[1], "run-assignment")) {
    run = bertfleet::RunAssignmentCommand;
  }
#endif
  if (!run) {
    const auto command = Subcommands().find(argv[1]);
    if (command == Subcommands().end()) {
      std::cerr << "bertfleet-worker: unknown command '" << argv[1] << "'\n";
      PrintUsage(std::cerr);
      return 2;
    }
    run = command->second.run;
  }
  try {
    return run(args);
  } catch (const bertfleet::Error& error) {
    std::cerr << "bertfleet-worker " << name << ": " << error.what() << "\n";
    return 1;
  } catch (const std::exception& error) {
    std::cerr << "bertfleet-worker " << name << ": internal error: " << error.what() << "\n";
    return 1;
  }
}
