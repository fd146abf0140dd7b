#pragma once
// Validation: loss, accuracy and F1 over a split. With several ranks each evaluates a contiguous
// shard and the sums (loss, the num_labels x num_labels confusion matrix) are all-reduced, so
// the metrics equal the single-process values exactly.
#include <string>
#include <vector>

#include "common/data/tokenized_dataset.h"
#include "common/train/confusion_matrix.h"
#include "common/train/task_metrics.h"
#include "worker/engine/collective/communicator.h"
#include "worker/engine/train/training_session.h"

namespace bertfleet {

struct EvalResult {
  double loss = 0;
  MetricValues metrics;  // the task's metrics, its names and order (accuracy, f1 for mrpc)
  double accuracy = 0;   // also kept typed for the epoch reports, which carry these two
  double f1 = 0;
  int64_t examples = 0;
  double seconds = 0;
  ConfusionMatrix counts;
  // This rank's shard, in dataset order: example idx and predicted label.
  std::vector<int64_t> example_idx;
  std::vector<int64_t> predictions;  // classification
  std::vector<double> scores;        // regression: the one output

  // "loss" or one of `metrics`, with or without "eval_"; throws Error naming the ones there are.
  double Value(const std::string& name) const;
};

class Evaluator {
 public:
  // `metrics`: the task's (GlueTask::metrics), computed from the all-reduced confusion matrix.
  Evaluator(const TokenizedDataset& dataset, int64_t batch_size, Communicator& communicator, int32_t pad_id,
            std::vector<std::string> metrics);

  // Runs in eval mode (no dropout) under the session's precision, restores train mode after.
  EvalResult Evaluate(BertForSequenceClassification& model, const Precision& precision,
                      torch::Device device) const;

 private:
  const TokenizedDataset& dataset_;
  int64_t batch_size_;
  Communicator& communicator_;
  int32_t pad_id_;
  std::vector<std::string> metrics_;
};

}  // namespace bertfleet
