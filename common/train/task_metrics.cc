#include "common/train/task_metrics.h"

#include <map>

#include "common/train/correlation_metrics.h"
#include "common/train/glue_tasks.h"
#include "common/util/error.h"

namespace bertfleet {

namespace {

std::map<std::string, std::vector<TaskMetric>> BuildTable() {
  std::map<std::string, std::vector<TaskMetric>> table;
  for (const GlueTask& task : GlueTasks()) {
    std::vector<TaskMetric>& metrics = table[task.name];
    metrics.push_back({"loss", false});
    for (const std::string& name : task.metrics) metrics.push_back({name, true});
  }
  // Own files (own_files_task.h) report one of these sets, known once the train file is read.
  table[""] = {{"loss", false}, {"accuracy", true}, {"f1", true},       {"macro_f1", true},
               {"mse", false},  {"pearson", true},  {"spearmanr", true}};
  return table;
}

// combined_score: the mean of the values computed before it.
void AddCombinedScore(MetricValues& values) {
  double sum = 0;
  for (const auto& [name, value] : values) sum += value;
  values.emplace_back("combined_score", values.empty() ? 0.0 : sum / static_cast<double>(values.size()));
}

}  // namespace

const std::vector<TaskMetric>& TaskMetrics(const std::string& task) {
  static const std::map<std::string, std::vector<TaskMetric>> table = BuildTable();
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

MetricValues ClassificationMetricValues(const std::vector<std::string>& metrics, const ConfusionMatrix& matrix) {
  MetricValues values;
  for (const std::string& name : metrics) {
    if (name == "accuracy") {
      values.emplace_back(name, matrix.Accuracy());
    } else if (name == "f1") {
      values.emplace_back(name, matrix.F1());
    } else if (name == "macro_f1") {
      values.emplace_back(name, matrix.MacroF1());
    } else if (name == "matthews_correlation") {
      values.emplace_back(name, matrix.MatthewsCorrelation());
    } else if (name == "combined_score") {
      AddCombinedScore(values);
    } else {
      throw Error("metric " + name + " is not a classification metric");
    }
  }
  return values;
}

MetricValues RegressionMetricValues(const std::vector<std::string>& metrics, const std::vector<double>& predictions,
                                    const std::vector<double>& labels) {
  MetricValues values;
  for (const std::string& name : metrics) {
    if (name == "pearson") {
      values.emplace_back(name, PearsonCorrelation(predictions, labels));
    } else if (name == "spearmanr") {
      values.emplace_back(name, SpearmanCorrelation(predictions, labels));
    } else if (name == "mse") {
      values.emplace_back(name, MeanSquaredError(predictions, labels));
    } else if (name == "combined_score") {
      AddCombinedScore(values);
    } else {
      throw Error("metric " + name + " is not a regression metric");
    }
  }
  return values;
}

}  // namespace bertfleet
