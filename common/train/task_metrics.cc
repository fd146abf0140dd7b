#include "common/train/task_metrics.h"

#include <map>

namespace bertfleet {

const std::vector<TaskMetric>& TaskMetrics(const std::string& task) {
  static const std::map<std::string, std::vector<TaskMetric>> table = {
      {"mrpc", {{"loss", false}, {"accuracy", true}, {"f1", true}}},
  };
  static const std::vector<TaskMetric> none;
  const auto it = table.find(task);
  return it == table.end() ? none : it->second;
}

const TaskMetric* FindTaskMetric(const std::string& task, std::string_view name) {
  if (name.substr(0, 5) == "eval_") name.remove_prefix(5);
  for (const TaskMetric& metric : TaskMetrics(task)) {
    if (metric.name == name) return &metric;
  }
  return nullptr;
}

std::string TaskMetricNames(const std::string& task) {
  std::string names;
  for (const TaskMetric& metric : TaskMetrics(task)) names += (names.empty() ? "" : ", ") + metric.name;
  return names;
}

}  // namespace bertfleet
