#include "cli/eval_metrics.h"

#include <algorithm>
#include <cctype>
#include <map>

namespace bertfleet::cli {

std::vector<std::string> EvalMetricNames(const bertfleet::v1::EpochMetrics& metrics) {
  if (metrics.eval_metrics_size() == 0) return {"accuracy", "f1"};
  std::vector<std::string> names;
  for (const auto& metric : metrics.eval_metrics()) names.push_back(metric.name());
  return names;
}

std::vector<std::string> EvalMetricNames(const bertfleet::v1::Job& job) {
  std::vector<std::string> names;
  for (const auto& epoch : job.epochs()) {
    if (!epoch.evaluated()) continue;
    for (const std::string& name : EvalMetricNames(epoch)) {
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  }
  return names;
}

std::optional<double> EvalMetric(const bertfleet::v1::EpochMetrics& metrics, const std::string& name) {
  for (const auto& metric : metrics.eval_metrics()) {
    if (metric.name() == name) return metric.value();
  }
  if (metrics.eval_metrics_size() == 0) {
    if (name == "accuracy") return metrics.eval_accuracy();
    if (name == "f1") return metrics.eval_f1();
  }
  return std::nullopt;
}

std::string EvalMetricTitle(const std::string& name) {
  static const std::map<std::string, std::string> acronyms = {{"mse", "MSE"}, {"f1", "F1"}, {"mm", "MM"}};
  std::string title;
  size_t start = 0;
  while (start <= name.size()) {
    const size_t end = std::min(name.find('_', start), name.size());
    std::string word = name.substr(start, end - start);
    if (const auto it = acronyms.find(word); it != acronyms.end()) {
      word = it->second;
    } else if (!word.empty()) {
      word[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
    }
    title += (title.empty() ? "" : " ") + word;
    start = end + 1;
  }
  return title;
}

}  // namespace bertfleet::cli
