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
#include "bertfleet/v1/workers.pb.h"
#include "common/config/job_spec.h"
#include "coordinator/fleet_clock.h"
#include "coordinator/job_store.h"
#include "coordinator/rendezvous.h"
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
  std::string NewJobId();
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
  void SendCancel(JobEntry& entry, const std::string& reason, bool only_unfinished);
  void MaybeCancelled(JobEntry& entry, Deferred& after);
  void ScheduleLocked(Deferred& after);
  void WorkerLost(WorkerEntry& worker, const std::string& reason, Deferred& after);
  void RecoverRunning(WorkerEntry& worker, const bertfleet::v1::RegisterWorker& request);
  void HandleFinished(WorkerEntry& worker, const bertfleet::v1::AssignmentFinished& finished, Deferred& after);
  JobEntry* CurrentJobOf(const WorkerEntry& worker);

  JobStore* store_;
  WatchHub* hub_;
  Rendezvous* rendezvous_;
  FleetOptions options_;
  SystemFleetClock system_clock_;
  const FleetClock* clock_;
  std::mutex mu_;
  std::map<std::string, JobEntry> jobs_;
  std::map<std::string, WorkerEntry> workers_;
  std::map<uint64_t, std::string> sessions_;  // session id -> worker id
  uint64_t next_session_ = 1;
  uint64_t next_worker_ = 1;
};

}  // namespace bertfleet::coordinator
