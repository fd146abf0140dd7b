#pragma once
// `report_to: mlflow`: the run's parameters, metrics by step and final model directory, sent to
// an MLflow tracking server by one background thread. The training thread only appends to a
// bounded queue and never waits on the network: when the server is unreachable the thread warns
// once, retries with capped exponential backoff, and when the queue is full drops the oldest
// metrics (counted, and said at the end). Finish() waits at most `flush_timeout` for what is
// still queued, so a dead server delays the end of a run by that much and fails nothing.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "worker/engine/tracking/mlflow_rest.h"
#include "worker/engine/tracking/run_tracker.h"

namespace bertfleet {

struct MlflowSettings {
  std::string tracking_uri;       // http(s)://...
  std::string experiment_name;    // "" -> the Default experiment (id 0)
  std::string experiment_id;      // wins over the name (MLFLOW_EXPERIMENT_ID)
  std::string run_name;
  MlflowPairs tags;
  size_t queue_capacity = 4096;   // entries (one per log entry, param chunk or artifact)
  std::chrono::milliseconds flush_timeout{30000};
  std::chrono::milliseconds first_retry{500};
  std::chrono::milliseconds max_retry{30000};
  std::function<void(const std::string&)> warn;  // one line per warning
};

class MlflowTracker : public RunTracker {
 public:
  MlflowTracker(MlflowSettings settings, std::unique_ptr<HttpTransport> transport);
  ~MlflowTracker() override;  // as Finish({}, kFailed) if Finish was not called

  std::string name() const override { return "mlflow"; }
  void LogParams(const std::vector<std::pair<std::string, std::string>>& params) override;
  void Log(const TrackedLog& log) override;
  void Finish(const std::filesystem::path& model_dir, RunOutcome outcome) override;

  // Observed by tests.
  int64_t dropped() const;
  std::string run_id() const;

 private:
  struct Item {
    enum Kind { kParams, kMetrics, kArtifact, kEnd } kind = kEnd;
    MlflowPairs params;
    std::vector<MlflowMetric> metrics;
    std::string artifact_path;
    std::filesystem::path file;
    std::string status;
  };

  void Enqueue(Item item);
  void Run();
  void Send(const Item& item);
  void EnsureRun();
  void Warn(const std::string& line) const;

  MlflowSettings settings_;
  std::unique_ptr<HttpTransport> transport_;
  MlflowRest rest_;
  MlflowRun run_;  // written and read by the sender thread only (run_id() locks)

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Item> queue_;
  bool stopping_ = false;  // the sender gives up on what is left
  bool finished_ = false;
  bool sending_ = false;   // an item is out of the queue and in flight
  int64_t dropped_ = 0;
  std::string run_id_copy_;
  std::thread sender_;
};

}  // namespace bertfleet
