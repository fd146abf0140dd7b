#pragma once
// `bertfleet-worker train --world-size N --rank R --rendezvous X` (or --rendezvous-file PATH):
// standalone data-parallel training across processes, as torchrun does it. Rank 0 prints
// `rendezvous X` on stderr (and writes X to the rendezvous file); the other ranks join with the
// X given, or wait for the file.
//   device: cpu   Gloo. X = HOST:PORT: rank 0 serves the group's store there (port 0: any free
//                 port) and prints the address actually bound.
//   device: cuda  NCCL. Rank 0 listens for the other ranks' arrival on its HOST:PORT and prints
//                 X = nccl:<unique id>@HOST:PORT (NCCL's own bootstrap picks its port).
#include <functional>
#include <memory>
#include <string>

#include "common/cli/arg_parser.h"
#include "worker/engine/collective_group.h"

namespace bertfleet {

void AddDataParallelFlags(ArgParser& parser);

// A null communicator for --world-size 1 (or none). Throws Error naming the flag for bad values,
// or naming the rank that did not arrive within the collective timeout. `device`: the job's.
CollectiveGroup JoinDataParallelGroup(const ArgParser& parser, const std::string& device,
                                      const std::function<void(const std::string&)>& log);

}  // namespace bertfleet
