#pragma once
// What a person (or a script) sees of a training run: Marian-style progress lines
// (`epoch 2 step 300/690 loss 0.4100 ...`), a progress bar when stderr is a terminal, and one
// row per epoch: a table, or with JSON one object per line on stdout.
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "worker/engine/train/trainer.h"

namespace bertfleet {

struct ConsoleReporterOptions {
  bool json = false;              // epoch rows as JSON lines instead of a table
  bool progress_bar = false;      // redraw a bar on stderr (only on a TTY)
  int64_t log_every_steps = 50;   // progress lines (0: never)
  std::FILE* rows = stdout;
  std::function<void(const std::string&)> log;  // where progress lines go
  std::vector<std::string> metrics = {"accuracy", "f1"};  // the task's, one table column each
};

class ConsoleReporter : public TrainingObserver {
 public:
  explicit ConsoleReporter(ConsoleReporterOptions options) : options_(std::move(options)) {}

  void OnTrainBegin(TrainerState& state) override;
  void OnStepEnd(TrainerState& state, const StepStats& stats) override;
  void OnEpochEnd(TrainerState& state) override;

  static std::string FormatEpochRow(const EpochSummary& summary, const std::vector<std::string>& metrics);
  static std::string EpochTableHeader(const std::vector<std::string>& metrics);

 private:
  void ClearBar();

  ConsoleReporterOptions options_;
  bool header_printed_ = false;
  bool bar_visible_ = false;
  double window_loss_ = 0;
  int64_t window_steps_ = 0;
  int64_t window_examples_ = 0;
  int64_t window_real_tokens_ = 0;
  int64_t window_padded_tokens_ = 0;
  double window_seconds_ = 0;
};

}  // namespace bertfleet
