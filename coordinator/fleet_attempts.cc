// Fleet: attempts. An attempt is one start of a job on a gang of workers; it ends on all ranks
// at once (gang semantics: the ranks train one model together, so one lost rank ends them all).
// A failed attempt restarts the job from its latest checkpoint, up to the spec's max_restarts.
#include <filesystem>

#include "coordinator/fleet.h"
#include "coordinator/log.h"
#include "coordinator/time_util.h"

namespace bertfleet::coordinator {

using bertfleet::v1::Job;
using bertfleet::v1::JobState;
using bertfleet::v1::JobState_Name;

namespace {

// What the workers are told to resume from. "last" makes the engine take the newest *valid*
// checkpoint in output_dir (skipping a corrupt or half-written one), which is at least as new as
// the one rank 0 last reported: a rank stopped by SIGTERM may have saved one more.
std::string ResumeFrom(const Job& job) { return job.latest_checkpoint().empty() ? "" : "last"; }

}  // namespace

void Fleet::StartAttempt(JobEntry& entry, const std::vector<std::string>& worker_ids, Deferred& after) {
  Job& job = entry.job;
  const int64_t now = WallMs();
  const int32_t gang_size = static_cast<int32_t>(worker_ids.size());
  int32_t previous_gang = 0;
  if (job.attempts_size() > 0) {
    const v1::JobAttempt& previous = job.attempts(job.attempts_size() - 1);
    previous_gang = previous.worker_ids_size();
    if (entry.resize_reason.empty()) entry.resize_reason = previous.message();
  }
  job.set_attempt(job.attempt() + 1);
  job.clear_worker_ids();
  for (const auto& id : worker_ids) job.add_worker_ids(id);
  job.set_current_world_size(gang_size);
  job.set_output_dir((std::filesystem::path(options_.checkpoint_root) / job.id()).string());
  entry.started.assign(gang_size, false);
  entry.finished.assign(gang_size, false);
  store_->BeginAttempt(job.id(), job.attempt(), worker_ids, job.latest_checkpoint(), now);
  v1::JobAttempt* record = job.add_attempts();
  record->set_attempt(job.attempt());
  for (const auto& id : worker_ids) record->add_worker_ids(id);
  SetTimestamp(record->mutable_started_at(), now);
  record->set_resumed_from(job.latest_checkpoint());

  EmitResizeIfAny(entry, previous_gang);
  entry.resize_reason.clear();
  entry.hold_for = 0;
  entry.grow_to = 0;

  std::string gang;
  for (const auto& id : worker_ids) gang += (gang.empty() ? "" : ", ") + id;
  std::string message = "assigned to " + gang;
  if (gang_size < job.world_size()) {
    message += " (" + std::to_string(gang_size) + " of " + std::to_string(job.world_size()) +
               " ranks: each also trains the slices of the missing ones)";
  }
  if (!job.latest_checkpoint().empty()) message += ", resuming from " + job.latest_checkpoint();
  SetState(entry, v1::JOB_STATE_SCHEDULED, message, after);
  for (int rank = 0; rank < static_cast<int>(worker_ids.size()); ++rank) {
    WorkerEntry& worker = workers_.at(worker_ids[rank]);
    worker.job_id = job.id();
    worker.attempt = job.attempt();
    worker.rank = rank;
    v1::CoordinatorMessage assignment_message;
    auto* a = assignment_message.mutable_assignment();
    a->set_job_id(job.id());
    a->set_attempt(job.attempt());
    a->set_rank(rank);
    a->set_world_size(gang_size);  // the spec's world_size stays the job's (logical) size
    a->set_spec_yaml(job.spec_yaml());
    a->set_output_dir(job.output_dir());
    a->set_data_root(options_.data_root);
    a->set_resume_from(ResumeFrom(job));
    *a->mutable_tracking() = options_.tracking;
    a->mutable_tracking()->set_owner(job.owner());
    worker.session->Send(assignment_message);
  }
}

void Fleet::SendCancel(JobEntry& entry, const std::string& reason, bool only_unfinished) {
  const Job& job = entry.job;
  for (int rank = 0; rank < job.worker_ids_size(); ++rank) {
    if (only_unfinished && rank < static_cast<int>(entry.finished.size()) && entry.finished[rank]) continue;
    auto it = workers_.find(job.worker_ids(rank));
    if (it == workers_.end() || !it->second.session) continue;
    WorkerEntry& worker = it->second;
    if (worker.job_id != job.id() || worker.attempt != job.attempt()) continue;
    v1::CoordinatorMessage message;
    auto* cancel = message.mutable_cancel();
    cancel->set_job_id(job.id());
    cancel->set_attempt(job.attempt());
    cancel->set_reason(reason);
    worker.session->Send(message);
  }
}

void Fleet::RecordAttemptEnd(JobEntry& entry, const std::string& outcome, const std::string& message) {
  Job& job = entry.job;
  if (job.attempt() == 0) return;
  const int64_t now = WallMs();
  store_->FinishAttempt(job.id(), job.attempt(), outcome, message, now);
  if (job.attempts_size() > 0 && job.attempts(job.attempts_size() - 1).attempt() == job.attempt()) {
    v1::JobAttempt* record = job.mutable_attempts(job.attempts_size() - 1);
    record->set_outcome(outcome);
    record->set_message(message);
    SetTimestamp(record->mutable_finished_at(), now);
  }
}

void Fleet::EndAttempt(JobEntry& entry, JobState state, const std::string& message,
                       const std::string& cancel_reason, Deferred& after) {
  // "SUCCEEDED", "CANCELLED", ...: the job state's name without its JOB_STATE_ prefix.
  const std::string outcome = state == v1::JOB_STATE_QUEUED ? "REQUEUED" : JobState_Name(state).substr(10);
  RecordAttemptEnd(entry, outcome, message);
  if (!cancel_reason.empty()) SendCancel(entry, cancel_reason, true);
  SetState(entry, state, message, after);
}

void Fleet::FailAttempt(JobEntry& entry, const std::string& cause, const std::string& cancel_reason,
                        Deferred& after) {
  Job& job = entry.job;
  RecordAttemptEnd(entry, "FAILED", cause);
  // Every other rank stops now: its collectives would only time out without the lost one.
  SendCancel(entry, cancel_reason, true);
  if (job.restarts() >= job.max_restarts()) {
    std::string message = cause;
    if (job.max_restarts() > 0) message += " (no restarts left: max_restarts " + std::to_string(job.max_restarts()) + ")";
    SetState(entry, v1::JOB_STATE_FAILED, message, after);
    return;
  }
  job.set_restarts(job.restarts() + 1);
  const std::string from = job.latest_checkpoint().empty() ? "the beginning" : job.latest_checkpoint();
  Log("WARN", "restarting job", {{"job", job.id()}, {"attempt", std::to_string(job.attempt())},
                                 {"restart", std::to_string(job.restarts())}, {"cause", cause}});
  // QUEUED: the scheduler starts the next attempt as soon as a full gang of workers is idle (an
  // elastic job: as soon as min_world_size are).
  SetState(entry, v1::JOB_STATE_QUEUED,
           "restart " + std::to_string(job.restarts()) + " of " + std::to_string(job.max_restarts()) + " from " +
               from + " after: " + cause,
           after);
}

void Fleet::OnCheckpointSaved(WorkerEntry& worker, const v1::CheckpointSaved& saved) {
  // Rank 0 writes the checkpoints. Its report counts even when it arrives after its attempt was
  // ended (a rank stopped by SIGTERM saves at its next step boundary): the file is there to resume.
  auto it = jobs_.find(saved.job_id());
  if (it == jobs_.end() || worker.job_id != saved.job_id() || worker.attempt != saved.attempt() ||
      worker.rank != 0 || saved.path().empty()) {
    return;
  }
  JobEntry& entry = it->second;
  if (v1::IsFinalJobState(entry.job.state()) || saved.global_step() < entry.latest_checkpoint_step) return;
  entry.latest_checkpoint_step = saved.global_step();
  entry.job.set_latest_checkpoint(saved.path());
  store_->UpdateJob(entry.job);
  Log("INFO", "checkpoint saved", {{"job", saved.job_id()}, {"attempt", std::to_string(saved.attempt())},
                                   {"step", std::to_string(saved.global_step())}, {"path", saved.path()}});
  // An elastic job grows at a checkpoint, not after the last step (nothing would be left to do).
  const bool more_to_train = entry.job.total_steps() <= 0 || saved.global_step() < entry.job.total_steps();
  if (entry.grow_to > entry.job.worker_ids_size() && entry.job.state() == v1::JOB_STATE_RUNNING &&
      saved.attempt() == entry.job.attempt() && !entry.cancelling && !entry.recovering && !entry.resizing &&
      more_to_train) {
    GrowAtCheckpoint(entry, saved.path());
  }
}

}  // namespace bertfleet::coordinator
