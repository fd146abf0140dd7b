// libFuzzer target for your own data files (common/data/table_file.h, own_files_task.h), which
// users upload. The first byte picks the format (csv, tsv, json, jsonl), do_regression (unset,
// true, false) and whether the file is read as a train or a test file; the rest is the file.
// Every input must read or throw bertfleet::Error naming the file; rows that read must hold
// what the task promises: idx increasing, a label id of the task (or -1 in a test file or for a
// regression), a finite target for a regression, non-empty valid UTF-8 text.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/data/own_files_task.h"
#include "common/data/table_file.h"
#include "common/text/utf8.h"
#include "common/util/error.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kExtensions[] = {".csv", ".tsv", ".json", ".jsonl"};
  const std::string name = std::string("data") + kExtensions[data[0] % 4];
  bertfleet::OwnFilesColumns columns;
  const int regression = (data[0] / 4) % 3;
  if (regression > 0) columns.do_regression = regression == 1;
  const bool test = (data[0] / 12) % 2 == 1;
  const auto path =
      bertfleet::fuzz::WriteScratchFile(name, std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  try {
    const bertfleet::TableFile table = bertfleet::ReadTableFile(path);
    if (table.rows.empty() || table.columns.empty()) __builtin_trap();
    for (const bertfleet::TableRow& row : table.rows) {
      if (row.cells.size() != table.columns.size()) __builtin_trap();
    }
    const bertfleet::GlueTask task = bertfleet::OwnFilesTask(table, columns);
    if (task.text_columns.empty() || task.text_columns.size() > 2) __builtin_trap();
    if (!task.regression() && task.label_names.size() < 2) __builtin_trap();
    const auto rows = bertfleet::OwnFilesExamples(table, task, columns, !test);
    int64_t previous = -1;
    for (const bertfleet::SentencePair& row : rows) {
      if (row.idx <= previous) __builtin_trap();
      previous = row.idx;
      if (task.regression()) {
        if (row.label != -1 || (!test && !std::isfinite(row.score))) __builtin_trap();
      } else if ((row.label < 0 && !test) || row.label >= task.num_labels()) {
        __builtin_trap();
      }
      if (row.sentence1.empty() || !bertfleet::utf8::IsValid(row.sentence1)) __builtin_trap();
      if (task.text_columns.size() == 2 && row.sentence2.empty()) __builtin_trap();
      if (!bertfleet::utf8::IsValid(row.sentence2)) __builtin_trap();
    }
  } catch (const bertfleet::Error& error) {
    bertfleet::fuzz::CheckError(error, path.string());
  }
  return 0;
}
