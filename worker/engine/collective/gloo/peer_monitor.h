#pragma once
// Which ranks of a Gloo group are alive, told through the rendezvous store. Gloo's own errors
// name only a socket address ("Connection closed by peer [10.0.0.7]:41235") or nothing at all
// (a timeout); this turns a failed collective into "rank 2 is gone".
//
// Every rank runs a heartbeat thread that writes "heartbeat/<rank>" = "<beat> <collective>"
// every interval (with its own store connection, so a long store wait elsewhere never delays
// it) and reads its peers' keys. A peer whose key stopped changing is gone (killed, crashed,
// stopped); a peer whose key changes but names an older collective is alive but never arrived.
// A rank that fails posts "failed/<rank>" so that its peers can tell the culprit from the ranks
// that merely gave up after it.
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <torch/csrc/distributed/c10d/Store.hpp>

namespace bertfleet {

class PeerMonitor {
 public:
  // `store` is this monitor's own connection (prefixed like every other key of the group); every
  // rank's heartbeat key must already exist (the rendezvous writes them before its barrier).
  PeerMonitor(c10::intrusive_ptr<c10d::Store> store, int rank, int world_size, std::chrono::milliseconds interval);
  ~PeerMonitor();
  PeerMonitor(const PeerMonitor&) = delete;
  PeerMonitor& operator=(const PeerMonitor&) = delete;

  // The heartbeat key's name and first value, which the rendezvous writes for each rank.
  static std::string HeartbeatKey(int rank);
  static std::string HeartbeatValue(int64_t beat, int64_t collective);
  // Heartbeat interval for a collective timeout: small enough that a dead peer shows within a
  // fraction of the timeout, large enough to cost nothing.
  static std::chrono::milliseconds IntervalFor(std::chrono::milliseconds timeout);
  // How long Diagnose may wait for a dead peer's heartbeat to go stale.
  static std::chrono::milliseconds PatienceFor(std::chrono::milliseconds timeout);

  // This rank started collective number `collective` (published with the next heartbeat).
  void EnterCollective(int64_t collective);

  // After collective `collective` failed on this rank: which peers are gone, failed or behind,
  // e.g. "rank 1 is gone (no heartbeat for 2.1 s)". Waits up to `patience` for a peer that just
  // died to go stale. Also posts this rank's failure for its peers.
  std::string Diagnose(int64_t collective, std::chrono::milliseconds patience, const std::string& failure);

  // After a failure: the heartbeat thread may be stuck on an unreachable store, so the
  // destructor leaves it running (the process is about to exit) instead of joining it.
  void Abandon() { abandoned_ = true; }

 private:
  struct Shared;  // what the heartbeat thread uses (outlives an abandoned monitor)

  static void HeartbeatLoop(std::shared_ptr<Shared> shared);
  // Marks this rank's diagnosis done; on rank 0 (the store's server) also waits, bounded, for the
  // live peers to finish theirs before the process may exit and take the store with it.
  void AwaitPeerDiagnoses(std::chrono::milliseconds patience);

  std::shared_ptr<Shared> shared_;
  std::thread thread_;
  bool abandoned_ = false;
};

}  // namespace bertfleet
