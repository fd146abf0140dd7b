#pragma once
// The coordinator's worker agent inside bertfleet-worker (built with BERTFLEET_SERVICES):
//   bertfleet-worker --coordinator ADDR --device cpu [--threads N] [--worker-id ID] [--data-root DIR]
// It runs each assignment in a `bertfleet-worker run-assignment` child (worker/cli), and links
// no LibTorch itself.
#include <string>
#include <vector>

namespace bertfleet {

int RunAgentCommand(const std::vector<std::string>& args);

}  // namespace bertfleet
