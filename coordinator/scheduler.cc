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
    if (job.world_size < 1 || static_cast<int64_t>(free.size()) < job.world_size) continue;  // backfill
    Placement placement{job.id, {}};
    placement.worker_ids.assign(free.begin(), free.begin() + job.world_size);
    free.erase(free.begin(), free.begin() + job.world_size);
    placements.push_back(std::move(placement));
  }
  return placements;
}

}  // namespace bertfleet::coordinator
