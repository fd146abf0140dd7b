#include "common/data/task_data.h"

#include "common/data/glue_layout.h"
#include "common/data/mrpc_dataset.h"
#include "common/util/error.h"

namespace bertfleet {

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

}  // namespace bertfleet
