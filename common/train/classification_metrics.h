#pragma once
// GLUE MRPC metrics (Hugging Face `evaluate`'s glue/mrpc: accuracy and binary F1 with positive
// class 1) from confusion counts, which add up across batches and ranks without loss.
#include <cstdint>

namespace bertfleet {

struct ConfusionCounts {
  int64_t true_positive = 0;
  int64_t false_positive = 0;
  int64_t true_negative = 0;
  int64_t false_negative = 0;

  void Add(int64_t label, int64_t prediction);
  ConfusionCounts& operator+=(const ConfusionCounts& other);
  int64_t total() const { return true_positive + false_positive + true_negative + false_negative; }
  double Accuracy() const;
  double F1() const;  // 0 when there are no positive predictions and no positive labels
};

}  // namespace bertfleet
