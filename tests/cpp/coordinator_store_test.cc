#include "coordinator/sqlite_job_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

#include "common/util/error.h"
#include "coordinator/time_util.h"

namespace bertfleet::coordinator {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("bertfleet-store-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Db() const { return (dir_ / "jobs.db").string(); }

  static v1::Job MakeJob(const std::string& id, int64_t priority) {
    v1::Job job;
    job.set_id(id);
    job.set_state(v1::JOB_STATE_QUEUED);
    job.set_spec_yaml("task: mrpc\n");
    job.set_world_size(2);
    job.set_device("cpu");
    job.set_priority(priority);
    SetTimestamp(job.mutable_created_at(), 1700000000123);
    return job;
  }

  fs::path dir_;
};

TEST_F(StoreTest, CreatesSchemaWithWalAndUserVersion) {
  SqliteJobStore store(Db());
  EXPECT_EQ(store.SchemaVersion(), SqliteJobStore::kSchemaVersion);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(Db().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  SqliteJobStore reopened(Db());  // migrating an up-to-date database is a no-op
  EXPECT_EQ(reopened.SchemaVersion(), SqliteJobStore::kSchemaVersion);
}

TEST_F(StoreTest, RefusesANewerSchema) {
  { SqliteJobStore store(Db()); }
  sqlite3* db = nullptr;
  sqlite3_open(Db().c_str(), &db);
  sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  try {
    SqliteJobStore store(Db());
    FAIL() << "opened a newer schema";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("schema version 99 is newer"), std::string::npos) << e.what();
  }
}

TEST_F(StoreTest, JobsRoundTripInSubmissionOrderAcrossReopen) {
  {
    SqliteJobStore store(Db());
    int64_t first = store.InsertJob(MakeJob("job-a", 1));
    int64_t second = store.InsertJob(MakeJob("job-b", 0));
    EXPECT_LT(first, second);
    EXPECT_THROW(store.InsertJob(MakeJob("job-a", 1)), Error);
    v1::Job running = MakeJob("job-b", 0);
    running.set_state(v1::JOB_STATE_RUNNING);
    running.set_attempt(2);
    running.add_worker_ids("w1");
    running.add_worker_ids("w2");
    running.set_global_step(17);
    running.mutable_final_metrics()->set_eval_f1(0.5);
    SetTimestamp(running.mutable_started_at(), 1700000000999);
    store.UpdateJob(running);
    EXPECT_THROW(store.UpdateJob(MakeJob("job-missing", 0)), Error);
  }
  SqliteJobStore store(Db());
  auto jobs = store.LoadJobs();
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].job.id(), "job-a");
  EXPECT_EQ(jobs[0].job.priority(), 1);
  EXPECT_EQ(TimestampMs(jobs[0].job.created_at()), 1700000000123);
  EXPECT_FALSE(jobs[0].job.has_started_at());
  const v1::Job& b = jobs[1].job;
  EXPECT_EQ(b.state(), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(b.attempt(), 2);
  ASSERT_EQ(b.worker_ids_size(), 2);
  EXPECT_EQ(b.worker_ids(1), "w2");
  EXPECT_EQ(b.global_step(), 17);
  EXPECT_DOUBLE_EQ(b.final_metrics().eval_f1(), 0.5);
  EXPECT_EQ(TimestampMs(b.started_at()), 1700000000999);
}

TEST_F(StoreTest, EachEpochIsRecordedOnceAcrossAttempts) {
  SqliteJobStore store(Db());
  v1::Job job = MakeJob("job-e", 0);
  store.InsertJob(job);
  v1::EpochMetrics m;
  m.set_epoch(1);
  m.set_eval_accuracy(0.7);
  m.set_evaluated(true);
  EXPECT_TRUE(store.AddEpochMetrics("job-e", 1, m));
  EXPECT_FALSE(store.AddEpochMetrics("job-e", 1, m));  // repeated report
  m.set_eval_accuracy(0.1);
  EXPECT_FALSE(store.AddEpochMetrics("job-e", 2, m));  // a restarted attempt finishing epoch 1 again
  m.set_epoch(2);
  EXPECT_TRUE(store.AddEpochMetrics("job-e", 2, m));
  job.set_attempt(2);
  store.UpdateJob(job);
  auto jobs = store.LoadJobs();
  ASSERT_EQ(jobs[0].job.epochs_size(), 2);  // both epochs, though from different attempts
  EXPECT_EQ(jobs[0].job.epochs(1).epoch(), 2);
  EXPECT_DOUBLE_EQ(jobs[0].job.epochs(0).eval_accuracy(), 0.7);  // the first report of epoch 1 wins
  EXPECT_TRUE(jobs[0].job.epochs(0).evaluated());
}

TEST_F(StoreTest, EveryTasksMetricsAreStoredByNameInTheTasksOrder) {
  {
    SqliteJobStore store(Db());
    store.InsertJob(MakeJob("job-m", 0));
    v1::EpochMetrics m;
    m.set_epoch(1);
    m.set_evaluated(true);
    for (const auto& [name, value] : {std::pair<std::string, double>{"pearson", 0.81}, {"spearmanr", -0.25},
                                      {"combined_score", 0.28}}) {
      v1::MetricValue* metric = m.add_eval_metrics();
      metric->set_name(name);
      metric->set_value(value);
    }
    EXPECT_TRUE(store.AddEpochMetrics("job-m", 1, m));
    m.mutable_eval_metrics(0)->set_value(0.1);
    EXPECT_FALSE(store.AddEpochMetrics("job-m", 2, m));  // a restarted attempt's repeat changes nothing
    m.set_epoch(2);
    m.clear_eval_metrics();
    m.set_evaluated(false);
    EXPECT_TRUE(store.AddEpochMetrics("job-m", 1, m));
  }
  SqliteJobStore reopened(Db());
  const auto jobs = reopened.LoadJobs();
  ASSERT_EQ(jobs[0].job.epochs_size(), 2);
  const v1::EpochMetrics& first = jobs[0].job.epochs(0);
  ASSERT_EQ(first.eval_metrics_size(), 3);
  EXPECT_EQ(first.eval_metrics(0).name(), "pearson");  // the task's order, not the names' order
  EXPECT_DOUBLE_EQ(first.eval_metrics(0).value(), 0.81);
  EXPECT_EQ(first.eval_metrics(1).name(), "spearmanr");
  EXPECT_DOUBLE_EQ(first.eval_metrics(1).value(), -0.25);
  EXPECT_EQ(first.eval_metrics(2).name(), "combined_score");
  EXPECT_EQ(jobs[0].job.epochs(1).eval_metrics_size(), 0);
}

TEST_F(StoreTest, AttemptsRestartsAndLatestCheckpointSurviveAReopen) {
  {
    SqliteJobStore store(Db());
    v1::Job job = MakeJob("job-r", 0);
    job.set_max_restarts(5);
    store.InsertJob(job);
    store.BeginAttempt("job-r", 1, {"w1", "w2"}, "", 10);
    store.FinishAttempt("job-r", 1, "FAILED", "worker w2 (rank 1) lost: stream closed", 20);
    store.BeginAttempt("job-r", 2, {"w1", "w3"}, "/ck/job-r/checkpoint-12", 30);
    job.set_attempt(2);
    job.set_restarts(1);
    job.set_latest_checkpoint("/ck/job-r/checkpoint-12");
    store.UpdateJob(job);
  }
  SqliteJobStore store(Db());
  const v1::Job job = store.LoadJobs().at(0).job;
  EXPECT_EQ(job.max_restarts(), 5);
  EXPECT_EQ(job.restarts(), 1);
  EXPECT_EQ(job.latest_checkpoint(), "/ck/job-r/checkpoint-12");
  ASSERT_EQ(job.attempts_size(), 2);
  EXPECT_EQ(job.attempts(0).outcome(), "FAILED");
  EXPECT_EQ(job.attempts(0).message(), "worker w2 (rank 1) lost: stream closed");
  EXPECT_EQ(TimestampMs(job.attempts(0).finished_at()), 20);
  EXPECT_EQ(job.attempts(1).worker_ids(1), "w3");
  EXPECT_EQ(job.attempts(1).resumed_from(), "/ck/job-r/checkpoint-12");
  EXPECT_EQ(job.attempts(1).outcome(), "");
  EXPECT_FALSE(job.attempts(1).has_finished_at());
}

TEST_F(StoreTest, MigratingFromVersion1KeepsTheFirstReportOfEachEpoch) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(Db().c_str(), &db), SQLITE_OK);
    // Version 1's tables, as shipped, with one epoch reported by two attempts.
    const char* v1_schema = R"sql(
CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
  owner TEXT NOT NULL DEFAULT '', state INTEGER NOT NULL, spec_yaml TEXT NOT NULL,
  world_size INTEGER NOT NULL, device TEXT NOT NULL, priority INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL, started_at_ms INTEGER NOT NULL DEFAULT 0,
  finished_at_ms INTEGER NOT NULL DEFAULT 0, message TEXT NOT NULL DEFAULT '',
  global_step INTEGER NOT NULL DEFAULT 0, total_steps INTEGER NOT NULL DEFAULT 0,
  attempt INTEGER NOT NULL DEFAULT 0, worker_ids TEXT NOT NULL DEFAULT '',
  output_dir TEXT NOT NULL DEFAULT '', final_metrics BLOB);
CREATE TABLE attempts (job_id TEXT NOT NULL, attempt INTEGER NOT NULL, worker_ids TEXT NOT NULL,
  started_at_ms INTEGER NOT NULL, finished_at_ms INTEGER NOT NULL DEFAULT 0,
  outcome TEXT NOT NULL DEFAULT '', message TEXT NOT NULL DEFAULT '', PRIMARY KEY (job_id, attempt));
CREATE TABLE epoch_metrics (job_id TEXT NOT NULL, attempt INTEGER NOT NULL, epoch INTEGER NOT NULL,
  global_step INTEGER NOT NULL, train_loss REAL NOT NULL, eval_loss REAL NOT NULL,
  eval_accuracy REAL NOT NULL, eval_f1 REAL NOT NULL, train_samples_per_second REAL NOT NULL,
  evaluated INTEGER NOT NULL, UNIQUE (job_id, attempt, epoch));
CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL,
  time_ms INTEGER NOT NULL, kind TEXT NOT NULL, event BLOB NOT NULL);
INSERT INTO jobs (id, state, spec_yaml, world_size, device, priority, created_at_ms, attempt)
  VALUES ('job-old', 4, 'task: mrpc', 1, 'cpu', 0, 1, 2);
INSERT INTO epoch_metrics VALUES ('job-old', 1, 1, 8, 0.5, 0.4, 0.75, 0.8, 10, 1);
INSERT INTO epoch_metrics VALUES ('job-old', 2, 1, 8, 0.6, 0.5, 0.25, 0.3, 10, 1);
INSERT INTO epoch_metrics VALUES ('job-old', 2, 2, 16, 0.3, 0.3, 0.85, 0.9, 10, 1);
PRAGMA user_version=1;
)sql";
    ASSERT_EQ(sqlite3_exec(db, v1_schema, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  SqliteJobStore store(Db());
  EXPECT_EQ(store.SchemaVersion(), SqliteJobStore::kSchemaVersion);
  const v1::Job job = store.LoadJobs().at(0).job;
  ASSERT_EQ(job.epochs_size(), 2);
  EXPECT_DOUBLE_EQ(job.epochs(0).eval_accuracy(), 0.75);
  EXPECT_EQ(job.epochs(1).epoch(), 2);
  EXPECT_EQ(job.max_restarts(), 3);  // the column's default: the job spec's default
}

TEST_F(StoreTest, EventsAndAttemptsAreKeptInOrder) {
  SqliteJobStore store(Db());
  store.InsertJob(MakeJob("job-v", 0));
  for (auto state : {v1::JOB_STATE_QUEUED, v1::JOB_STATE_SCHEDULED, v1::JOB_STATE_FAILED}) {
    v1::JobEvent event;
    event.set_job_id("job-v");
    event.set_state(state);
    store.AppendEvent(event);
  }
  v1::JobEvent epoch;
  epoch.set_job_id("job-v");
  epoch.mutable_epoch()->set_epoch(3);
  store.AppendEvent(epoch);
  auto events = store.LoadEvents("job-v");
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[1].state(), v1::JOB_STATE_SCHEDULED);
  EXPECT_EQ(events[3].epoch().epoch(), 3);
  EXPECT_TRUE(store.LoadEvents("job-other").empty());
  store.BeginAttempt("job-v", 1, {"w1"}, "", 10);
  store.FinishAttempt("job-v", 1, "FAILED", "worker w1 (rank 0) lost", 20);  // no throw
}

}  // namespace
}  // namespace bertfleet::coordinator
