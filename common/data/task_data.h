#pragma once
// One split of a task's data, wherever it lives: MRPC from any of its sources (mrpc_dataset.h),
// any other GLUE task from the GLUE distribution's files (glue_layout.h), your own files
// (own_files_task.h). LoadJobData reads what a job spec trains and evaluates on.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/config/job_spec.h"
#include "common/data/sentence_pair.h"
#include "common/train/glue_tasks.h"

namespace bertfleet {

// `split`: train, or the task's evaluation split (GlueTask::eval_splits). Rows a reader skips
// (QQP's malformed ones) are said through `warn`, one line each up to 5, then a count.
std::vector<SentencePair> LoadTaskSplit(const GlueTask& task, const std::string& data, const std::string& split,
                                        const std::filesystem::path& cache_dir,
                                        const std::function<void(const std::string&)>& warn);

struct EvalSplit {
  // Appended to every metric key, as run_glue.py does: "" for the split training evaluates,
  // "_mm" for MNLI's validation_mismatched (evaluated with the final model only).
  std::string key_suffix;
  std::vector<SentencePair> rows;
};

struct JobData {
  GlueTask task;  // a GLUE task, or the one the train_file defines (an empty name)
  std::vector<SentencePair> train;
  std::vector<EvalSplit> evals;  // the task's evaluation splits; empty without validation_file
  // "task mnli", "train_file data/train.csv": what the job trains on, for messages.
  std::string description;
};

// Every row is read and checked here, before any training starts. Relative paths (`data`,
// train_file, validation_file) resolve under `data_root` when it is set.
JobData LoadJobData(const JobSpec& spec, const std::filesystem::path& data_root, const std::filesystem::path& cache_dir,
                    const std::function<void(const std::string&)>& warn);

struct PredictSplit {
  std::string results_file;  // run_glue.py's name: "predict_results_rte.txt", "..._mnli-mm.txt"
  std::vector<SentencePair> rows;
};

struct PredictData {
  GlueTask task;  // as LoadJobData's (own files: the train file decides columns and labels)
  std::vector<PredictSplit> splits;
};

// What `predict` runs on: a GLUE task's test split (MNLI's test_matched and test_mismatched), or
// the spec's test_file, whose label column may be absent. Your own files' results file is
// "predict_results.txt", as run_classification.py names it.
PredictData LoadPredictData(const JobSpec& spec, const std::filesystem::path& data_root,
                            const std::filesystem::path& cache_dir,
                            const std::function<void(const std::string&)>& warn);

}  // namespace bertfleet
