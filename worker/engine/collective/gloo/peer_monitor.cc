#include "worker/engine/collective/gloo/peer_monitor.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <vector>

#include "common/util/seconds_text.h"
#include "worker/engine/torch/torch_error_text.h"

namespace bertfleet {

namespace {

using Clock = std::chrono::steady_clock;

// A heartbeat that did not change for this many polls (and intervals) is a dead peer.
constexpr int64_t kStalePolls = 4;

std::vector<uint8_t> Bytes(const std::string& text) { return {text.begin(), text.end()}; }
std::string Text(const std::vector<uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }

int64_t CollectiveOf(const std::string& heartbeat) {
  std::istringstream in(heartbeat);
  int64_t beat = 0, collective = 0;
  in >> beat >> collective;
  return collective;
}

std::string FailedKey(int rank) { return "failed/" + std::to_string(rank); }
std::string DiagnosedKey(int rank) { return "diagnosed/" + std::to_string(rank); }

}  // namespace

struct PeerMonitor::Shared {
  struct Peer {
    std::string heartbeat;
    int64_t collective = 0;
    Clock::time_point last_change;
    int64_t unchanged_polls = 0;
  };

  c10::intrusive_ptr<c10d::Store> store;
  int rank = 0;
  int world_size = 1;
  std::chrono::milliseconds interval{1000};
  std::atomic<int64_t> collective{0};

  std::mutex store_mutex;  // one request at a time on the connection

  std::mutex state_mutex;  // guards everything below
  std::condition_variable wake;
  bool stop = false;
  bool store_reachable = true;
  std::string store_error;
  int64_t beat = 0;
  std::vector<Peer> peers;

  bool IsStale(const Peer& peer, Clock::time_point now) const {
    return peer.unchanged_polls >= kStalePolls && now - peer.last_change >= kStalePolls * interval;
  }
};

std::string PeerMonitor::HeartbeatKey(int rank) { return "heartbeat/" + std::to_string(rank); }

std::string PeerMonitor::HeartbeatValue(int64_t beat, int64_t collective) {
  return std::to_string(beat) + " " + std::to_string(collective);
}

std::chrono::milliseconds PeerMonitor::IntervalFor(std::chrono::milliseconds timeout) {
  return std::clamp(timeout / 20, std::chrono::milliseconds(100), std::chrono::milliseconds(1000));
}

std::chrono::milliseconds PeerMonitor::PatienceFor(std::chrono::milliseconds timeout) {
  return (kStalePolls + 2) * IntervalFor(timeout);
}

PeerMonitor::PeerMonitor(c10::intrusive_ptr<c10d::Store> store, int rank, int world_size,
                         std::chrono::milliseconds interval)
    : shared_(std::make_shared<Shared>()) {
  shared_->store = std::move(store);
  shared_->rank = rank;
  shared_->world_size = world_size;
  shared_->interval = interval;
  shared_->peers.resize(static_cast<size_t>(world_size));
  for (auto& peer : shared_->peers) peer.last_change = Clock::now();
  thread_ = std::thread(HeartbeatLoop, shared_);
}

PeerMonitor::~PeerMonitor() {
  {
    std::lock_guard<std::mutex> lock(shared_->state_mutex);
    shared_->stop = true;
  }
  shared_->wake.notify_all();
  if (abandoned_) {
    thread_.detach();
  } else {
    thread_.join();
  }
}

void PeerMonitor::EnterCollective(int64_t collective) { shared_->collective.store(collective); }

void PeerMonitor::HeartbeatLoop(std::shared_ptr<Shared> shared) {
  for (;;) {
    int64_t beat = 0;
    {
      std::unique_lock<std::mutex> lock(shared->state_mutex);
      if (shared->wake.wait_for(lock, shared->interval, [&] { return shared->stop; })) return;
      beat = ++shared->beat;
    }
    std::vector<std::string> heartbeats(static_cast<size_t>(shared->world_size));
    std::string error;
    try {
      std::lock_guard<std::mutex> lock(shared->store_mutex);
      shared->store->set(HeartbeatKey(shared->rank), Bytes(HeartbeatValue(beat, shared->collective.load())));
      for (int peer = 0; peer < shared->world_size; ++peer) {
        if (peer != shared->rank) heartbeats[static_cast<size_t>(peer)] = Text(shared->store->get(HeartbeatKey(peer)));
      }
    } catch (const std::exception& failure) {
      error = TorchErrorText(failure);
    }

    std::lock_guard<std::mutex> lock(shared->state_mutex);
    shared->store_reachable = error.empty();
    if (!error.empty()) {
      shared->store_error = error;
      continue;
    }
    const auto now = Clock::now();
    for (int peer = 0; peer < shared->world_size; ++peer) {
      if (peer == shared->rank) continue;
      auto& state = shared->peers[static_cast<size_t>(peer)];
      const std::string& heartbeat = heartbeats[static_cast<size_t>(peer)];
      if (heartbeat != state.heartbeat) {
        state.heartbeat = heartbeat;
        state.collective = CollectiveOf(heartbeat);
        state.last_change = now;
        state.unchanged_polls = 0;
      } else {
        ++state.unchanged_polls;
      }
    }
  }
}

std::string PeerMonitor::Diagnose(int64_t collective, std::chrono::milliseconds patience, const std::string& failure) {
  Shared& shared = *shared_;
  try {
    std::lock_guard<std::mutex> lock(shared.store_mutex);
    shared.store->set(FailedKey(shared.rank), Bytes(failure.substr(0, 300)));
  } catch (const std::exception&) {
    // Best effort: the store may be gone with rank 0.
  }

  // A peer killed a moment ago still has a fresh heartbeat: give it time to go stale.
  const auto deadline = Clock::now() + patience;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(shared.state_mutex);
      const auto now = Clock::now();
      const bool any_stale = std::any_of(shared.peers.begin(), shared.peers.end(), [&](const Shared::Peer& peer) {
        return &peer != &shared.peers[static_cast<size_t>(shared.rank)] && shared.IsStale(peer, now);
      });
      if (!shared.store_reachable || any_stale || now >= deadline) break;
    }
    std::this_thread::sleep_for(shared.interval / 2);
  }

  std::vector<std::string> peer_failures(static_cast<size_t>(shared.world_size));
  bool store_reachable = false;
  {
    std::lock_guard<std::mutex> lock(shared.state_mutex);
    store_reachable = shared.store_reachable;
    if (!store_reachable && shared.rank != 0) {
      return "rank 0 is gone (the rendezvous store it serves is unreachable: " + shared.store_error + ")";
    }
  }
  for (int peer = 0; peer < shared.world_size && store_reachable; ++peer) {
    if (peer == shared.rank) continue;
    try {
      std::lock_guard<std::mutex> lock(shared.store_mutex);
      if (shared.store->check({FailedKey(peer)})) peer_failures[static_cast<size_t>(peer)] = Text(shared.store->get(FailedKey(peer)));
    } catch (const std::exception&) {
    }
  }

  std::vector<std::string> gone, failed, behind;
  {
    std::lock_guard<std::mutex> lock(shared.state_mutex);
    const auto now = Clock::now();
    for (int peer = 0; peer < shared.world_size; ++peer) {
      if (peer == shared.rank) continue;
      const auto& state = shared.peers[static_cast<size_t>(peer)];
      const std::string& peer_failure = peer_failures[static_cast<size_t>(peer)];
      const std::string name = "rank " + std::to_string(peer);
      if (!peer_failure.empty()) {
        failed.push_back(name + " failed too (" + peer_failure + ")");
      } else if (shared.IsStale(state, now)) {
        gone.push_back(name + " is gone (no heartbeat for " + SecondsText(now - state.last_change) + ")");
      } else if (state.collective < collective) {
        behind.push_back(name + " is alive but has not arrived (it is at collective #" +
                         std::to_string(state.collective) + ", this rank at #" + std::to_string(collective) + ")");
      }
    }
  }
  // The culprits first; ranks that failed because of them only when nobody else is to blame.
  std::vector<std::string> parts = gone;
  parts.insert(parts.end(), behind.begin(), behind.end());
  if (parts.empty()) parts = failed;
  std::string text;
  for (const auto& part : parts) text += (text.empty() ? "" : "; ") + part;
  if (text.empty()) text = "every peer is alive and at collective #" + std::to_string(collective);
  AwaitPeerDiagnoses(patience);
  return text;
}

void PeerMonitor::AwaitPeerDiagnoses(std::chrono::milliseconds patience) {
  Shared& shared = *shared_;
  try {
    std::lock_guard<std::mutex> lock(shared.store_mutex);
    shared.store->set(DiagnosedKey(shared.rank), Bytes("1"));
  } catch (const std::exception&) {
    return;  // the store is gone: nobody can read it any more
  }
  // Rank 0 serves the store: leaving at once would make every slower survivor blame rank 0 for
  // the unreachable store instead of naming the rank that died. It waits (bounded) until each
  // live peer has finished its own diagnosis.
  if (shared.rank != 0) return;
  const auto deadline = Clock::now() + 2 * patience;
  for (;;) {
    std::vector<int> live;
    {
      std::lock_guard<std::mutex> lock(shared.state_mutex);
      const auto now = Clock::now();
      for (int peer = 1; peer < shared.world_size; ++peer) {
        if (!shared.IsStale(shared.peers[static_cast<size_t>(peer)], now)) live.push_back(peer);
      }
    }
    bool waiting = false;
    for (const int peer : live) {
      try {
        std::lock_guard<std::mutex> lock(shared.store_mutex);
        waiting = waiting || !shared.store->check({DiagnosedKey(peer)});
      } catch (const std::exception&) {
      }
    }
    if (!waiting || Clock::now() >= deadline) return;
    std::this_thread::sleep_for(shared.interval / 2);
  }
}

}  // namespace bertfleet
