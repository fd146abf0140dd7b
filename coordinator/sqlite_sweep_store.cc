// SqliteJobStore: sweeps. A sweep's definition and all its jobs are written in one transaction,
// so a coordinator killed while creating one has, after its restart, the whole sweep or nothing.
#include <sqlite3.h>

#include "common/util/error.h"
#include "coordinator/sqlite_job_store.h"
#include "coordinator/sqlite_statement.h"
#include "coordinator/time_util.h"

namespace bertfleet::coordinator {

std::vector<int64_t> SqliteJobStore::InsertSweep(const v1::Sweep& sweep, const std::vector<v1::Job>& jobs) {
  std::lock_guard<std::mutex> lock(mu_);
  v1::Sweep definition = sweep;
  // Statistics are computed from the jobs, never stored.
  for (auto& config : *definition.mutable_configs()) {
    config.clear_seeds();
    config.clear_succeeded();
    config.clear_epochs();
    config.clear_final();
  }
  for (auto& point : *definition.mutable_points()) point.clear_job();
  definition.clear_best_config();
  definition.clear_jobs_total();
  definition.clear_jobs_finished();
  Exec("BEGIN IMMEDIATE");
  try {
    Statement s(db_, "INSERT INTO sweeps (id, owner, request_id, created_at_ms, definition) VALUES (?,?,?,?,?)");
    s.Bind(1, sweep.id()).Bind(2, sweep.owner()).Bind(3, sweep.request_id());
    s.Bind(4, TimestampMs(sweep.created_at())).BindBlob(5, definition.SerializeAsString());
    if (s.Step() != SQLITE_DONE) throw Error("sweep id " + sweep.id() + " already exists");
    std::vector<int64_t> seqs;
    for (const v1::Job& job : jobs) seqs.push_back(InsertJobRow(job));
    Exec("COMMIT");
    return seqs;
  } catch (...) {
    Exec("ROLLBACK");
    throw;
  }
}

std::vector<v1::Sweep> SqliteJobStore::LoadSweeps() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::Sweep> sweeps;
  Statement s(db_, "SELECT id, definition FROM sweeps ORDER BY seq");
  while (s.Step() == SQLITE_ROW) {
    v1::Sweep sweep;
    if (!sweep.ParseFromString(s.Text(1))) throw Error("job database " + path_ + ": sweep " + s.Text(0) + " is corrupt");
    sweeps.push_back(std::move(sweep));
  }
  return sweeps;
}

}  // namespace bertfleet::coordinator
