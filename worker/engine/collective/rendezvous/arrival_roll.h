#pragma once
// Who of a group has arrived, for transports that cannot say who is missing (NCCL only reports
// that its communicator did not form). Rank 0 keeps the roll: a small TCP listener the other
// ranks check in with (their rank and world size) before joining the real group, so a join that
// times out can name the ranks that never came. Gloo does not need it: its store names them already.
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace bertfleet {

class ArrivalRoll {
 public:
  // Listens on `listen_host` ("": every interface; 0.0.0.0 / "::" the IPv4 / IPv6 wildcard),
  // `port` (0: a free one).
  ArrivalRoll(const std::string& listen_host, int world_size, int port = 0);
  ~ArrivalRoll();
  ArrivalRoll(const ArrivalRoll&) = delete;
  ArrivalRoll& operator=(const ArrivalRoll&) = delete;

  int port() const { return port_; }
  // Ranks 1 .. world_size - 1 that have not checked in yet, ascending.
  std::vector<int> Missing() const;

 private:
  void Serve();

  int world_size_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::set<int> arrived_;
  std::thread thread_;
};

// Ranks > 0: tells rank 0's roll at host:port that `rank` of `world_size` has arrived, retrying
// until `timeout` (each connection attempt bounded too). Error: no answer within the timeout
// (rank 0 did not arrive or already failed), rank 0's group has another world size, or the host
// does not resolve.
void CheckInWithRoll(const std::string& host, int port, int rank, int world_size, std::chrono::milliseconds timeout);

// "rank 2 did not join" / "ranks 2, 5 did not join".
std::string DescribeMissingRanks(const std::vector<int>& missing);

}  // namespace bertfleet
