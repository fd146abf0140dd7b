#pragma once
// What each task's evaluation reports, and which way each number is better: the names that
// `metric_for_best_model` may use (with or without the `eval_` prefix), as Hugging Face's
// `evaluate` GLUE metric and Trainer name them. A name outside this table is a typo, not a
// request to fall back to the loss. Also the values of those metrics, computed by name.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/train/confusion_matrix.h"

namespace bertfleet {

struct TaskMetric {
  std::string name;  // "loss", "accuracy", "f1", ...
  bool greater_is_better = true;
};

// The task's metrics, "loss" first; empty for a task this build does not know. The task ""
// (your own train_file) has every metric own files may report: accuracy, f1, macro_f1 for
// classification, mse, pearson, spearmanr for regression.
const std::vector<TaskMetric>& TaskMetrics(const std::string& task);

// The metric `name` (with or without "eval_") stands for, or nullptr.
const TaskMetric* FindTaskMetric(const std::string& task, std::string_view name);

// "loss, accuracy, f1"
std::string TaskMetricNames(const std::string& task);

using MetricValues = std::vector<std::pair<std::string, double>>;

// `metrics` by name, in that order: accuracy, f1 (of label 1), macro_f1, matthews_correlation
// from the confusion matrix; pearson, spearmanr, mse from every prediction and label;
// combined_score, the mean of the metrics before it (run_glue.py's). Throws Error for a name
// that does not apply to the problem.
MetricValues ClassificationMetricValues(const std::vector<std::string>& metrics, const ConfusionMatrix& matrix);
MetricValues RegressionMetricValues(const std::vector<std::string>& metrics, const std::vector<double>& predictions,
                                    const std::vector<double>& labels);

}  // namespace bertfleet
