#pragma once
// The coordinator's worker agent inside bertfleet-worker (built with BERTFLEET_SERVICES):
//   bertfleet-worker --coordinator ADDR --device cpu [--threads N] [--worker-id ID] [--data-root DIR]
// and the hidden `bertfleet-worker run-assignment`, the child process that trains one
// assignment (bertfleet.v1.Assignment as JSON on stdin, one JSON event per line on stdout).
#include <string>
#include <vector>

namespace bertfleet {

int RunAgentCommand(const std::vector<std::string>& args);
int RunAssignmentCommand(const std::vector<std::string>& args);

}  // namespace bertfleet
