#pragma once
// The c10d TCPStore a Gloo group meets through: rank 0 serves it, every rank connects, and all
// of a group's keys live under its prefix ("<job_id>/<attempt>/..."). The arrival barrier names
// the ranks that did not come, which neither c10d nor Gloo do.
#include <chrono>
#include <string>

#include <torch/csrc/distributed/c10d/Store.hpp>

#include "worker/engine/collective/gloo/gloo_communicator.h"

namespace bertfleet {

class RendezvousStore {
 public:
  // Rank 0 starts the server (port 0: any free port) and calls options.on_store_listening;
  // the others connect, retrying until options.timeout (then Error: rank 0 did not arrive).
  explicit RendezvousStore(const GlooOptions& options);

  // Every rank announces itself, then waits for all; Error naming the ranks that did not arrive
  // within the timeout.
  void AwaitAllRanks();

  // The group's keys (prefixed) on the main connection, or under a sub-prefix.
  c10::intrusive_ptr<c10d::Store> Keys(const std::string& sub_prefix = "") const;
  // A second connection to the same keys (for a thread that must not queue behind the first).
  c10::intrusive_ptr<c10d::Store> Connect(std::chrono::milliseconds timeout) const;

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  std::string address() const { return host_ + ":" + std::to_string(port_); }

 private:
  GlooOptions options_;
  std::string host_;
  int port_ = 0;
  c10::intrusive_ptr<c10d::Store> tcp_;  // on rank 0 also the server
};

}  // namespace bertfleet
