#include "common/train/classification_metrics.h"

namespace bertfleet {

void ConfusionCounts::Add(int64_t label, int64_t prediction) {
  if (label == 1) {
    prediction == 1 ? ++true_positive : ++false_negative;
  } else {
    prediction == 1 ? ++false_positive : ++true_negative;
  }
}

ConfusionCounts& ConfusionCounts::operator+=(const ConfusionCounts& other) {
  true_positive += other.true_positive;
  false_positive += other.false_positive;
  true_negative += other.true_negative;
  false_negative += other.false_negative;
  return *this;
}

double ConfusionCounts::Accuracy() const {
  const int64_t n = total();
  return n == 0 ? 0.0 : static_cast<double>(true_positive + true_negative) / static_cast<double>(n);
}

double ConfusionCounts::F1() const {
  // scikit-learn's f1_score: 2TP / (2TP + FP + FN), 0 when the denominator is 0.
  const int64_t denominator = 2 * true_positive + false_positive + false_negative;
  return denominator == 0 ? 0.0
                          : 2.0 * static_cast<double>(true_positive) / static_cast<double>(denominator);
}

}  // namespace bertfleet
