#include "coordinator/scheduler.h"

#include <algorithm>

namespace bertfleet::coordinator {

std::vector<Placement> Schedule(std::vector<QueuedJob> queued,
                                std::map<std::string, std::vector<std::string>> idle) {
  std::stable_sort(queued.begin(), queued.end(), [](const QueuedJob& a, const QueuedJob& b) {
    if (a.priority != b.priority) return a.priority > b.priority;
    return a.seq < b.seq;
  });
  std::vector<Placement> placements;
  for (const QueuedJob& job : queued) {
    std::vector<std::string>& free = idle[job.device];
    const int64_t fewest = job.min_world_size > 0 ? std::min(job.min_world_size, job.world_size) : job.world_size;
    const int64_t gang = std::min(job.world_size, static_cast<int64_t>(free.size()));
    if (fewest < 1 || gang < fewest) continue;  // backfill
    Placement placement{job.id, {}};
    placement.worker_ids.assign(free.begin(), free.begin() + gang);
    free.erase(free.begin(), free.begin() + gang);
    placements.push_back(std::move(placement));
  }
  return placements;
}

}  // namespace bertfleet::coordinator
