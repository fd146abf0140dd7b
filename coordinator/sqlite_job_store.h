#pragma once
// JobStore on one SQLite file: WAL journal, synchronous=FULL (every committed state change is on
// disk before the coordinator acts on it), schema versioned with PRAGMA user_version.
#include <mutex>
#include <string>

#include "coordinator/job_store.h"

struct sqlite3;

namespace bertfleet::coordinator {

class SqliteJobStore : public JobStore {
 public:
  // Opens (creating if needed) and migrates the database. Throws Error naming the file.
  explicit SqliteJobStore(const std::string& path);
  ~SqliteJobStore() override;
  SqliteJobStore(const SqliteJobStore&) = delete;
  SqliteJobStore& operator=(const SqliteJobStore&) = delete;

  static constexpr int kSchemaVersion = 6;
  int SchemaVersion();

  int64_t InsertJob(const bertfleet::v1::Job& job) override;
  void UpdateJob(const bertfleet::v1::Job& job) override;
  std::vector<StoredJob> LoadJobs() override;
  void BeginAttempt(const std::string& job_id, int32_t attempt,
                    const std::vector<std::string>& worker_ids, const std::string& resumed_from,
                    int64_t time_ms) override;
  void FinishAttempt(const std::string& job_id, int32_t attempt, const std::string& outcome,
                     const std::string& message, int64_t time_ms) override;
  bool AddEpochMetrics(const std::string& job_id, int32_t attempt,
                       const bertfleet::v1::EpochMetrics& metrics) override;
  std::vector<int64_t> InsertSweep(const bertfleet::v1::Sweep& sweep,
                                   const std::vector<bertfleet::v1::Job>& jobs) override;  // sqlite_sweep_store.cc
  std::vector<bertfleet::v1::Sweep> LoadSweeps() override;
  void AppendEvent(const bertfleet::v1::JobEvent& event) override;
  std::vector<bertfleet::v1::JobEvent> LoadEvents(const std::string& job_id) override;

 private:
  void Exec(const std::string& sql);
  void Migrate();
  int64_t InsertJobRow(const bertfleet::v1::Job& job);  // mu_ held
  bool InsertEpochMetrics(const std::string& job_id, int32_t attempt, const v1::EpochMetrics& m);  // mu_ held

  std::string path_;
  sqlite3* db_ = nullptr;
  std::mutex mu_;
};

}  // namespace bertfleet::coordinator
