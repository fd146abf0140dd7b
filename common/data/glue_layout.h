#pragma once
// The GLUE distribution's files for every task (glue_data/<TASK>/train.tsv, dev.tsv, test.tsv;
// MNLI's dev_matched.tsv and dev_mismatched.tsv), read into rows with Hugging Face `glue`'s
// idx (the row's position in its file), text columns and label ids. Each task's columns, header
// or not, label form (an id, a name, a score) are in glue_layout.cc; docs/tasks.md lists them.
#include <filesystem>
#include <string>
#include <vector>

#include "common/data/sentence_pair.h"
#include "common/train/glue_tasks.h"

namespace bertfleet {

struct GlueSplitRows {
  std::vector<SentencePair> rows;  // single-sentence tasks leave sentence2 empty; stsb sets score
  // QQP's published files have a few malformed rows, which Hugging Face's builder drops: they
  // are dropped here too, and each is said ("FILE:LINE: ..."), never silently.
  std::vector<std::string> skipped;
};

// `split`: train, validation, test; for mnli validation_matched, validation_mismatched,
// test_matched, test_mismatched. `directory`: the task's folder (with train.tsv) or the folder
// above it (glue_data/, holding e.g. SST-2/). Throws Error "FILE:LINE: column C: reason" for a
// bad row, and names the file for a missing or empty one. Not for mrpc (mrpc_dataset.h reads
// its own layouts).
GlueSplitRows ReadGlueSplit(const GlueTask& task, const std::filesystem::path& directory, const std::string& split);

// The file ReadGlueSplit reads for `split` ("dev_matched.tsv"); throws Error naming the splits
// the task has.
std::string GlueSplitFile(const GlueTask& task, const std::string& split);

}  // namespace bertfleet
