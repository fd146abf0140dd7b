#pragma once
// The one place that chooses a data-parallel run's collectives, for every entry point
// (`bertfleet-worker train` and the agent's `run-assignment`), for 1 and N ranks:
//   device: cpu   1 rank: in-process (nothing to reduce); N ranks: Gloo (where its headers exist).
//   device: cuda  NCCL, also for 1 rank, so single-GPU runs take the multi-GPU code path
//                 (BERTFLEET_NCCL=0: in-process for 1 rank, for machines where NCCL fails).
// For N ranks, rank 0 creates the meeting point and publishes a line of text the others need (a
// Gloo store's HOST:PORT, or "nccl:<unique id>@HOST:PORT" with the address of rank 0's arrival
// roll); the others join with it.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/config/job_spec.h"
#include "worker/engine/collective/communicator.h"

namespace bertfleet {

struct RendezvousOptions {
  int rank = 0;
  int world_size = 1;
  std::string key_prefix;  // Gloo: the group's store keys live under it ("<job_id>/<attempt>")
  std::chrono::milliseconds timeout = std::chrono::seconds(300);
  // Rank 0: the Gloo store, or the NCCL arrival roll, listens here (port 0: any free port); the
  // published address carries AdvertisedHost(listen_host). NCCL's own bootstrap picks its port.
  std::string listen_host = "127.0.0.1";
  int listen_port = 0;
  // Rank 0: called once with the text the other ranks need, before waiting for them.
  std::function<void(const std::string& rendezvous)> publish;
  // Ranks > 0: what rank 0 published, and where it came from (named in errors).
  std::string address;
  std::string address_source;
};

struct CollectiveGroup {
  std::unique_ptr<Communicator> communicator;  // never null
  std::string description;  // "single process" / "gloo, rank 1 of 2, store ..." / "nccl 2.28.3, rank 1 of 2, cuda:0"
  int cuda_device = 0;      // NCCL: the GPU this rank trains on
};

// Throws Error naming the rank(s) that did not arrive within the timeout, a malformed
// rendezvous (naming its source), or a device whose communicator this build lacks.
CollectiveGroup MakeCommunicator(const JobSpec& spec, const RendezvousOptions& rendezvous);

}  // namespace bertfleet
