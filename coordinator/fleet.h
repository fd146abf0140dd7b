#pragma once
// Fleet: the coordinator's live state — jobs and workers — behind one mutex. Every state change
// is written to the JobStore first, then published to watchers, then acted on (assignments,
// cancellations). The gRPC services are thin adapters over these methods.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "bertfleet/v1/job_states.h"
#include "bertfleet/v1/sweeps.pb.h"
#include "bertfleet/v1/workers.pb.h"
#include "common/config/job_spec.h"
#include "coordinator/fleet_clock.h"
#include "coordinator/job_store.h"
#include "coordinator/rendezvous.h"
#include "coordinator/sweep_plan.h"
#include "coordinator/watch_hub.h"

namespace bertfleet::coordinator {

// One worker's Connect stream, as the Fleet sees it.
class WorkerSession {
 public:
  virtual ~WorkerSession() = default;
  virtual void Send(const bertfleet::v1::CoordinatorMessage& message) = 0;  // never blocks
  virtual void Close(const grpc::Status& status) = 0;  // finishes the stream after queued sends
};

struct FleetOptions {
  std::string data_root;
  std::string checkpoint_root;
  bertfleet::v1::TrackingSettings tracking;  // sent with every assignment
  int64_t heartbeat_interval_ms = 2000;
  int64_t lease_ms = 10000;
  int64_t cancel_timeout_ms = 5000;
  // After a restart, how long jobs that were SCHEDULED/RUNNING wait for their workers to
  // reconnect and report them before they are queued again (default: lease_ms).
  int64_t recovery_grace_ms = -1;
  // Sees every job event (state changes, progress, epochs) as it is emitted, under the Fleet's
  // lock: must not call back into the Fleet. Used for metrics (coordinator/metrics.h).
  std::function<void(const bertfleet::v1::JobEvent&)> on_event;
  // Null: the system's clocks. Must outlive the Fleet.
  const FleetClock* clock = nullptr;
};

class Fleet {
 public:
  using Clock = std::chrono::steady_clock;
  using JobCallback = std::function<void(const bertfleet::v1::Job&)>;

  // Reloads every job from the store.
  Fleet(JobStore* store, WatchHub* hub, Rendezvous* rendezvous, FleetOptions options);

  // Jobs (JobService).
  // A `request_id` that `owner` already used returns that job (a retried submit), or
  // ALREADY_EXISTS when it came with another spec.
  grpc::Status Submit(const std::string& spec_yaml, const JobSpec& spec, const std::string& owner,
                      const std::string& request_id, bertfleet::v1::Job* job);
  grpc::Status Get(const std::string& job_id, bertfleet::v1::Job* job);
  grpc::Status List(const bertfleet::v1::ListJobsRequest& request, bertfleet::v1::ListJobsResponse* response);
  // Starts cancelling; `done` runs (outside the lock) with the job once it is CANCELLED.
  grpc::Status Cancel(const std::string& job_id, JobCallback done);
  // Pushes the stored history to `sink` and, unless the job already ended, subscribes it to live
  // events, atomically (no event is lost or repeated in between).
  grpc::Status Watch(const std::string& job_id, WatchSink* sink, bool* subscribed);
  void ListWorkers(bertfleet::v1::ListWorkersResponse* response);

  // Sweeps (fleet_sweeps.cc, SweepService). CreateSweep stores the sweep and all of the plan's
  // jobs in one transaction, then queues the jobs as any submitted job; a request_id the owner
  // already used returns that sweep (ALREADY_EXISTS for another request).
  grpc::Status CreateSweep(const bertfleet::v1::CreateSweepRequest& request, const SweepPlan& plan,
                           const std::string& owner, bertfleet::v1::Sweep* sweep);
  // The sweep with its jobs' current snapshots and the statistics over seeds.
  grpc::Status GetSweep(const std::string& sweep_id, bertfleet::v1::Sweep* sweep);
  // Newest first; `owner` empty: everyone's. Statistics included, job snapshots not.
  grpc::Status ListSweeps(const bertfleet::v1::ListSweepsRequest& request, const std::string& owner,
                          bertfleet::v1::ListSweepsResponse* response);

  // Workers (WorkerService). Attach returns a session id for the other calls.
  // Sends `registered` (then any assignment) on `session`.
  uint64_t Attach(WorkerSession* session, const bertfleet::v1::RegisterWorker& request);
  void OnMessage(uint64_t session_id, const bertfleet::v1::WorkerMessage& message);
  void Detach(uint64_t session_id, const std::string& reason);  // idempotent

  // Lease expiry, cancel timeouts, recovery grace. Called every ~100 ms.
  void Tick();

 private:
  struct JobEntry {
    int64_t seq = 0;
    bertfleet::v1::Job job;
    std::vector<bool> started, finished;  // per rank, current attempt
    int64_t latest_checkpoint_step = -1;  // of job.latest_checkpoint (-1: unknown, e.g. after a reload)
    bool cancelling = false;
    Clock::time_point cancel_deadline;
    bool recovering = false;  // restarted while active: waiting for its workers to report
    Clock::time_point recovery_deadline;
    std::vector<JobCallback> on_cancelled;
    // Elastic jobs (fleet_elastic.cc). grow_to: the gang the running job would have if it
    // restarted now (idle workers of its device exist); it does so at its next checkpoint.
    int32_t grow_to = 0;
    // Growing: the ranks were told to stop at their next step boundary; the attempt stays active
    // (their last reports, an epoch included, still count) until every rank finished, then the
    // job is queued for resize_target workers.
    bool resizing = false;
    int32_t resize_target = 0;
    Clock::time_point resize_deadline;
    // After stopping to grow: the queued job waits for this many workers (its old gang is still
    // stopping) until the deadline, then takes what is idle, as any elastic job.
    int32_t hold_for = 0;
    Clock::time_point hold_deadline;
    std::string resize_reason;  // why the last attempt ended, for the next attempt's resize event
  };
  struct WorkerEntry {
    bertfleet::v1::Worker info;
    uint64_t session_id = 0;  // 0: not connected (lost)
    WorkerSession* session = nullptr;
    Clock::time_point last_seen;
    std::string job_id;  // busy with this job's attempt until the worker reports it finished
    int32_t attempt = 0;
    int32_t rank = 0;
    bool stopping = false;  // said it is shutting down: no new work until it registers again
  };
  using Deferred = std::vector<std::function<void()>>;

  Clock::time_point Now() const { return clock_->Now(); }
  int64_t WallMs() const { return clock_->WallMs(); }
  static bool IsActive(bertfleet::v1::JobState state);
  // "job-" or "sweep-" and 10 random hex digits that `taken` says are free.
  static std::string NewId(const std::string& prefix, const std::function<bool(const std::string&)>& taken);
  bertfleet::v1::Job NewQueuedJob(const std::string& spec_yaml, const JobSpec& spec, const std::string& owner,
                                  const std::string& request_id);
  void AddQueuedJob(JobEntry entry);  // stored already: keeps it and emits its "submitted" event
  void SetState(JobEntry& entry, bertfleet::v1::JobState state, const std::string& message, Deferred& after);
  void Emit(const bertfleet::v1::JobEvent& event, bool persist);
  // fleet_attempts.cc: an attempt's start, its end on every rank, and the restart policy.
  void StartAttempt(JobEntry& entry, const std::vector<std::string>& worker_ids, Deferred& after);
  void RecordAttemptEnd(JobEntry& entry, const std::string& outcome, const std::string& message);
  void EndAttempt(JobEntry& entry, bertfleet::v1::JobState state, const std::string& message,
                  const std::string& cancel_reason, Deferred& after);
  // A rank failed or was lost: ends the attempt on every rank and queues the job again (to resume
  // from its latest checkpoint) while restarts are left, else fails it.
  void FailAttempt(JobEntry& entry, const std::string& cause, const std::string& cancel_reason, Deferred& after);
  void OnCheckpointSaved(WorkerEntry& worker, const bertfleet::v1::CheckpointSaved& saved);
  // fleet_elastic.cc: the gang an elastic job waits for, growth at checkpoints, resize events.
  int64_t GangNeeded(const JobEntry& entry) const;
  void PlanGrowth(const std::map<std::string, std::vector<std::string>>& idle_left);
  void GrowAtCheckpoint(JobEntry& entry, const std::string& checkpoint);
  void MaybeResized(JobEntry& entry, bool deadline_passed, Deferred& after);  // every rank stopped: queue it
  void EmitResizeIfAny(const JobEntry& entry, int32_t previous_gang);
  void SendCancel(JobEntry& entry, const std::string& reason, bool only_unfinished);
  void MaybeCancelled(JobEntry& entry, Deferred& after);
  void ScheduleLocked(Deferred& after);
  void WorkerLost(WorkerEntry& worker, const std::string& reason, Deferred& after);
  void RecoverRunning(WorkerEntry& worker, const bertfleet::v1::RegisterWorker& request);
  void HandleFinished(WorkerEntry& worker, const bertfleet::v1::AssignmentFinished& finished, Deferred& after);
  JobEntry* CurrentJobOf(const WorkerEntry& worker);
  bertfleet::v1::Sweep SweepNow(const bertfleet::v1::Sweep& definition) const;  // snapshots + statistics

  JobStore* store_;
  WatchHub* hub_;
  Rendezvous* rendezvous_;
  FleetOptions options_;
  SystemFleetClock system_clock_;
  const FleetClock* clock_;
  std::mutex mu_;
  std::map<std::string, JobEntry> jobs_;
  std::map<std::string, WorkerEntry> workers_;
  std::vector<bertfleet::v1::Sweep> sweeps_;  // definitions, creation order
  std::map<uint64_t, std::string> sessions_;  // session id -> worker id
  uint64_t next_session_ = 1;
  uint64_t next_worker_ = 1;
};

}  // namespace bertfleet::coordinator
