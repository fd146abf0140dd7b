// libFuzzer target for the GLUE TSV reader (`idx label sentence1 sentence2`), which reads
// user-supplied data directories. Every input must read or throw bertfleet::Error naming the file; rows that
// read must hold what the format promises (idx >= 0, label in {-1, 0, 1}, no TAB or line break
// in a sentence), so that writing them back and reading again gives the same rows.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/data/mrpc_dataset.h"
#include "common/util/error.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto input = bertfleet::fuzz::WriteScratchFile(
      "input.tsv", std::string_view(reinterpret_cast<const char*>(data), size));
  std::vector<bertfleet::SentencePair> rows;
  try {
    rows = bertfleet::ReadGlueTsv(input);
  } catch (const bertfleet::Error& error) {
    bertfleet::fuzz::CheckError(error, input.string());
    return 0;
  }
  for (const bertfleet::SentencePair& row : rows) {
    if (row.idx < 0 || row.label < -1 || row.label > 1) __builtin_trap();
    for (const std::string* sentence : {&row.sentence1, &row.sentence2}) {
      if (sentence->find_first_of("\t\r\n") != std::string::npos) __builtin_trap();
    }
  }
  const auto copy = bertfleet::fuzz::ScratchDir() / "copy.tsv";
  bertfleet::WriteGlueTsv(copy, rows);
  const std::vector<bertfleet::SentencePair> again = bertfleet::ReadGlueTsv(copy);
  if (again.size() != rows.size()) __builtin_trap();
  for (size_t i = 0; i < rows.size(); ++i) {
    if (again[i].idx != rows[i].idx || again[i].label != rows[i].label ||
        again[i].sentence1 != rows[i].sentence1 || again[i].sentence2 != rows[i].sentence2) {
      __builtin_trap();
    }
  }
  return 0;
}
