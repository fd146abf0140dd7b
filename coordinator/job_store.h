#pragma once
// JobStore: the coordinator's durable record of jobs, attempts, epoch metrics and events. The
// coordinator keeps the live state in memory and writes every state change through this narrow
// interface before acting on it, so a restart (even after SIGKILL) reloads the same jobs.
#include <cstdint>
#include <string>
#include <vector>

#include "bertfleet/v1/jobs.pb.h"
#include "bertfleet/v1/sweeps.pb.h"

namespace bertfleet::coordinator {

struct StoredJob {
  int64_t seq = 0;  // submission order (FIFO tie-break among equal priorities)
  bertfleet::v1::Job job;
};

class JobStore {
 public:
  virtual ~JobStore() = default;

  // Adds a new job (its id must be unique) and returns its submission sequence number.
  virtual int64_t InsertJob(const bertfleet::v1::Job& job) = 0;
  // Rewrites the job's row (state, times, message, progress, attempt, gang, final metrics).
  virtual void UpdateJob(const bertfleet::v1::Job& job) = 0;
  // Every job in submission order, each with its attempts and its epochs (one per epoch number,
  // from whichever attempt reported it first).
  virtual std::vector<StoredJob> LoadJobs() = 0;

  virtual void BeginAttempt(const std::string& job_id, int32_t attempt,
                            const std::vector<std::string>& worker_ids, const std::string& resumed_from,
                            int64_t time_ms) = 0;
  virtual void FinishAttempt(const std::string& job_id, int32_t attempt, const std::string& outcome,
                             const std::string& message, int64_t time_ms) = 0;

  // False when this epoch of the job was already recorded (a repeated report, or an epoch that a
  // restarted attempt finished again).
  virtual bool AddEpochMetrics(const std::string& job_id, int32_t attempt,
                               const bertfleet::v1::EpochMetrics& metrics) = 0;

  // Sweeps: the definition (id, owner, spec, seeds, grid, points with their job ids; no job
  // snapshots, no statistics) and every job of it, in one transaction: all or nothing. Returns
  // the jobs' submission sequence numbers. Throws Error when an id is taken.
  virtual std::vector<int64_t> InsertSweep(const bertfleet::v1::Sweep& sweep,
                                           const std::vector<bertfleet::v1::Job>& jobs) = 0;
  virtual std::vector<bertfleet::v1::Sweep> LoadSweeps() = 0;  // creation order

  virtual void AppendEvent(const bertfleet::v1::JobEvent& event) = 0;
  virtual std::vector<bertfleet::v1::JobEvent> LoadEvents(const std::string& job_id) = 0;
};

}  // namespace bertfleet::coordinator
