#pragma once
// `Communicator` for CPU workers over LibTorch's c10d: ProcessGroupGloo, with a c10d TCPStore
// served by rank 0 for the rendezvous (torchrun's design without torchrun). Only in builds where
// Gloo's headers exist (BERTFLEET_GLOO; Debian: libgloo-dev); include under #ifdef BERTFLEET_GLOO.
//
// Timeouts: every call completes or throws Error within `timeout` (Gloo gets the timeout minus
// the few seconds PeerMonitor may need to name the culprit). Errors name the rank that is
// missing or dead. After a failure the communicator is unusable: every later call throws.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "worker/engine/collective/communicator.h"

namespace bertfleet {

struct GlooOptions {
  // Rank 0: its own connection goes here ("" or 0.0.0.0: 127.0.0.1); the store listens on every
  // interface. Other ranks: rank 0's address.
  std::string store_host;
  int store_port = 0;  // rank 0: 0 = any free port (see GlooCommunicator::store_port())
  int rank = 0;
  int world_size = 1;
  // Every key of this group lives under it ("<job_id>/<attempt>"), so a retry never reads a
  // stale attempt's keys.
  std::string key_prefix;
  std::chrono::milliseconds timeout = std::chrono::seconds(300);
  // Rank 0: called once the store accepts connections, with its port, before waiting for the
  // other ranks (that is when their address can be published).
  std::function<void(int port)> on_store_listening;
};

class GlooCommunicator : public Communicator {
 public:
  virtual int store_port() const = 0;
  // "gloo, rank 1 of 2, store 127.0.0.1:41235, timeout 300 s"
  virtual std::string Describe() const = 0;
};

// Opens (rank 0) or joins the store, waits until every rank has arrived (Error naming the ranks
// that did not arrive within the timeout) and connects the Gloo group.
std::unique_ptr<GlooCommunicator> MakeGlooCommunicator(const GlooOptions& options);

}  // namespace bertfleet
