#pragma once
// What each task's evaluation reports, and which way each number is better: the names that
// `metric_for_best_model` may use (with or without the `eval_` prefix), as Hugging Face's
// `evaluate` GLUE metric and Trainer name them. A name outside this table is a typo, not a
// request to fall back to the loss.
#include <string>
#include <string_view>
#include <vector>

namespace bertfleet {

struct TaskMetric {
  std::string name;  // "loss", "accuracy", "f1", ...
  bool greater_is_better = true;
};

// The task's metrics, "loss" first; empty for a task this build does not know.
const std::vector<TaskMetric>& TaskMetrics(const std::string& task);

// The metric `name` (with or without "eval_") stands for, or nullptr.
const TaskMetric* FindTaskMetric(const std::string& task, std::string_view name);

// "loss, accuracy, f1"
std::string TaskMetricNames(const std::string& task);

}  // namespace bertfleet
