#pragma once
// One split of a task's data, wherever it lives: MRPC from any of its sources (mrpc_dataset.h),
// any other GLUE task from the GLUE distribution's files (glue_layout.h).
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/data/sentence_pair.h"
#include "common/train/glue_tasks.h"

namespace bertfleet {

// `split`: train, or the task's evaluation split (GlueTask::eval_splits). Rows a reader skips
// (QQP's malformed ones) are said through `warn`, one line each up to 5, then a count.
std::vector<SentencePair> LoadTaskSplit(const GlueTask& task, const std::string& data, const std::string& split,
                                        const std::filesystem::path& cache_dir,
                                        const std::function<void(const std::string&)>& warn);

}  // namespace bertfleet
