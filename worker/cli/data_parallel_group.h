#pragma once
// `bertfleet-worker train --world-size N --rank R --rendezvous HOST:PORT` (or
// --rendezvous-file PATH): standalone data-parallel training across processes, as torchrun
// does it. Rank 0 serves the group's store on PORT (0: a free port) and prints
// `rendezvous HOST:PORT` on stderr (and writes HOST:PORT to the rendezvous file); the other
// ranks connect to the address given, or wait for the file.
#include <functional>
#include <memory>
#include <string>

#include "common/cli/arg_parser.h"
#include "worker/engine/communicator.h"

namespace bertfleet {

void AddDataParallelFlags(ArgParser& parser);

// Null for --world-size 1 (or none). Throws Error naming the flag for bad values, or naming the
// rank that did not arrive within the collective timeout.
std::unique_ptr<Communicator> JoinDataParallelGroup(const ArgParser& parser,
                                                    const std::function<void(const std::string&)>& log);

}  // namespace bertfleet
