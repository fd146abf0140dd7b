// Cross-key rules. The Hugging Face ones mirror TrainingArguments.__post_init__ in transformers
// 4.46 so a spec that Hugging Face rejects is rejected here too, before any worker starts.
#include <string>

#include "common/config/job_spec_fields.h"
#include "common/train/task_metrics.h"
#include "common/util/edit_distance.h"

namespace bertfleet {
namespace {

std::string Quoted(const std::string& text) { return "\"" + text + "\""; }

void CheckOwnFilesRules(const JobSpec& spec, JobSpecProblems& problems) {
  if (spec.train_file.empty()) {
    if (spec.task.empty()) {
      problems.push_back({{"task", "train_file"}, "name a GLUE task, or give train_file (your own files)"});
    }
    const std::vector<std::pair<std::string, bool>> own_keys = {
        {"validation_file", !spec.validation_file.empty()},
        {"test_file", !spec.test_file.empty()},
        {"text_column_names", !spec.text_column_names.empty()},
        {"label_column_name", spec.label_column_name != "label"},
        {"do_regression", spec.do_regression.has_value()}};
    for (const auto& [key, set] : own_keys) {
      if (set) {
        problems.push_back({{key, "train_file"},
                            "is for your own files and needs train_file (task " + spec.task +
                                " reads the GLUE distribution's files from data)"});
      }
    }
    return;
  }
  // Hugging Face's Trainer fails at the first evaluation without an eval dataset.
  if (spec.validation_file.empty() && (spec.eval_strategy != "no" || spec.load_best_model_at_end)) {
    problems.push_back({{"validation_file", "eval_strategy", "load_best_model_at_end"},
                        "is needed to evaluate (eval_strategy " + Quoted(spec.eval_strategy) +
                            (spec.load_best_model_at_end ? ", load_best_model_at_end" : "") +
                            "); give one, or set eval_strategy: no"});
  }
}

}  // namespace

void CheckJobSpecRules(const JobSpec& spec, JobSpecProblems& problems) {
  CheckOwnFilesRules(spec, problems);
  // Hugging Face fails at the first evaluation (KeyError) on a metric the evaluation does not
  // report; bertfleet says so before any worker starts.
  if (!spec.metric_for_best_model.empty() && !FindTaskMetric(spec.task, spec.metric_for_best_model)) {
    std::vector<std::string> names;
    for (const TaskMetric& metric : TaskMetrics(spec.task)) {
      names.push_back(metric.name);
      names.push_back("eval_" + metric.name);
    }
    std::string hint = ClosestMatch(spec.metric_for_best_model, names);
    problems.push_back({{"metric_for_best_model", spec.task.empty() ? "train_file" : "task"},
                        (spec.task.empty() ? std::string("your own files report") : "task " + spec.task + " reports") +
                            " no metric " + Quoted(spec.metric_for_best_model) +
                            (hint.empty() ? "" : " (did you mean " + Quoted(hint) + "?)") + "; it reports " +
                            TaskMetricNames(spec.task) + ", with or without eval_"});
  }
  // bertfleet's own: an elastic job shrinks, it never runs on more workers than it asked for.
  if (spec.min_world_size > spec.world_size) {
    problems.push_back({{"min_world_size", "world_size"},
                        "must not exceed world_size (got min_world_size " + std::to_string(spec.min_world_size) +
                            ", world_size " + std::to_string(spec.world_size) + ")"});
  }
  // Hugging Face: "At most one of fp16 and bf16 can be True, but not both".
  if (spec.bf16 && spec.fp16) {
    problems.push_back({{"fp16", "bf16"}, "fp16 and bf16 cannot both be true"});
  }
  // bertfleet's own: CPU LibTorch has no fp16 autocast (bf16 runs on AMX instead).
  if (spec.fp16 && spec.device == "cpu") {
    problems.push_back({{"fp16", "device"}, "needs device: cuda; on CPU use bf16: true"});
  }
  if (spec.load_best_model_at_end) {
    // Hugging Face: the best checkpoint must exist when it is chosen, so saves and evaluations
    // have to happen on the same schedule.
    if (spec.eval_strategy != spec.save_strategy) {
      problems.push_back({{"load_best_model_at_end", "save_strategy", "eval_strategy"},
                          "requires save_strategy to match eval_strategy (got eval_strategy " +
                              Quoted(spec.eval_strategy) + ", save_strategy " +
                              Quoted(spec.save_strategy) + ")"});
    } else if (spec.eval_strategy == "steps" && spec.save_steps % spec.EffectiveEvalSteps() != 0) {
      const std::string eval_steps =
          spec.eval_steps > 0 ? std::to_string(spec.eval_steps)
                              : std::to_string(spec.logging_steps) + " (unset, so logging_steps)";
      problems.push_back(
          {{"load_best_model_at_end", "save_steps", "eval_steps", "logging_steps"},
           "requires save_steps to be a round multiple of eval_steps (got save_steps " +
               std::to_string(spec.save_steps) + ", eval_steps " + eval_steps + ")"});
    }
  }
}

}  // namespace bertfleet
