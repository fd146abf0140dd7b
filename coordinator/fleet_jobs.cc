// Fleet: jobs — submission, queries, cancellation, scheduling and state changes.
#include <algorithm>
#include <filesystem>
#include <random>

#include "coordinator/fleet.h"
#include "coordinator/log.h"
#include "coordinator/paging.h"
#include "coordinator/scheduler.h"
#include "coordinator/time_util.h"

namespace bertfleet::coordinator {

using bertfleet::v1::Job;
using bertfleet::v1::JobEvent;
using bertfleet::v1::JobState;
using bertfleet::v1::JobState_Name;

Fleet::Fleet(JobStore* store, WatchHub* hub, Rendezvous* rendezvous, FleetOptions options)
    : store_(store),
      hub_(hub),
      rendezvous_(rendezvous),
      options_(std::move(options)),
      clock_(options_.clock ? options_.clock : &system_clock_) {
  namespace fs = std::filesystem;
  options_.data_root = fs::absolute(options_.data_root).lexically_normal().string();
  options_.checkpoint_root = fs::absolute(options_.checkpoint_root).lexically_normal().string();
  if (options_.recovery_grace_ms < 0) options_.recovery_grace_ms = options_.lease_ms;
  auto deadline = Now() + std::chrono::milliseconds(options_.recovery_grace_ms);
  int recovering = 0;
  for (StoredJob& stored : store_->LoadJobs()) {
    JobEntry entry;
    entry.seq = stored.seq;
    entry.job = std::move(stored.job);
    entry.started.assign(entry.job.worker_ids_size(), false);
    entry.finished.assign(entry.job.worker_ids_size(), false);
    if (IsActive(entry.job.state())) {
      entry.recovering = true;
      entry.recovery_deadline = deadline;
      ++recovering;
    }
    jobs_.emplace(entry.job.id(), std::move(entry));
  }
  sweeps_ = store_->LoadSweeps();
  Log("INFO", "loaded jobs", {{"jobs", std::to_string(jobs_.size())}, {"sweeps", std::to_string(sweeps_.size())},
                              {"awaiting_workers", std::to_string(recovering)}});
}


bool Fleet::IsActive(JobState state) {
  return state == v1::JOB_STATE_SCHEDULED || state == v1::JOB_STATE_RUNNING;
}

std::string Fleet::NewId(const std::string& prefix, const std::function<bool(const std::string&)>& taken) {
  static std::mt19937_64 rng(std::random_device{}());
  static const char* kHex = "0123456789abcdef";
  while (true) {
    std::string id = prefix;
    uint64_t bits = rng();
    for (int i = 0; i < 10; ++i, bits >>= 4) id += kHex[bits & 15];
    if (!taken(id)) return id;
  }
}

grpc::Status Fleet::Submit(const std::string& spec_yaml, const JobSpec& spec, const std::string& owner,
                          const std::string& request_id, Job* snapshot) {
  Deferred after;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!request_id.empty()) {
      for (const auto& [id, existing] : jobs_) {
        if (existing.job.owner() != owner || existing.job.request_id() != request_id) continue;
        if (existing.job.spec_yaml() != spec_yaml) {
          return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                              "request_id " + request_id + " was used for " + id + " with another spec");
        }
        *snapshot = existing.job;  // a retry of a submit that already created the job
        return grpc::Status::OK;
      }
    }
    JobEntry entry;
    entry.job = NewQueuedJob(spec_yaml, spec, owner, request_id);
    entry.seq = store_->InsertJob(entry.job);
    std::string id = entry.job.id();
    AddQueuedJob(std::move(entry));
    ScheduleLocked(after);
    *snapshot = jobs_.at(id).job;
  }
  for (auto& f : after) f();
  return grpc::Status::OK;
}

Job Fleet::NewQueuedJob(const std::string& spec_yaml, const JobSpec& spec, const std::string& owner,
                        const std::string& request_id) {
  Job job;
  job.set_id(NewId("job-", [this](const std::string& id) { return jobs_.count(id) > 0; }));
  job.set_owner(owner);
  job.set_request_id(request_id);
  job.set_state(v1::JOB_STATE_QUEUED);
  job.set_spec_yaml(spec_yaml);
  job.set_world_size(spec.world_size);
  job.set_min_world_size(spec.EffectiveMinWorldSize());
  job.set_device(spec.device);
  job.set_priority(spec.priority);
  job.set_max_restarts(static_cast<int32_t>(spec.max_restarts));
  SetTimestamp(job.mutable_created_at(), WallMs());
  const std::string needed = spec.EffectiveMinWorldSize() < spec.world_size
                                 ? std::to_string(spec.EffectiveMinWorldSize()) + " to " + std::to_string(spec.world_size)
                                 : std::to_string(spec.world_size);
  job.set_message("waiting for " + needed + " idle " + spec.device + " worker(s)");
  job.set_output_dir((std::filesystem::path(options_.checkpoint_root) / job.id()).string());
  return job;
}

void Fleet::AddQueuedJob(JobEntry entry) {
  const Job& job = entry.job;
  JobEvent event;
  SetTimestamp(event.mutable_time(), WallMs());
  event.set_job_id(job.id());
  event.set_state(v1::JOB_STATE_QUEUED);
  event.set_message("submitted");
  *event.mutable_job() = job;
  Log("INFO", "job submitted", {{"job", job.id()}, {"world_size", std::to_string(job.world_size())},
                                {"device", job.device()}, {"priority", std::to_string(job.priority())},
                                {"sweep", job.sweep_id()}});
  jobs_.emplace(job.id(), std::move(entry));
  Emit(event, true);
}

grpc::Status Fleet::Get(const std::string& job_id, Job* job) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no job " + job_id);
  *job = it->second.job;
  return grpc::Status::OK;
}

grpc::Status Fleet::List(const v1::ListJobsRequest& request, v1::ListJobsResponse* response) {
  int64_t offset = 0;
  const grpc::Status token = ParsePageToken(request.page_token(), &offset);
  if (!token.ok()) return token;
  const int64_t page_size = PageSize(request.page_size());
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<const JobEntry*> matching;
  for (const auto& [id, entry] : jobs_) {
    const auto& states = request.states();
    if (!request.owner().empty() && entry.job.owner() != request.owner()) continue;
    if (states.empty() || std::find(states.begin(), states.end(), entry.job.state()) != states.end()) {
      matching.push_back(&entry);
    }
  }
  std::sort(matching.begin(), matching.end(),
            [](const JobEntry* a, const JobEntry* b) { return a->seq > b->seq; });
  for (int64_t i = offset; i < static_cast<int64_t>(matching.size()) && i < offset + page_size; ++i) {
    *response->add_jobs() = matching[i]->job;
  }
  if (offset + page_size < static_cast<int64_t>(matching.size())) {
    response->set_next_page_token(std::to_string(offset + page_size));
  }
  return grpc::Status::OK;
}

grpc::Status Fleet::Cancel(const std::string& job_id, JobCallback done) {
  Deferred after;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = jobs_.find(job_id);
    if (it == jobs_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no job " + job_id);
    JobEntry& entry = it->second;
    JobState state = entry.job.state();
    if (v1::IsFinalJobState(state)) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "job " + job_id + " already ended (" + JobState_Name(state) + ")");
    }
    entry.on_cancelled.push_back(std::move(done));
    if (state == v1::JOB_STATE_QUEUED) {
      SetState(entry, v1::JOB_STATE_CANCELLED, "cancelled while queued", after);
    } else if (!entry.cancelling) {
      entry.cancelling = true;
      entry.cancel_deadline = Now() + std::chrono::milliseconds(options_.cancel_timeout_ms);
      SendCancel(entry, "cancelled by user", true);
      Log("INFO", "cancelling job", {{"job", job_id}});
      MaybeCancelled(entry, after);
    }
  }
  for (auto& f : after) f();
  return grpc::Status::OK;
}

grpc::Status Fleet::Watch(const std::string& job_id, WatchSink* sink, bool* subscribed) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no job " + job_id);
  for (const JobEvent& event : store_->LoadEvents(job_id)) sink->Push(event);
  *subscribed = !v1::IsFinalJobState(it->second.job.state());
  if (*subscribed) hub_->Subscribe(job_id, sink);
  return grpc::Status::OK;
}

void Fleet::Emit(const JobEvent& event, bool persist) {
  if (persist) store_->AppendEvent(event);
  hub_->Publish(event);
  if (options_.on_event) options_.on_event(event);
}

void Fleet::SetState(JobEntry& entry, JobState state, const std::string& message, Deferred& after) {
  Job& job = entry.job;
  int64_t now = WallMs();
  job.set_state(state);
  job.set_message(message);
  if (state == v1::JOB_STATE_RUNNING && !job.has_started_at()) SetTimestamp(job.mutable_started_at(), now);
  if (state == v1::JOB_STATE_QUEUED) job.clear_worker_ids();
  job.set_current_world_size(v1::IsFinalJobState(state) ? 0 : job.worker_ids_size());
  if (state != v1::JOB_STATE_RUNNING) entry.grow_to = 0;
  if (v1::IsFinalJobState(state)) SetTimestamp(job.mutable_finished_at(), now);
  store_->UpdateJob(job);
  JobEvent event;
  SetTimestamp(event.mutable_time(), now);
  event.set_job_id(job.id());
  event.set_state(state);
  event.set_message(message);
  *event.mutable_job() = job;
  Emit(event, true);
  Log("INFO", "job state", {{"job", job.id()}, {"state", JobState_Name(state)},
                            {"attempt", std::to_string(job.attempt())}, {"message", message}});
  if (v1::IsFinalJobState(state) || state == v1::JOB_STATE_QUEUED) {
    entry.cancelling = false;
    entry.recovering = false;
    entry.resizing = false;
    std::string id = job.id();
    Rendezvous* rendezvous = rendezvous_;
    after.push_back([rendezvous, id] { rendezvous->Clear(id); });
  }
  if (v1::IsFinalJobState(state)) {
    for (auto& callback : entry.on_cancelled) {
      after.push_back([callback, job] { callback(job); });
    }
    entry.on_cancelled.clear();
  }
}

void Fleet::MaybeCancelled(JobEntry& entry, Deferred& after) {
  if (!entry.cancelling) return;
  for (int rank = 0; rank < entry.job.worker_ids_size(); ++rank) {
    const auto& id = entry.job.worker_ids(rank);
    auto it = workers_.find(id);
    bool still_running = it != workers_.end() && it->second.job_id == entry.job.id() &&
                         it->second.attempt == entry.job.attempt();
    if (still_running) return;
  }
  EndAttempt(entry, v1::JOB_STATE_CANCELLED, "cancelled by user", "", after);
}

void Fleet::ScheduleLocked(Deferred& after) {
  std::vector<QueuedJob> queued;
  for (const auto& [id, entry] : jobs_) {
    if (entry.job.state() == v1::JOB_STATE_QUEUED) {
      queued.push_back({id, entry.job.priority(), entry.seq, entry.job.world_size(), entry.job.device(),
                        GangNeeded(entry)});
    }
  }
  std::map<std::string, std::vector<std::string>> idle;
  for (const auto& [id, worker] : workers_) {
    if (worker.session && worker.job_id.empty() && !worker.stopping) idle[worker.info.device()].push_back(id);
  }
  if (!queued.empty()) {
    for (const Placement& placement : Schedule(std::move(queued), idle)) {
      std::vector<std::string>& free = idle[jobs_.at(placement.job_id).job.device()];
      for (const auto& id : placement.worker_ids) free.erase(std::find(free.begin(), free.end(), id));
      StartAttempt(jobs_.at(placement.job_id), placement.worker_ids, after);
    }
  }
  PlanGrowth(idle);  // what no queued job took, a shrunk elastic job may grow into
}

}  // namespace bertfleet::coordinator
