#include "coordinator/sqlite_job_store.h"

#include <sqlite3.h>

#include <sstream>

#include "common/util/error.h"
#include "coordinator/sqlite_statement.h"
#include "coordinator/time_util.h"

namespace bertfleet::coordinator {
namespace {

using bertfleet::v1::EpochMetrics;
using bertfleet::v1::Job;
using bertfleet::v1::JobEvent;

// Schema migrations, applied in order; user_version = number applied. Never edit a shipped one:
// append a new step instead.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  owner TEXT NOT NULL DEFAULT '',
  state INTEGER NOT NULL,
  spec_yaml TEXT NOT NULL,
  world_size INTEGER NOT NULL,
  device TEXT NOT NULL,
  priority INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL,
  started_at_ms INTEGER NOT NULL DEFAULT 0,
  finished_at_ms INTEGER NOT NULL DEFAULT 0,
  message TEXT NOT NULL DEFAULT '',
  global_step INTEGER NOT NULL DEFAULT 0,
  total_steps INTEGER NOT NULL DEFAULT 0,
  attempt INTEGER NOT NULL DEFAULT 0,
  worker_ids TEXT NOT NULL DEFAULT '',
  output_dir TEXT NOT NULL DEFAULT '',
  final_metrics BLOB
);
CREATE INDEX jobs_state ON jobs(state);
CREATE TABLE attempts (
  job_id TEXT NOT NULL REFERENCES jobs(id),
  attempt INTEGER NOT NULL,
  worker_ids TEXT NOT NULL,
  started_at_ms INTEGER NOT NULL,
  finished_at_ms INTEGER NOT NULL DEFAULT 0,
  outcome TEXT NOT NULL DEFAULT '',
  message TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (job_id, attempt)
);
CREATE TABLE epoch_metrics (
  job_id TEXT NOT NULL REFERENCES jobs(id),
  attempt INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  global_step INTEGER NOT NULL,
  train_loss REAL NOT NULL,
  eval_loss REAL NOT NULL,
  eval_accuracy REAL NOT NULL,
  eval_f1 REAL NOT NULL,
  train_samples_per_second REAL NOT NULL,
  evaluated INTEGER NOT NULL,
  UNIQUE (job_id, attempt, epoch)
);
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL REFERENCES jobs(id),
  time_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  event BLOB NOT NULL
);
CREATE INDEX events_job ON events(job_id, id);
)sql",
    // 2: restarts (issue 7). An epoch is recorded once per job, whichever attempt reports it
    // first: a restarted attempt that resumes before an epoch's end reports that epoch again.
    R"sql(
ALTER TABLE jobs ADD COLUMN restarts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN max_restarts INTEGER NOT NULL DEFAULT 3;
ALTER TABLE jobs ADD COLUMN latest_checkpoint TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN resumed_from TEXT NOT NULL DEFAULT '';
DELETE FROM epoch_metrics WHERE rowid NOT IN
  (SELECT MIN(rowid) FROM epoch_metrics GROUP BY job_id, epoch);
CREATE UNIQUE INDEX epoch_metrics_job_epoch ON epoch_metrics(job_id, epoch);
)sql",
    // 3: idempotent submits (issue 22): a retried SubmitJob with the same request id and owner
    // finds the job the first one created.
    R"sql(
ALTER TABLE jobs ADD COLUMN request_id TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX jobs_owner_request ON jobs(owner, request_id) WHERE request_id != '';
)sql",
    // 4: every task's metrics (issue 21): an epoch's evaluation by metric name, in the task's
    // order (matthews_correlation for cola, pearson and spearmanr for stsb, ...).
    R"sql(
CREATE TABLE epoch_eval_metrics (
  job_id TEXT NOT NULL REFERENCES jobs(id),
  epoch INTEGER NOT NULL,
  position INTEGER NOT NULL,
  name TEXT NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (job_id, epoch, name)
);
)sql",
    // 5: elastic jobs (issue 23). 0: not elastic (min_world_size = world_size).
    R"sql(
ALTER TABLE jobs ADD COLUMN min_world_size INTEGER NOT NULL DEFAULT 0;
)sql",
    // 6: sweeps (issue 23): the definition as a serialized bertfleet.v1.Sweep; its jobs are
    // ordinary rows of jobs that name it.
    R"sql(
CREATE TABLE sweeps (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  owner TEXT NOT NULL DEFAULT '',
  request_id TEXT NOT NULL DEFAULT '',
  created_at_ms INTEGER NOT NULL,
  definition BLOB NOT NULL
);
CREATE UNIQUE INDEX sweeps_owner_request ON sweeps(owner, request_id) WHERE request_id != '';
ALTER TABLE jobs ADD COLUMN sweep_id TEXT NOT NULL DEFAULT '';
)sql",
};

std::string JoinIds(const google::protobuf::RepeatedPtrField<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ",") + id;
  return out;
}

std::string JoinIds(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ",") + id;
  return out;
}

}  // namespace

SqliteJobStore::SqliteJobStore(const std::string& path) : path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw Error("cannot open job database " + path + ": " + why);
  }
  sqlite3_busy_timeout(db_, 5000);
  try {
    Exec("PRAGMA journal_mode=WAL");
    Exec("PRAGMA synchronous=FULL");
    Exec("PRAGMA foreign_keys=ON");
    Migrate();
  } catch (const Error& e) {
    sqlite3_close(db_);
    throw Error("job database " + path + ": " + e.what());
  }
}

SqliteJobStore::~SqliteJobStore() { sqlite3_close(db_); }

void SqliteJobStore::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = err ? err : "unknown error";
    sqlite3_free(err);
    throw Error("sqlite: " + message);
  }
}

int SqliteJobStore::SchemaVersion() {
  std::lock_guard<std::mutex> lock(mu_);
  Statement s(db_, "PRAGMA user_version");
  s.Step();
  return static_cast<int>(s.Int(0));
}

void SqliteJobStore::Migrate() {
  int version;
  {
    Statement s(db_, "PRAGMA user_version");
    s.Step();
    version = static_cast<int>(s.Int(0));
  }
  constexpr int kCount = sizeof(kMigrations) / sizeof(kMigrations[0]);
  static_assert(kCount == kSchemaVersion, "one migration per schema version");
  if (version > kCount) {
    throw Error("schema version " + std::to_string(version) + " is newer than this coordinator's (" +
                std::to_string(kCount) + ")");
  }
  for (int v = version; v < kCount; ++v) {
    Exec("BEGIN IMMEDIATE");
    try {
      Exec(kMigrations[v]);
      Exec("PRAGMA user_version=" + std::to_string(v + 1));
      Exec("COMMIT");
    } catch (...) {
      Exec("ROLLBACK");
      throw;
    }
  }
}

int64_t SqliteJobStore::InsertJob(const Job& job) {
  std::lock_guard<std::mutex> lock(mu_);
  return InsertJobRow(job);
}

int64_t SqliteJobStore::InsertJobRow(const Job& job) {
  Statement s(db_,
              "INSERT INTO jobs (id, owner, state, spec_yaml, world_size, device, priority, "
              "created_at_ms, message, output_dir, max_restarts, request_id, min_world_size, sweep_id) "
              "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  s.Bind(1, job.id()).Bind(2, job.owner()).Bind(3, static_cast<int64_t>(job.state()));
  s.Bind(4, job.spec_yaml()).Bind(5, job.world_size()).Bind(6, job.device()).Bind(7, job.priority());
  s.Bind(8, TimestampMs(job.created_at())).Bind(9, job.message()).Bind(10, job.output_dir());
  s.Bind(11, static_cast<int64_t>(job.max_restarts())).Bind(12, job.request_id());
  s.Bind(13, job.min_world_size()).Bind(14, job.sweep_id());
  if (s.Step() != SQLITE_DONE) throw Error("job id " + job.id() + " already exists");
  return sqlite3_last_insert_rowid(db_);
}

void SqliteJobStore::UpdateJob(const Job& job) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement s(db_,
              "UPDATE jobs SET state=?, started_at_ms=?, finished_at_ms=?, message=?, global_step=?, "
              "total_steps=?, attempt=?, worker_ids=?, output_dir=?, final_metrics=?, restarts=?, "
              "latest_checkpoint=? WHERE id=?");
  s.Bind(1, static_cast<int64_t>(job.state())).Bind(2, TimestampMs(job.started_at()));
  s.Bind(3, TimestampMs(job.finished_at())).Bind(4, job.message()).Bind(5, job.global_step());
  s.Bind(6, job.total_steps()).Bind(7, static_cast<int64_t>(job.attempt()));
  s.Bind(8, JoinIds(job.worker_ids())).Bind(9, job.output_dir());
  s.BindBlob(10, job.has_final_metrics() ? job.final_metrics().SerializeAsString() : std::string());
  s.Bind(11, static_cast<int64_t>(job.restarts())).Bind(12, job.latest_checkpoint()).Bind(13, job.id());
  s.Step();
  if (sqlite3_changes(db_) != 1) throw Error("job " + job.id() + " is not in the database");
}

std::vector<StoredJob> SqliteJobStore::LoadJobs() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<StoredJob> jobs;
  Statement s(db_,
              "SELECT seq, id, owner, state, spec_yaml, world_size, device, priority, created_at_ms, "
              "started_at_ms, finished_at_ms, message, global_step, total_steps, attempt, worker_ids, "
              "output_dir, final_metrics, restarts, max_restarts, latest_checkpoint, request_id, min_world_size, "
              "sweep_id FROM jobs ORDER BY seq");
  while (s.Step() == SQLITE_ROW) {
    StoredJob stored;
    stored.seq = s.Int(0);
    Job& job = stored.job;
    job.set_id(s.Text(1));
    job.set_owner(s.Text(2));
    job.set_state(static_cast<bertfleet::v1::JobState>(s.Int(3)));
    job.set_spec_yaml(s.Text(4));
    job.set_world_size(s.Int(5));
    job.set_device(s.Text(6));
    job.set_priority(s.Int(7));
    SetTimestamp(job.mutable_created_at(), s.Int(8));
    if (s.Int(9)) SetTimestamp(job.mutable_started_at(), s.Int(9));
    if (s.Int(10)) SetTimestamp(job.mutable_finished_at(), s.Int(10));
    job.set_message(s.Text(11));
    job.set_global_step(s.Int(12));
    job.set_total_steps(s.Int(13));
    job.set_attempt(static_cast<int32_t>(s.Int(14)));
    std::stringstream ids(s.Text(15));
    for (std::string id; std::getline(ids, id, ',');) job.add_worker_ids(id);
    job.set_output_dir(s.Text(16));
    std::string metrics = s.Text(17);
    if (!metrics.empty()) job.mutable_final_metrics()->ParseFromString(metrics);
    job.set_restarts(static_cast<int32_t>(s.Int(18)));
    job.set_max_restarts(static_cast<int32_t>(s.Int(19)));
    job.set_latest_checkpoint(s.Text(20));
    job.set_request_id(s.Text(21));
    job.set_min_world_size(s.Int(22) > 0 ? s.Int(22) : job.world_size());
    job.set_current_world_size(job.worker_ids_size());
    job.set_sweep_id(s.Text(23));
    jobs.push_back(std::move(stored));
  }
  for (StoredJob& stored : jobs) {
    Statement q(db_,
                "SELECT epoch, global_step, train_loss, eval_loss, eval_accuracy, eval_f1, "
                "train_samples_per_second, evaluated FROM epoch_metrics WHERE job_id=? ORDER BY epoch");
    q.Bind(1, stored.job.id());
    while (q.Step() == SQLITE_ROW) {
      EpochMetrics* m = stored.job.add_epochs();
      m->set_epoch(q.Int(0));
      m->set_global_step(q.Int(1));
      m->set_train_loss(q.Double(2));
      m->set_eval_loss(q.Double(3));
      m->set_eval_accuracy(q.Double(4));
      m->set_eval_f1(q.Double(5));
      m->set_train_samples_per_second(q.Double(6));
      m->set_evaluated(q.Int(7) != 0);
    }
    Statement e(db_, "SELECT epoch, name, value FROM epoch_eval_metrics WHERE job_id=? ORDER BY epoch, position");
    e.Bind(1, stored.job.id());
    int epoch_index = 0;
    while (e.Step() == SQLITE_ROW) {
      while (epoch_index < stored.job.epochs_size() && stored.job.epochs(epoch_index).epoch() < e.Int(0)) ++epoch_index;
      if (epoch_index == stored.job.epochs_size()) break;
      if (stored.job.epochs(epoch_index).epoch() != e.Int(0)) continue;
      bertfleet::v1::MetricValue* metric = stored.job.mutable_epochs(epoch_index)->add_eval_metrics();
      metric->set_name(e.Text(1));
      metric->set_value(e.Double(2));
    }
    Statement a(db_,
                "SELECT attempt, worker_ids, started_at_ms, finished_at_ms, outcome, message, resumed_from "
                "FROM attempts WHERE job_id=? ORDER BY attempt");
    a.Bind(1, stored.job.id());
    while (a.Step() == SQLITE_ROW) {
      bertfleet::v1::JobAttempt* attempt = stored.job.add_attempts();
      attempt->set_attempt(static_cast<int32_t>(a.Int(0)));
      std::stringstream gang(a.Text(1));
      for (std::string id; std::getline(gang, id, ',');) attempt->add_worker_ids(id);
      SetTimestamp(attempt->mutable_started_at(), a.Int(2));
      if (a.Int(3)) SetTimestamp(attempt->mutable_finished_at(), a.Int(3));
      attempt->set_outcome(a.Text(4));
      attempt->set_message(a.Text(5));
      attempt->set_resumed_from(a.Text(6));
    }
  }
  return jobs;
}

void SqliteJobStore::BeginAttempt(const std::string& job_id, int32_t attempt,
                                  const std::vector<std::string>& worker_ids, const std::string& resumed_from,
                                  int64_t time_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement s(db_,
              "INSERT OR REPLACE INTO attempts (job_id, attempt, worker_ids, started_at_ms, resumed_from) "
              "VALUES (?,?,?,?,?)");
  s.Bind(1, job_id).Bind(2, static_cast<int64_t>(attempt)).Bind(3, JoinIds(worker_ids)).Bind(4, time_ms);
  s.Bind(5, resumed_from);
  s.Step();
}

void SqliteJobStore::FinishAttempt(const std::string& job_id, int32_t attempt, const std::string& outcome,
                                   const std::string& message, int64_t time_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement s(db_,
              "UPDATE attempts SET finished_at_ms=?, outcome=?, message=? WHERE job_id=? AND attempt=?");
  s.Bind(1, time_ms).Bind(2, outcome).Bind(3, message).Bind(4, job_id).Bind(5, static_cast<int64_t>(attempt));
  s.Step();
}

bool SqliteJobStore::AddEpochMetrics(const std::string& job_id, int32_t attempt, const EpochMetrics& m) {
  std::lock_guard<std::mutex> lock(mu_);
  // The epoch row and its metrics land together or not at all.
  Exec("BEGIN IMMEDIATE");
  try {
    const bool added = InsertEpochMetrics(job_id, attempt, m);
    Exec("COMMIT");
    return added;
  } catch (...) {
    Exec("ROLLBACK");
    throw;
  }
}

bool SqliteJobStore::InsertEpochMetrics(const std::string& job_id, int32_t attempt, const EpochMetrics& m) {
  Statement s(db_,
              "INSERT OR IGNORE INTO epoch_metrics (job_id, attempt, epoch, global_step, train_loss, "
              "eval_loss, eval_accuracy, eval_f1, train_samples_per_second, evaluated) "
              "VALUES (?,?,?,?,?,?,?,?,?,?)");
  s.Bind(1, job_id).Bind(2, static_cast<int64_t>(attempt)).Bind(3, m.epoch()).Bind(4, m.global_step());
  s.BindDouble(5, m.train_loss()).BindDouble(6, m.eval_loss()).BindDouble(7, m.eval_accuracy());
  s.BindDouble(8, m.eval_f1()).BindDouble(9, m.train_samples_per_second());
  s.Bind(10, static_cast<int64_t>(m.evaluated()));
  s.Step();
  if (sqlite3_changes(db_) != 1) return false;  // the epoch is recorded already (an earlier attempt's)
  for (int i = 0; i < m.eval_metrics_size(); ++i) {
    Statement metric(db_,
                     "INSERT OR IGNORE INTO epoch_eval_metrics (job_id, epoch, position, name, value) "
                     "VALUES (?,?,?,?,?)");
    metric.Bind(1, job_id).Bind(2, m.epoch()).Bind(3, static_cast<int64_t>(i)).Bind(4, m.eval_metrics(i).name());
    metric.BindDouble(5, m.eval_metrics(i).value());
    metric.Step();
  }
  return true;
}

void SqliteJobStore::AppendEvent(const JobEvent& event) {
  std::lock_guard<std::mutex> lock(mu_);
  const char* kind = event.has_epoch() ? "epoch" : event.has_progress() ? "progress" : event.has_resize() ? "resize" : "state";
  Statement s(db_, "INSERT INTO events (job_id, time_ms, kind, event) VALUES (?,?,?,?)");
  s.Bind(1, event.job_id()).Bind(2, TimestampMs(event.time())).Bind(3, std::string(kind));
  s.BindBlob(4, event.SerializeAsString());
  s.Step();
}

std::vector<JobEvent> SqliteJobStore::LoadEvents(const std::string& job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<JobEvent> events;
  Statement s(db_, "SELECT event FROM events WHERE job_id=? ORDER BY id");
  s.Bind(1, job_id);
  while (s.Step() == SQLITE_ROW) {
    events.emplace_back();
    events.back().ParseFromString(s.Text(0));
  }
  return events;
}

}  // namespace bertfleet::coordinator
