// libFuzzer target for the GLUE task layouts (common/data/glue_layout.h), which read
// user-supplied data directories. The first byte picks the task and split, the rest is the file.
// Every input must read or throw bertfleet::Error naming the file; rows that read must hold what
// the task promises: idx >= 0 and increasing, a label id of the task (or -1 in a test file or
// for stsb), a finite score for stsb, no TAB or line break in a text, valid UTF-8.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/data/glue_layout.h"
#include "common/text/utf8.h"
#include "common/util/error.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kTasks[] = {"cola", "sst2", "qqp", "stsb", "mnli", "qnli", "rte", "wnli"};
  const bertfleet::GlueTask& task = *bertfleet::FindGlueTask(kTasks[data[0] % 8]);
  const int which = (data[0] / 8) % 3;
  const bool mnli = task.name == "mnli";
  const std::string split = which == 0 ? "train" : which == 1 ? (mnli ? "validation_matched" : "validation")
                                                              : (mnli ? "test_matched" : "test");
  const auto path = bertfleet::fuzz::WriteScratchFile(
      bertfleet::GlueSplitFile(task, split), std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  bertfleet::GlueSplitRows read;
  try {
    read = bertfleet::ReadGlueSplit(task, path.parent_path(), split);
  } catch (const bertfleet::Error& error) {
    bertfleet::fuzz::CheckError(error, path.string());
    return 0;
  }
  const bool test = which == 2;
  int64_t previous = -1;
  for (const bertfleet::SentencePair& row : read.rows) {
    if (row.idx <= previous) __builtin_trap();
    previous = row.idx;
    if (test || task.regression()) {
      if (row.label != -1) __builtin_trap();
    } else if (row.label < 0 || row.label >= task.num_labels()) {
      __builtin_trap();
    }
    if (task.regression() && !test && !std::isfinite(row.score)) __builtin_trap();
    for (const std::string* text : {&row.sentence1, &row.sentence2}) {
      if (text->find_first_of("\t\r\n") != std::string::npos || !bertfleet::utf8::IsValid(*text)) __builtin_trap();
    }
    if (task.text_columns.size() == 1 && !row.sentence2.empty()) __builtin_trap();
  }
  for (const std::string& skipped : read.skipped) {
    if (skipped.find(path.string()) == std::string::npos) __builtin_trap();
  }
  return 0;
}
