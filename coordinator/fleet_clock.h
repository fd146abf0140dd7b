#pragma once
// The Fleet's two clocks behind one seam, so that leases, cancel timeouts and the recovery grace
// can be unit-tested without sleeping (tests/cpp/coordinator_fleet_test.cc).
#include <chrono>
#include <cstdint>

#include "coordinator/time_util.h"

namespace bertfleet::coordinator {

class FleetClock {
 public:
  virtual ~FleetClock() = default;
  // Monotonic: timers (leases, deadlines).
  virtual std::chrono::steady_clock::time_point Now() const = 0;
  // Milliseconds since the epoch: the timestamps jobs and events carry.
  virtual int64_t WallMs() const = 0;
};

class SystemFleetClock final : public FleetClock {
 public:
  std::chrono::steady_clock::time_point Now() const override { return std::chrono::steady_clock::now(); }
  int64_t WallMs() const override { return NowMs(); }
};

}  // namespace bertfleet::coordinator
