#pragma once
// Where a run's parameters, metrics and final model go besides bertfleet's own store: the
// `report_to` integrations of Hugging Face's Trainer (TensorBoard, MLflow). The reporter
// (worker/engine/report/tracking_reporter.h) calls these on rank 0 from the training thread, so
// no implementation may block on I/O that can hang: MlflowTracker queues, TensorBoardWriter
// appends to a local file.
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace bertfleet {

// One Hugging Face log entry: its numeric keys as Trainer names them (`loss`, `learning_rate`,
// `eval_accuracy`, `train_runtime`, ...), at one global step.
enum class RunOutcome { kFinished, kFailed, kStopped };  // stopped: preempted, resumes elsewhere

struct TrackedLog {
  int64_t step = 0;
  std::vector<std::pair<std::string, double>> values;
};

class RunTracker {
 public:
  virtual ~RunTracker() = default;
  virtual std::string name() const = 0;  // "tensorboard", "mlflow"
  // Once, before the first step: the job spec's keys and the model's config, flattened.
  virtual void LogParams(const std::vector<std::pair<std::string, std::string>>& params) = 0;
  virtual void Log(const TrackedLog& log) = 0;
  // Once, at the end: the final model directory (empty unless the run finished).
  virtual void Finish(const std::filesystem::path& model_dir, RunOutcome outcome) = 0;
};

}  // namespace bertfleet
