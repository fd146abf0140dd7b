// Fleet: workers — registration, reports from the Connect stream, loss, timers, recovery.
#include <algorithm>

#include "coordinator/fleet.h"
#include "coordinator/log.h"
#include "coordinator/time_util.h"

namespace bertfleet::coordinator {

using bertfleet::v1::JobState_Name;

uint64_t Fleet::Attach(WorkerSession* session, const v1::RegisterWorker& request) {
  Deferred after;
  uint64_t session_id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::string id = request.worker_id();
    while (id.empty() || (request.worker_id().empty() && workers_.count(id))) {
      id = "worker-" + std::to_string(next_worker_++);
    }
    auto existing = workers_.find(id);
    if (existing != workers_.end() && existing->second.session) {
      existing->second.session->Close(grpc::Status(
          grpc::StatusCode::ABORTED, "worker " + id + " connected again; this stream is replaced"));
      WorkerLost(existing->second, "replaced by a new connection", after);
    }
    WorkerEntry& worker = workers_[id];
    worker = WorkerEntry{};
    worker.info.set_id(id);
    worker.info.set_host(request.host());
    worker.info.set_device(request.device().empty() ? "cpu" : request.device());
    worker.info.set_threads(request.threads());
    worker.info.set_version(request.version());
    worker.info.set_state(v1::Worker::STATE_IDLE);
    SetTimestamp(worker.info.mutable_last_heartbeat(), WallMs());
    session_id = next_session_++;
    worker.session_id = session_id;
    worker.session = session;
    worker.last_seen = Now();
    sessions_[session_id] = id;
    v1::CoordinatorMessage reply;
    reply.mutable_registered()->set_worker_id(id);
    reply.mutable_registered()->set_heartbeat_interval_ms(options_.heartbeat_interval_ms);
    reply.mutable_registered()->set_lease_ms(options_.lease_ms);
    session->Send(reply);
    Log("INFO", "worker registered", {{"worker", id}, {"host", request.host()},
                                      {"device", worker.info.device()},
                                      {"running", std::to_string(request.running_size())}});
    RecoverRunning(worker, request);
    ScheduleLocked(after);
  }
  for (auto& f : after) f();
  return session_id;
}

void Fleet::RecoverRunning(WorkerEntry& worker, const v1::RegisterWorker& request) {
  Deferred unused;
  for (const v1::RunningAssignment& running : request.running()) {
    auto it = jobs_.find(running.job_id());
    JobEntry* entry = it == jobs_.end() ? nullptr : &it->second;
    bool resumes = entry && entry->recovering && worker.job_id.empty() &&
                   running.attempt() == entry->job.attempt() && running.rank() >= 0 &&
                   running.rank() < entry->job.worker_ids_size() &&
                   entry->job.worker_ids(running.rank()) == worker.info.id();
    if (worker.job_id.empty()) {  // busy until it reports the assignment finished
      worker.job_id = running.job_id();
      worker.attempt = running.attempt();
      worker.rank = running.rank();
      worker.info.set_state(v1::Worker::STATE_BUSY);
    }
    if (!resumes) {
      v1::CoordinatorMessage message;
      message.mutable_cancel()->set_job_id(running.job_id());
      message.mutable_cancel()->set_attempt(running.attempt());
      message.mutable_cancel()->set_reason("job " + running.job_id() + " attempt " +
                                           std::to_string(running.attempt()) +
                                           " is not running on this coordinator");
      worker.session->Send(message);
      continue;
    }
    entry->started[running.rank()] = true;
    bool all = true;
    for (const auto& id : entry->job.worker_ids()) {
      auto w = workers_.find(id);
      all = all && w != workers_.end() && w->second.session && w->second.job_id == entry->job.id() &&
            w->second.attempt == entry->job.attempt();
    }
    if (all) {
      entry->recovering = false;
      SetState(*entry, v1::JOB_STATE_RUNNING, "resumed after a coordinator restart: every rank reported", unused);
    }
  }
  for (auto& f : unused) f();  // only rendezvous clears, safe under the lock
}

Fleet::JobEntry* Fleet::CurrentJobOf(const WorkerEntry& worker) {
  if (worker.job_id.empty()) return nullptr;
  auto it = jobs_.find(worker.job_id);
  if (it == jobs_.end() || it->second.job.attempt() != worker.attempt) return nullptr;
  if (worker.rank < 0 || worker.rank >= it->second.job.worker_ids_size()) return nullptr;
  return &it->second;
}

void Fleet::OnMessage(uint64_t session_id, const v1::WorkerMessage& message) {
  Deferred after;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto sit = sessions_.find(session_id);
    if (sit == sessions_.end()) return;
    WorkerEntry& worker = workers_.at(sit->second);
    worker.last_seen = Now();
    SetTimestamp(worker.info.mutable_last_heartbeat(), WallMs());
    JobEntry* entry = CurrentJobOf(worker);
    auto matches = [&](const std::string& job_id, int32_t attempt) {
      return entry && job_id == entry->job.id() && attempt == entry->job.attempt() &&
             IsActive(entry->job.state());
    };
    switch (message.message_case()) {
      case v1::WorkerMessage::kStarted: {
        const auto& started = message.started();
        if (!matches(started.job_id(), started.attempt()) || entry->cancelling) break;
        entry->started[worker.rank] = true;
        if (started.total_steps() > 0) entry->job.set_total_steps(started.total_steps());
        bool all = std::all_of(entry->started.begin(), entry->started.end(), [](bool b) { return b; });
        if (all && entry->job.state() == v1::JOB_STATE_SCHEDULED) {
          SetState(*entry, v1::JOB_STATE_RUNNING,
                   "all " + std::to_string(entry->job.worker_ids_size()) + " rank(s) started", after);
        }
        break;
      }
      case v1::WorkerMessage::kProgress: {
        const auto& progress = message.progress();
        if (!matches(progress.job_id(), progress.attempt()) || worker.rank != 0) break;
        entry->job.set_global_step(progress.progress().global_step());
        if (progress.progress().total_steps() > 0) entry->job.set_total_steps(progress.progress().total_steps());
        v1::JobEvent event;
        SetTimestamp(event.mutable_time(), WallMs());
        event.set_job_id(entry->job.id());
        *event.mutable_progress() = progress.progress();
        Emit(event, false);
        break;
      }
      case v1::WorkerMessage::kEpoch: {
        const auto& epoch = message.epoch();
        // Rank 0's report is the job's: every rank evaluates the same all-reduced metrics.
        if (!matches(epoch.job_id(), epoch.attempt()) || worker.rank != 0) break;
        if (!store_->AddEpochMetrics(epoch.job_id(), epoch.attempt(), epoch.metrics())) break;
        *entry->job.add_epochs() = epoch.metrics();
        entry->job.set_global_step(std::max(entry->job.global_step(), epoch.metrics().global_step()));
        store_->UpdateJob(entry->job);
        v1::JobEvent event;
        SetTimestamp(event.mutable_time(), WallMs());
        event.set_job_id(entry->job.id());
        *event.mutable_epoch() = epoch.metrics();
        Emit(event, true);
        break;
      }
      case v1::WorkerMessage::kCheckpoint:
        OnCheckpointSaved(worker, message.checkpoint());
        break;
      case v1::WorkerMessage::kFinished:
        HandleFinished(worker, message.finished(), after);
        break;
      default:
        break;  // heartbeat (the message itself renewed the lease) or a repeated register
    }
    ScheduleLocked(after);
  }
  for (auto& f : after) f();
}

void Fleet::HandleFinished(WorkerEntry& worker, const v1::AssignmentFinished& finished, Deferred& after) {
  if (finished.job_id() != worker.job_id || finished.attempt() != worker.attempt) return;
  JobEntry* entry = CurrentJobOf(worker);
  int32_t rank = worker.rank;
  worker.job_id.clear();
  worker.info.set_state(v1::Worker::STATE_IDLE);
  if (finished.worker_stopping()) worker.stopping = true;
  if (!entry || !IsActive(entry->job.state())) return;
  entry->finished[rank] = true;
  if (entry->cancelling) {
    MaybeCancelled(*entry, after);
    return;
  }
  if (entry->resizing) {  // stopped to grow, as told (or failed on the way: the next attempt resumes anyway)
    MaybeResized(*entry, false, after);
    return;
  }
  if (!finished.success()) {
    std::string why = finished.message().empty() ? (finished.cancelled() ? "stopped" : "failed")
                                                 : finished.message();
    FailAttempt(*entry, "rank " + std::to_string(rank) + " (worker " + worker.info.id() + ") failed: " + why,
                "rank " + std::to_string(rank) + " failed", after);
    return;
  }
  if (rank == 0) {
    if (finished.has_final_metrics()) *entry->job.mutable_final_metrics() = finished.final_metrics();
    if (!finished.model_dir().empty()) entry->job.set_output_dir(finished.model_dir());
  }
  if (std::all_of(entry->finished.begin(), entry->finished.end(), [](bool b) { return b; })) {
    EndAttempt(*entry, v1::JOB_STATE_SUCCEEDED, "training finished", "", after);
  }
}

void Fleet::WorkerLost(WorkerEntry& worker, const std::string& reason, Deferred& after) {
  sessions_.erase(worker.session_id);
  worker.session_id = 0;
  worker.session = nullptr;
  worker.info.set_state(v1::Worker::STATE_LOST);
  Log("WARN", "worker lost", {{"worker", worker.info.id()}, {"reason", reason}});
  JobEntry* entry = CurrentJobOf(worker);
  int32_t rank = worker.rank;
  worker.job_id.clear();
  if (!entry || !IsActive(entry->job.state())) return;
  entry->finished[rank] = true;
  if (entry->cancelling) {
    MaybeCancelled(*entry, after);
  } else if (entry->resizing) {
    MaybeResized(*entry, false, after);
  } else if (!entry->recovering) {
    std::string who = "worker " + worker.info.id() + " (rank " + std::to_string(rank) + ")";
    FailAttempt(*entry, who + " lost: " + reason, who + " was lost", after);
  }
}

void Fleet::Detach(uint64_t session_id, const std::string& reason) {
  Deferred after;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) return;
    WorkerLost(workers_.at(it->second), reason, after);
    ScheduleLocked(after);
  }
  for (auto& f : after) f();
}

void Fleet::Tick() {
  Deferred after;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto now = Now();
    for (auto& [id, worker] : workers_) {
      if (!worker.session || now - worker.last_seen <= std::chrono::milliseconds(options_.lease_ms)) continue;
      std::string reason = "no message for " + std::to_string(options_.lease_ms) + " ms (lease expired)";
      worker.session->Close(grpc::Status(grpc::StatusCode::UNAVAILABLE, reason));
      WorkerLost(worker, reason, after);
    }
    for (auto& [id, entry] : jobs_) {
      if (entry.cancelling && now >= entry.cancel_deadline) {
        std::string missing;
        for (const auto& wid : entry.job.worker_ids()) {
          auto w = workers_.find(wid);
          if (w != workers_.end() && w->second.job_id == id) missing += (missing.empty() ? "" : ", ") + wid;
        }
        EndAttempt(entry, v1::JOB_STATE_CANCELLED,
                   "cancelled by user (not confirmed within " + std::to_string(options_.cancel_timeout_ms) +
                       " ms by " + missing + ")",
                   "", after);
      } else if (entry.resizing && now >= entry.resize_deadline) {
        MaybeResized(entry, true, after);  // a rank that never confirmed stays busy until it reports
      } else if (entry.recovering && now >= entry.recovery_deadline) {
        EndAttempt(entry, v1::JOB_STATE_QUEUED,
                   "queued again: the coordinator restarted and attempt " + std::to_string(entry.job.attempt()) +
                       " was not reported by all its workers within " +
                       std::to_string(options_.recovery_grace_ms) + " ms",
                   "coordinator restarted; the attempt is abandoned", after);
      }
    }
    ScheduleLocked(after);
  }
  for (auto& f : after) f();
  rendezvous_->Tick();
}

void Fleet::ListWorkers(v1::ListWorkersResponse* response) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, worker] : workers_) {
    v1::Worker* out = response->add_workers();
    *out = worker.info;
    if (!worker.job_id.empty() && worker.session) {
      out->set_state(v1::Worker::STATE_BUSY);
      out->set_job_id(worker.job_id);
      out->set_rank(worker.rank);
    }
  }
}

}  // namespace bertfleet::coordinator
