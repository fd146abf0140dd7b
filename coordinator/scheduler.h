#pragma once
// The scheduling policy, as a pure function so it can be tested without a server.
//
// Queued jobs are considered in strict priority order (higher first), FIFO (submission order)
// among equal priorities. A job needing N workers of its device starts only when N such workers
// are idle (gang scheduling: never a partial allocation). A job that cannot start does not block
// the jobs behind it: they may backfill the idle workers (see docs/control-plane.md for the
// starvation trade-off).
//
// An elastic job (min_world_size < world_size) starts on fewer workers when fewer are idle: on
// as many as are idle, up to world_size, but never below min_world_size.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bertfleet::coordinator {

struct QueuedJob {
  std::string id;
  int64_t priority = 0;
  int64_t seq = 0;  // submission order
  int64_t world_size = 1;
  std::string device = "cpu";
  int64_t min_world_size = 0;  // 0: world_size (not elastic)
};

struct Placement {
  std::string job_id;
  std::vector<std::string> worker_ids;  // rank order
};

// `idle` maps a device ("cpu", "cuda") to its idle workers in preference order.
std::vector<Placement> Schedule(std::vector<QueuedJob> queued,
                                std::map<std::string, std::vector<std::string>> idle);

}  // namespace bertfleet::coordinator
