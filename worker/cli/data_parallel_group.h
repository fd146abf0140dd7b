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
#include "worker/engine/collective/make_communicator.h"

namespace bertfleet {

void AddDataParallelFlags(ArgParser& parser);

// The rendezvous the flags describe (world size 1 without any). Throws Error naming the flag for
// bad values; ranks > 0 with --rendezvous-file wait for rank 0 to write it.
RendezvousOptions RendezvousFromFlags(const ArgParser& parser);

}  // namespace bertfleet
