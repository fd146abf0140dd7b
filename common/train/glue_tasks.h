#pragma once
// The nine GLUE tasks as Hugging Face's `glue` dataset and `run_glue.py` define them: the text
// columns (run_glue.py's task_to_keys), the label names in id order (so that label ids match
// checkpoints trained by run_glue.py), the evaluation splits and the metrics of `evaluate`'s GLUE
// metric. Sources: docs/tasks.md.
#include <string>
#include <string_view>
#include <vector>

namespace bertfleet {

struct GlueTask {
  std::string name;                       // "mnli"
  std::string glue_directory;             // the GLUE distribution's folder: "MNLI"
  std::vector<std::string> text_columns;  // one or two: {"premise", "hypothesis"}
  std::vector<std::string> label_names;   // id order; empty for regression (stsb)
  std::vector<std::string> metrics;       // evaluate's keys in its order, plus run_glue's combined_score
  std::vector<std::string> eval_splits;   // Hugging Face split names; the first is the one training evaluates
  bool regression() const { return label_names.empty(); }
  int num_labels() const { return regression() ? 1 : static_cast<int>(label_names.size()); }
};

const std::vector<GlueTask>& GlueTasks();
const GlueTask* FindGlueTask(std::string_view name);  // nullptr when unknown

}  // namespace bertfleet
