// Fleet: elastic jobs (spec `min_world_size` < `world_size`). Such a job starts, or restarts after
// a lost rank, on as few as min_world_size workers when no more are idle; the workers train the
// missing ranks' slices too (worker/engine/train/trainer.h), so its math is the requested size's.
// When idle workers appear, it grows back: at its next checkpoint its ranks stop, and once they all
// did the job restarts from the newest checkpoint on the larger gang. Each change of size is a resize event.
#include <algorithm>
#include <regex>

#include "coordinator/fleet.h"
#include "coordinator/log.h"
#include "coordinator/time_util.h"

namespace bertfleet::coordinator {

namespace {

int64_t StepOfCheckpoint(const std::string& path) {
  static const std::regex kCheckpoint(R"(checkpoint-(\d+)/?$)");
  std::smatch match;
  return std::regex_search(path, match, kCheckpoint) ? std::stoll(match[1]) : 0;
}

std::string Workers(int64_t count) { return std::to_string(count) + " worker" + (count == 1 ? "" : "s"); }

}  // namespace

int64_t Fleet::GangNeeded(const JobEntry& entry) const {
  if (entry.hold_for > 0 && Now() < entry.hold_deadline) return entry.hold_for;
  const v1::Job& job = entry.job;
  return job.min_world_size() > 0 ? std::min(job.min_world_size(), job.world_size()) : job.world_size();
}

void Fleet::PlanGrowth(const std::map<std::string, std::vector<std::string>>& idle_left) {
  for (auto& [id, entry] : jobs_) {
    const v1::Job& job = entry.job;
    const int64_t gang = job.worker_ids_size();
    int32_t grow_to = 0;
    if (job.state() == v1::JOB_STATE_RUNNING && !entry.cancelling && !entry.recovering && !entry.resizing &&
        gang < job.world_size()) {
      auto it = idle_left.find(job.device());
      const int64_t idle = it == idle_left.end() ? 0 : static_cast<int64_t>(it->second.size());
      if (idle > 0) grow_to = static_cast<int32_t>(std::min(job.world_size(), gang + idle));
    }
    if (grow_to > 0 && entry.grow_to == 0) {
      Log("INFO", "elastic job will grow at its next checkpoint",
          {{"job", id}, {"from", std::to_string(gang)}, {"to", std::to_string(grow_to)}});
    }
    entry.grow_to = grow_to;
  }
}

void Fleet::GrowAtCheckpoint(JobEntry& entry, const std::string& checkpoint) {
  const int64_t gang = entry.job.worker_ids_size();
  entry.resizing = true;
  entry.resize_target = entry.grow_to;
  entry.resize_deadline = Now() + std::chrono::milliseconds(options_.cancel_timeout_ms);
  entry.resize_reason = "growing from " + Workers(gang) + " to " + std::to_string(entry.resize_target) + " at " + checkpoint;
  Log("INFO", "elastic job stops to grow", {{"job", entry.job.id()}, {"reason", entry.resize_reason}});
  // The ranks save once more at their next step boundary as they stop (SIGTERM), and report what
  // they finished before (the epoch whose checkpoint this is comes after it); the next attempt
  // resumes from the newest valid checkpoint, so no step is lost or repeated.
  SendCancel(entry, "the job restarts on " + Workers(entry.resize_target) + " from " + checkpoint, true);
}

void Fleet::MaybeResized(JobEntry& entry, bool deadline_passed, Deferred& after) {
  if (!entry.resizing) return;
  const bool all = std::all_of(entry.finished.begin(), entry.finished.end(), [](bool b) { return b; });
  if (!all && !deadline_passed) return;
  entry.resizing = false;
  RecordAttemptEnd(entry, "RESIZED", entry.resize_reason);
  // Its old gang is idle now: the job waits a moment for the larger gang only, then takes what is idle.
  entry.hold_for = entry.resize_target;
  entry.hold_deadline = Now() + std::chrono::milliseconds(options_.cancel_timeout_ms + options_.lease_ms);
  SetState(entry, v1::JOB_STATE_QUEUED, "queued to restart on more workers: " + entry.resize_reason, after);
}

void Fleet::EmitResizeIfAny(const JobEntry& entry, int32_t previous_gang) {
  const v1::Job& job = entry.job;
  const int32_t gang = job.worker_ids_size();
  const bool first_is_small = previous_gang == 0 && gang < job.world_size();
  if (!(previous_gang > 0 && previous_gang != gang) && !first_is_small) return;
  v1::JobEvent event;
  SetTimestamp(event.mutable_time(), WallMs());
  event.set_job_id(job.id());
  v1::JobResize* resize = event.mutable_resize();
  resize->set_from_world_size(previous_gang);
  resize->set_to_world_size(gang);
  resize->set_world_size(job.world_size());
  resize->set_min_world_size(job.min_world_size());
  resize->set_global_step(entry.latest_checkpoint_step >= 0 ? entry.latest_checkpoint_step
                                                            : StepOfCheckpoint(job.latest_checkpoint()));
  std::string reason = entry.resize_reason;
  if (gang < job.world_size()) {
    reason += std::string(reason.empty() ? "" : "; ") + "only " + Workers(gang) + " of " + std::to_string(job.world_size()) +
              " idle (min_world_size " + std::to_string(job.min_world_size()) + ")";
  }
  resize->set_reason(reason);
  event.set_message("resized from " + std::to_string(previous_gang) + " to " + Workers(gang) + ": " + reason);
  *event.mutable_job() = job;
  Log("INFO", "job resized", {{"job", job.id()}, {"from", std::to_string(previous_gang)},
                              {"to", std::to_string(gang)}, {"reason", reason}});
  Emit(event, true);
}

}  // namespace bertfleet::coordinator
