#include "common/train/correlation_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "common/util/error.h"

namespace bertfleet {

namespace {

void CheckSameLength(const std::vector<double>& x, const std::vector<double>& y, const char* metric) {
  if (x.size() != y.size()) {
    throw Error(std::string(metric) + ": " + std::to_string(x.size()) + " predictions for " +
                std::to_string(y.size()) + " labels");
  }
}

bool Constant(const std::vector<double>& values) {
  return std::all_of(values.begin(), values.end(), [&](double value) { return value == values.front(); });
}

// Deviations from the mean, scaled by their largest magnitude (scipy scales so that the norm
// cannot overflow), then normalized to unit length.
std::vector<double> UnitDeviations(const std::vector<double>& values) {
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  std::vector<double> deviations(values.size());
  double largest = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    deviations[i] = values[i] - mean;
    largest = std::max(largest, std::abs(deviations[i]));
  }
  double norm = 0;
  for (double& deviation : deviations) {
    deviation /= largest;
    norm += deviation * deviation;
  }
  norm = std::sqrt(norm);
  for (double& deviation : deviations) deviation /= norm;
  return deviations;
}

}  // namespace

double PearsonCorrelation(const std::vector<double>& x, const std::vector<double>& y) {
  CheckSameLength(x, y, "pearson");
  if (x.size() < 2 || Constant(x) || Constant(y)) return std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> unit_x = UnitDeviations(x);
  const std::vector<double> unit_y = UnitDeviations(y);
  const double r = std::inner_product(unit_x.begin(), unit_x.end(), unit_y.begin(), 0.0);
  return std::clamp(r, -1.0, 1.0);
}

std::vector<double> AverageRanks(const std::vector<double>& values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (size_t start = 0; start < order.size();) {
    size_t end = start + 1;
    while (end < order.size() && values[order[end]] == values[order[start]]) ++end;
    const double rank = (static_cast<double>(start + 1) + static_cast<double>(end)) / 2.0;  // mean of start+1..end
    for (size_t i = start; i < end; ++i) ranks[order[i]] = rank;
    start = end;
  }
  return ranks;
}

double SpearmanCorrelation(const std::vector<double>& x, const std::vector<double>& y) {
  CheckSameLength(x, y, "spearmanr");
  return PearsonCorrelation(AverageRanks(x), AverageRanks(y));
}

double MeanSquaredError(const std::vector<double>& predictions, const std::vector<double>& labels) {
  CheckSameLength(predictions, labels, "mse");
  if (predictions.empty()) return std::numeric_limits<double>::quiet_NaN();
  double sum = 0;
  for (size_t i = 0; i < predictions.size(); ++i) sum += (predictions[i] - labels[i]) * (predictions[i] - labels[i]);
  return sum / static_cast<double>(predictions.size());
}

}  // namespace bertfleet
