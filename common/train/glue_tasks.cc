#include "common/train/glue_tasks.h"

namespace bertfleet {

const std::vector<GlueTask>& GlueTasks() {
  static const std::vector<GlueTask> tasks = {
      {"cola", "CoLA", {"sentence"}, {"unacceptable", "acceptable"}, {"matthews_correlation"}, {"validation"}},
      {"sst2", "SST-2", {"sentence"}, {"negative", "positive"}, {"accuracy"}, {"validation"}},
      {"mrpc", "MRPC", {"sentence1", "sentence2"}, {"not_equivalent", "equivalent"}, {"accuracy", "f1"}, {"validation"}},
      {"qqp", "QQP", {"question1", "question2"}, {"not_duplicate", "duplicate"}, {"accuracy", "f1"}, {"validation"}},
      {"stsb", "STS-B", {"sentence1", "sentence2"}, {}, {"pearson", "spearmanr", "combined_score"}, {"validation"}},
      {"mnli", "MNLI", {"premise", "hypothesis"}, {"entailment", "neutral", "contradiction"}, {"accuracy"},
       {"validation_matched", "validation_mismatched"}},
      {"qnli", "QNLI", {"question", "sentence"}, {"entailment", "not_entailment"}, {"accuracy"}, {"validation"}},
      {"rte", "RTE", {"sentence1", "sentence2"}, {"entailment", "not_entailment"}, {"accuracy"}, {"validation"}},
      {"wnli", "WNLI", {"sentence1", "sentence2"}, {"not_entailment", "entailment"}, {"accuracy"}, {"validation"}},
  };
  return tasks;
}

const GlueTask* FindGlueTask(std::string_view name) {
  for (const GlueTask& task : GlueTasks()) {
    if (task.name == name) return &task;
  }
  return nullptr;
}

}  // namespace bertfleet
