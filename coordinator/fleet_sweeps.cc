// Fleet: sweeps. A sweep is a definition (spec, seeds, grid, points) plus ordinary jobs that name
// it: the jobs queue, run, restart and are cancelled as any other; the sweep only groups them.
#include <algorithm>

#include "coordinator/fleet.h"
#include "coordinator/log.h"
#include "coordinator/paging.h"
#include "coordinator/sweep_summary.h"
#include "coordinator/time_util.h"

namespace bertfleet::coordinator {

namespace {

// Whether two requests ask for the same sweep (a retried CreateSweep).
bool SameRequest(const v1::Sweep& sweep, const v1::CreateSweepRequest& request) {
  v1::CreateSweepRequest stored;
  stored.set_spec_yaml(sweep.spec_yaml());
  *stored.mutable_seeds() = sweep.seeds();
  *stored.mutable_grid() = sweep.grid();
  v1::CreateSweepRequest asked = request;
  asked.clear_request_id();
  return stored.SerializeAsString() == asked.SerializeAsString();
}

}  // namespace

grpc::Status Fleet::CreateSweep(const v1::CreateSweepRequest& request, const SweepPlan& plan,
                                const std::string& owner, v1::Sweep* snapshot) {
  Deferred after;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!request.request_id().empty()) {
      for (const v1::Sweep& existing : sweeps_) {
        if (existing.owner() != owner || existing.request_id() != request.request_id()) continue;
        if (!SameRequest(existing, request)) {
          return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "request_id " + request.request_id() +
                                                                    " was used for " + existing.id() +
                                                                    " with another request");
        }
        *snapshot = SweepNow(existing);
        return grpc::Status::OK;
      }
    }
    v1::Sweep sweep;
    sweep.set_id(NewId("sweep-", [this](const std::string& id) {
      return std::any_of(sweeps_.begin(), sweeps_.end(), [&](const v1::Sweep& s) { return s.id() == id; });
    }));
    sweep.set_owner(owner);
    sweep.set_spec_yaml(request.spec_yaml());
    *sweep.mutable_seeds() = request.seeds();
    *sweep.mutable_grid() = request.grid();
    SetTimestamp(sweep.mutable_created_at(), WallMs());
    sweep.set_request_id(request.request_id());
    sweep.set_metric(plan.metric);
    sweep.set_greater_is_better(plan.greater_is_better);
    for (const auto& settings : plan.configs) {
      v1::SweepConfig* config = sweep.add_configs();
      for (const auto& setting : settings) *config->add_settings() = setting;
    }
    std::vector<JobEntry> entries;
    std::vector<v1::Job> jobs;
    for (const SweepPlanPoint& point : plan.points) {
      JobEntry entry;
      entry.job = NewQueuedJob(point.spec_yaml, point.spec, owner, "");
      // Ids are drawn against the jobs already kept: keep this sweep's own distinct too.
      while (std::any_of(jobs.begin(), jobs.end(), [&](const v1::Job& j) { return j.id() == entry.job.id(); })) {
        entry.job = NewQueuedJob(point.spec_yaml, point.spec, owner, "");
      }
      entry.job.set_sweep_id(sweep.id());
      v1::SweepPoint* listed = sweep.add_points();
      listed->set_config(point.config);
      listed->set_seed(point.seed);
      listed->set_job_id(entry.job.id());
      jobs.push_back(entry.job);
      entries.push_back(std::move(entry));
    }
    const std::vector<int64_t> seqs = store_->InsertSweep(sweep, jobs);
    for (size_t i = 0; i < entries.size(); ++i) {
      entries[i].seq = seqs[i];
      AddQueuedJob(std::move(entries[i]));
    }
    sweeps_.push_back(sweep);
    Log("INFO", "sweep created", {{"sweep", sweep.id()}, {"owner", owner},
                                  {"configs", std::to_string(sweep.configs_size())},
                                  {"jobs", std::to_string(sweep.points_size())}});
    ScheduleLocked(after);
    *snapshot = SweepNow(sweep);
  }
  for (auto& f : after) f();
  return grpc::Status::OK;
}

v1::Sweep Fleet::SweepNow(const v1::Sweep& definition) const {
  v1::Sweep sweep = definition;
  for (v1::SweepPoint& point : *sweep.mutable_points()) {
    auto it = jobs_.find(point.job_id());
    if (it != jobs_.end()) *point.mutable_job() = it->second.job;
  }
  SummarizeSweep(sweep);
  return sweep;
}

grpc::Status Fleet::GetSweep(const std::string& sweep_id, v1::Sweep* sweep) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const v1::Sweep& definition : sweeps_) {
    if (definition.id() != sweep_id) continue;
    *sweep = SweepNow(definition);
    return grpc::Status::OK;
  }
  return grpc::Status(grpc::StatusCode::NOT_FOUND, "no sweep " + sweep_id);
}

grpc::Status Fleet::ListSweeps(const v1::ListSweepsRequest& request, const std::string& owner,
                               v1::ListSweepsResponse* response) {
  int64_t offset = 0;
  const grpc::Status token = ParsePageToken(request.page_token(), &offset);
  if (!token.ok()) return token;
  const int64_t page_size = PageSize(request.page_size());
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<const v1::Sweep*> matching;
  for (auto it = sweeps_.rbegin(); it != sweeps_.rend(); ++it) {
    if (owner.empty() || it->owner() == owner) matching.push_back(&*it);
  }
  for (int64_t i = offset; i < static_cast<int64_t>(matching.size()) && i < offset + page_size; ++i) {
    v1::Sweep* sweep = response->add_sweeps();
    *sweep = SweepNow(*matching[i]);
    for (v1::SweepPoint& point : *sweep->mutable_points()) point.clear_job();
  }
  if (offset + page_size < static_cast<int64_t>(matching.size())) {
    response->set_next_page_token(std::to_string(offset + page_size));
  }
  return grpc::Status::OK;
}

}  // namespace bertfleet::coordinator
