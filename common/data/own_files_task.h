#pragma once
// Your own data (train_file, validation_file, test_file) as run_glue.py and
// run_classification.py read it: which columns are the text, what the labels are and in which
// order, regression or classification, and what the evaluation reports. The train file decides;
// the other files must agree with it. Every row is checked before any training starts.
#include <optional>
#include <string>
#include <vector>

#include "common/data/sentence_pair.h"
#include "common/data/table_file.h"
#include "common/train/glue_tasks.h"

namespace bertfleet {

struct OwnFilesColumns {
  std::string text_column_names;  // "a" or "a,b"; "": run_glue.py's choice (see OwnFilesTask)
  std::string label_column_name = "label";
  std::optional<bool> do_regression;  // unset: float labels mean regression
};

// The task `train` defines, as a GlueTask with an empty name:
// - text columns: text_column_names, else sentence1/sentence2 when both exist, else the first
//   two columns that are not the label, else the one;
// - labels: regression (no label names) when do_regression is true, or unset and the labels are
//   numbers not all integers; else the distinct labels sorted (integers by value, text by code
//   point) as run_glue.py's label_list;
// - metrics: accuracy and f1 (of label id 1) for two classes, accuracy and macro_f1 for more;
//   mse, pearson and spearmanr for regression.
// Throws Error naming the file, line and column: a missing column, an empty text, a missing or
// NaN label, a label that is not a number under do_regression, fewer than two classes.
GlueTask OwnFilesTask(const TableFile& train, const OwnFilesColumns& columns);

// The rows of `file` as examples of `task`: label ids (classification) or targets (regression).
// A label the train file never had is an error naming the file, line and column. `labels`:
// false for a test file, whose label column may be absent or empty (examples get label -1).
std::vector<SentencePair> OwnFilesExamples(const TableFile& file, const GlueTask& task,
                                           const OwnFilesColumns& columns, bool labels);

}  // namespace bertfleet
