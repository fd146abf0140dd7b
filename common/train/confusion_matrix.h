#pragma once
// Classification metrics (Hugging Face `evaluate`, i.e. scikit-learn: accuracy, binary F1 of
// label 1, macro F1, Matthews correlation) from an N x N confusion matrix. Counts add up across
// batches and ranks without loss, so every one of these metrics is exact under data parallelism:
// each rank counts its shard and the matrices are all-reduced.
#include <cstdint>
#include <vector>

namespace bertfleet {

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int num_labels = 2);

  // Throws Error when either is outside [0, num_labels).
  void Add(int64_t label, int64_t prediction);
  ConfusionMatrix& operator+=(const ConfusionMatrix& other);

  int num_labels() const { return num_labels_; }
  int64_t count(int64_t label, int64_t prediction) const { return counts_[label * num_labels_ + prediction]; }
  int64_t total() const;

  // Row-major (label, prediction) counts as doubles, for one all-reduce; doubles hold counts
  // exactly up to 2^53.
  std::vector<double> ToDoubles() const;
  static ConfusionMatrix FromDoubles(int num_labels, const double* values);

  double Accuracy() const;  // 0 for an empty matrix
  // scikit-learn's f1_score(average="binary", pos_label=1): 2TP / (2TP + FP + FN), 0 when no
  // label and no prediction is 1.
  double F1() const;
  // f1_score(average="macro"): the mean F1 over the labels that occur as a label or a prediction.
  double MacroF1() const;
  // matthews_corrcoef, its multiclass form (Gorodkin's R_K); 0 when every label or every
  // prediction is one class, as scikit-learn returns.
  double MatthewsCorrelation() const;

 private:
  double ClassF1(int64_t label) const;

  int num_labels_;
  std::vector<int64_t> counts_;
};

}  // namespace bertfleet
