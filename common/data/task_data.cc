#include "common/data/task_data.h"

#include "common/data/glue_layout.h"
#include "common/data/mrpc_dataset.h"
#include "common/data/own_files_task.h"
#include "common/data/table_file.h"
#include "common/util/error.h"

namespace bertfleet {

namespace fs = std::filesystem;

namespace {

std::string Resolve(const std::string& path, const fs::path& data_root) {
  if (path == "download" || data_root.empty() || fs::path(path).is_absolute()) return path;
  return (data_root / path).string();
}

OwnFilesColumns ColumnsOf(const JobSpec& spec) {
  OwnFilesColumns columns;
  columns.text_column_names = spec.text_column_names;
  columns.label_column_name = spec.label_column_name;
  columns.do_regression = spec.do_regression;
  return columns;
}

JobData LoadOwnFiles(const JobSpec& spec, const fs::path& data_root) {
  const OwnFilesColumns columns = ColumnsOf(spec);
  const TableFile train = ReadTableFile(Resolve(spec.train_file, data_root));
  JobData data;
  data.task = OwnFilesTask(train, columns);
  data.train = OwnFilesExamples(train, data.task, columns, true);
  data.description = "train_file " + spec.train_file;
  if (!spec.validation_file.empty()) {
    const TableFile validation = ReadTableFile(Resolve(spec.validation_file, data_root));
    data.evals.push_back({"", OwnFilesExamples(validation, data.task, columns, true)});
  }
  return data;
}

}  // namespace

std::vector<SentencePair> LoadTaskSplit(const GlueTask& task, const std::string& data, const std::string& split,
                                        const std::filesystem::path& cache_dir,
                                        const std::function<void(const std::string&)>& warn) {
  if (task.name == "mrpc") return LoadMrpcSplit(data, split, cache_dir);
  if (data == "download") {
    throw Error("data: download is for mrpc only (its source files have a public, pinned URL); task " + task.name +
                " reads the GLUE distribution's files: give their folder (glue_data or glue_data/" +
                task.glue_directory + ")");
  }
  GlueSplitRows read = ReadGlueSplit(task, data, split);
  constexpr size_t kShown = 5;
  for (size_t i = 0; i < read.skipped.size() && i < kShown && warn; ++i) warn("warning: " + read.skipped[i]);
  if (read.skipped.size() > kShown && warn) {
    warn("warning: " + std::to_string(read.skipped.size()) + " malformed rows skipped in all (" +
         std::to_string(read.skipped.size() - kShown) + " more than shown)");
  }
  return std::move(read.rows);
}

JobData LoadJobData(const JobSpec& spec, const fs::path& data_root, const fs::path& cache_dir,
                    const std::function<void(const std::string&)>& warn) {
  if (!spec.train_file.empty()) return LoadOwnFiles(spec, data_root);
  const GlueTask* task = FindGlueTask(spec.task);
  if (task == nullptr) throw Error("task: unknown task " + spec.task);
  JobData data;
  data.task = *task;
  data.description = "task " + task->name;
  const std::string folder = Resolve(spec.data, data_root);
  data.train = LoadTaskSplit(*task, folder, "train", cache_dir, warn);
  for (size_t i = 0; i < task->eval_splits.size(); ++i) {
    // run_glue.py's names: MNLI's second evaluation split gets "_mm" keys.
    data.evals.push_back({i == 0 ? "" : "_mm", LoadTaskSplit(*task, folder, task->eval_splits[i], cache_dir, warn)});
  }
  return data;
}

PredictData LoadPredictData(const JobSpec& spec, const fs::path& data_root, const fs::path& cache_dir,
                            const std::function<void(const std::string&)>& warn) {
  PredictData data;
  if (!spec.train_file.empty()) {
    if (spec.test_file.empty()) throw Error("test_file: the job spec names no test_file to predict");
    const OwnFilesColumns columns = ColumnsOf(spec);
    data.task = OwnFilesTask(ReadTableFile(Resolve(spec.train_file, data_root)), columns);
    const TableFile test = ReadTableFile(Resolve(spec.test_file, data_root));
    data.splits.push_back({"predict_results.txt", OwnFilesExamples(test, data.task, columns, false)});
    return data;
  }
  const GlueTask* task = FindGlueTask(spec.task);
  if (task == nullptr) throw Error("task: unknown task " + spec.task);
  data.task = *task;
  const std::string folder = Resolve(spec.data, data_root);
  if (task->name == "mnli") {
    data.splits.push_back({"predict_results_mnli.txt", LoadTaskSplit(*task, folder, "test_matched", cache_dir, warn)});
    data.splits.push_back(
        {"predict_results_mnli-mm.txt", LoadTaskSplit(*task, folder, "test_mismatched", cache_dir, warn)});
  } else {
    data.splits.push_back({"predict_results_" + task->name + ".txt", LoadTaskSplit(*task, folder, "test", cache_dir, warn)});
  }
  return data;
}

}  // namespace bertfleet
