#pragma once
// Validation: loss, accuracy and F1 over a split. With several ranks each evaluates a contiguous
// shard and the sums (loss, the num_labels x num_labels confusion matrix) are all-reduced, so
// the metrics equal the single-process values exactly.
#include <vector>

#include "common/data/tokenized_dataset.h"
#include "common/train/confusion_matrix.h"
#include "worker/engine/collective/communicator.h"
#include "worker/engine/train/training_session.h"

namespace bertfleet {

struct EvalResult {
  double loss = 0;
  double accuracy = 0;
  double f1 = 0;
  int64_t examples = 0;
  double seconds = 0;
  ConfusionMatrix counts;
  // This rank's shard, in dataset order: example idx and predicted label.
  std::vector<int64_t> example_idx;
  std::vector<int64_t> predictions;
};

class Evaluator {
 public:
  Evaluator(const TokenizedDataset& dataset, int64_t batch_size, Communicator& communicator,
            int32_t pad_id = 0);

  // Runs in eval mode (no dropout) under the session's precision, restores train mode after.
  EvalResult Evaluate(BertForSequenceClassification& model, const Precision& precision,
                      torch::Device device) const;

 private:
  const TokenizedDataset& dataset_;
  int64_t batch_size_;
  Communicator& communicator_;
  int32_t pad_id_;
};

}  // namespace bertfleet
