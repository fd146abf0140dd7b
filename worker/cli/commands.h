#pragma once
// The bertfleet-worker subcommands; each lives in its own <name>_command.cc and returns the
// process exit status. Errors are thrown as bertfleet::Error and printed by main.
#include <string>
#include <vector>

namespace bertfleet {

using CommandArgs = std::vector<std::string>;

int RunTokenizeCommand(const CommandArgs& args);
int RunDataCommand(const CommandArgs& args);
int RunTrainCommand(const CommandArgs& args);
int RunPredictCommand(const CommandArgs& args);
int RunEvaluateCommand(const CommandArgs& args);
int RunResolveModelCommand(const CommandArgs& args);
// The agent's child (hidden): trains one assignment, writing AssignmentEvent frames on stdout.
int RunAssignmentCommand(const CommandArgs& args);

}  // namespace bertfleet
