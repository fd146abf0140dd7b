#pragma once
// One JSON object per optimizer step (`bertfleet-worker train --step-log FILE`), with full
// precision: what equivalence tests compare across world sizes and what benchmarks split into
// compute and all-reduce time. The human log keeps its `epoch E step S/T loss ...` lines.
#include <cstdio>
#include <filesystem>

#include "worker/engine/train/trainer.h"

namespace bertfleet {

class StepLog : public TrainingObserver {
 public:
  explicit StepLog(const std::filesystem::path& path);  // Error naming the path if it cannot be opened
  ~StepLog() override;
  StepLog(const StepLog&) = delete;
  StepLog& operator=(const StepLog&) = delete;

  void OnStepEnd(TrainerState& state, const StepStats& stats) override;

 private:
  std::FILE* file_;
};

}  // namespace bertfleet
