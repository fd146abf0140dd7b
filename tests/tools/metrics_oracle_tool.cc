// bertfleet's task metrics on predictions given as JSON lines, for comparison with scikit-learn
// and scipy (tests/python/test_task_metrics.py).
//
//   metrics_oracle_tool < cases.jsonl
// Each line: {"num_labels": N, "labels": [...], "predictions": [...]} (classification) or
// {"regression": true, "labels": [...], "predictions": [...]}. Each answer line holds every
// metric of that problem; NaN is written as null.
#include <cmath>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/train/task_metrics.h"

using namespace bertfleet;

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    const nlohmann::json input = nlohmann::json::parse(line);
    MetricValues values;
    if (input.value("regression", false)) {
      values = RegressionMetricValues({"pearson", "spearmanr", "combined_score", "mse"},
                                      input["predictions"].get<std::vector<double>>(),
                                      input["labels"].get<std::vector<double>>());
    } else {
      ConfusionMatrix matrix(input["num_labels"].get<int>());
      const auto labels = input["labels"].get<std::vector<int64_t>>();
      const auto predictions = input["predictions"].get<std::vector<int64_t>>();
      for (size_t i = 0; i < labels.size(); ++i) matrix.Add(labels[i], predictions[i]);
      values = ClassificationMetricValues({"accuracy", "f1", "macro_f1", "matthews_correlation"}, matrix);
    }
    nlohmann::json output = nlohmann::json::object();
    for (const auto& [name, value] : values) output[name] = std::isnan(value) ? nlohmann::json() : nlohmann::json(value);
    std::cout << output.dump() << "\n";
  }
  return 0;
}
