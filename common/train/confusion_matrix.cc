#include "common/train/confusion_matrix.h"

#include <cmath>
#include <string>

#include "common/util/error.h"

namespace bertfleet {

ConfusionMatrix::ConfusionMatrix(int num_labels)
    : num_labels_(num_labels), counts_(static_cast<size_t>(num_labels) * num_labels, 0) {
  if (num_labels < 1) throw Error("confusion matrix: num_labels must be >= 1 (got " + std::to_string(num_labels) + ")");
}

void ConfusionMatrix::Add(int64_t label, int64_t prediction) {
  if (label < 0 || label >= num_labels_ || prediction < 0 || prediction >= num_labels_) {
    throw Error("confusion matrix: label " + std::to_string(label) + ", prediction " + std::to_string(prediction) +
                " outside 0.." + std::to_string(num_labels_ - 1));
  }
  ++counts_[label * num_labels_ + prediction];
}

ConfusionMatrix& ConfusionMatrix::operator+=(const ConfusionMatrix& other) {
  if (other.num_labels_ != num_labels_) {
    throw Error("confusion matrix: cannot add " + std::to_string(other.num_labels_) + " labels to " +
                std::to_string(num_labels_));
  }
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  return *this;
}

int64_t ConfusionMatrix::total() const {
  int64_t sum = 0;
  for (const int64_t count : counts_) sum += count;
  return sum;
}

std::vector<double> ConfusionMatrix::ToDoubles() const { return {counts_.begin(), counts_.end()}; }

ConfusionMatrix ConfusionMatrix::FromDoubles(int num_labels, const double* values) {
  ConfusionMatrix matrix(num_labels);
  for (size_t i = 0; i < matrix.counts_.size(); ++i) matrix.counts_[i] = static_cast<int64_t>(std::llround(values[i]));
  return matrix;
}

double ConfusionMatrix::Accuracy() const {
  int64_t correct = 0;
  for (int64_t k = 0; k < num_labels_; ++k) correct += count(k, k);
  const int64_t n = total();
  return n == 0 ? 0.0 : static_cast<double>(correct) / static_cast<double>(n);
}

double ConfusionMatrix::ClassF1(int64_t label) const {
  int64_t false_positive = 0, false_negative = 0;
  for (int64_t other = 0; other < num_labels_; ++other) {
    if (other == label) continue;
    false_positive += count(other, label);
    false_negative += count(label, other);
  }
  const int64_t true_positive = count(label, label);
  const int64_t denominator = 2 * true_positive + false_positive + false_negative;
  return denominator == 0 ? 0.0 : 2.0 * static_cast<double>(true_positive) / static_cast<double>(denominator);
}

double ConfusionMatrix::F1() const { return num_labels_ < 2 ? 0.0 : ClassF1(1); }

double ConfusionMatrix::MacroF1() const {
  double sum = 0;
  int present = 0;
  for (int64_t k = 0; k < num_labels_; ++k) {
    int64_t occurrences = 0;  // as a label or as a prediction
    for (int64_t other = 0; other < num_labels_; ++other) occurrences += count(k, other) + count(other, k);
    if (occurrences == 0) continue;  // scikit-learn averages over unique_labels(y_true, y_pred)
    sum += ClassF1(k);
    ++present;
  }
  return present == 0 ? 0.0 : sum / present;
}

double ConfusionMatrix::MatthewsCorrelation() const {
  // scikit-learn: cov(y, p) / sqrt(cov(y, y) cov(p, p)) from the matrix's sums, in doubles as it
  // computes them.
  const double samples = static_cast<double>(total());
  double correct = 0, true_times_predicted = 0, true_squared = 0, predicted_squared = 0;
  for (int64_t k = 0; k < num_labels_; ++k) {
    double true_k = 0, predicted_k = 0;
    for (int64_t other = 0; other < num_labels_; ++other) {
      true_k += static_cast<double>(count(k, other));
      predicted_k += static_cast<double>(count(other, k));
    }
    correct += static_cast<double>(count(k, k));
    true_times_predicted += true_k * predicted_k;
    true_squared += true_k * true_k;
    predicted_squared += predicted_k * predicted_k;
  }
  const double cov_ytyp = correct * samples - true_times_predicted;
  const double cov_ypyp = samples * samples - predicted_squared;
  const double cov_ytyt = samples * samples - true_squared;
  if (cov_ypyp * cov_ytyt == 0) return 0.0;
  return cov_ytyp / std::sqrt(cov_ytyt * cov_ypyp);
}

}  // namespace bertfleet
