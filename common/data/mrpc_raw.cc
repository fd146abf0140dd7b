// MRPC from the official Microsoft files, split the way Hugging Face's `glue` builder does
// (datasets/glue.py, _generate_example_mrpc_files):
//  - the files are read as TAB-separated text without quoting (csv.QUOTE_NONE), so `"` is a
//    literal character; the leading UTF-8 BOM is skipped; columns are found by header name;
//  - a train-file row goes to validation iff its (#1 ID, #2 ID) pair is listed in
//    mrpc_dev_ids.tsv (no header), else to train, keeping file order;
//  - idx is the row's position in its *source file*, so train and validation idx values
//    interleave (train[42].idx == 47, validation[0].idx == 9) and test idx = 0..1724;
//  - label = int(Quality) in every split, test included: HF's test rows carry the real labels.
#include <array>
#include <set>
#include <string>
#include <utility>

#include "common/data/mrpc_dataset.h"
#include "common/data/mrpc_files.h"
#include "common/data/text_lines.h"
#include "common/util/error.h"
#include "common/util/file_io.h"

namespace bertfleet {
namespace {

struct SourceRow {
  std::string id1;
  std::string id2;
  SentencePair pair;
};

// Python's int(), which HF applies to Quality, accepts surrounding blanks; IDs and sentences are
// used verbatim.
std::string_view TrimSpaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::vector<SourceRow> ReadSourceFile(const std::filesystem::path& path) {
  const std::string content = ReadFileToString(path);
  const std::vector<std::string_view> lines = SplitLines(StripUtf8Bom(content));
  const std::string where = path.string();
  if (lines.empty()) throw Error(where + ": empty file, expected an MRPC header line");

  static constexpr std::array<std::string_view, 5> kColumns = {"Quality", "#1 ID", "#2 ID",
                                                               "#1 String", "#2 String"};
  const std::vector<std::string_view> header = SplitTabs(lines[0]);
  std::array<size_t, 5> column{};
  for (size_t c = 0; c < kColumns.size(); ++c) {
    size_t found = header.size();
    for (size_t h = 0; h < header.size(); ++h) {
      if (header[h] == kColumns[c]) found = h;  // like csv.DictReader, the last duplicate wins
    }
    if (found == header.size()) {
      throw Error(where + ":1: header has no '" + std::string(kColumns[c]) +
                  "' column (expected Quality, #1 ID, #2 ID, #1 String, #2 String)");
    }
    column[c] = found;
  }

  std::vector<SourceRow> rows;
  rows.reserve(lines.size());
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;  // csv.DictReader skips blank lines without counting them
    const std::string at = where + ":" + std::to_string(i + 1) + ": ";
    const std::vector<std::string_view> fields = SplitTabs(lines[i]);
    // DictReader would pad short rows with None and hide extra fields; both mean a damaged file.
    if (fields.size() != header.size()) {
      throw Error(at + "expected " + std::to_string(header.size()) + " tab-separated fields, got " +
                  std::to_string(fields.size()));
    }
    const std::string_view quality = fields[column[0]];
    const std::optional<int64_t> label = ParseInt64(TrimSpaces(quality));
    if (!label || (*label != 0 && *label != 1)) {
      throw Error(at + "bad Quality '" + std::string(quality) + "', expected 0 or 1");
    }
    SourceRow row;
    row.id1 = std::string(fields[column[1]]);
    row.id2 = std::string(fields[column[2]]);
    row.pair.idx = static_cast<int64_t>(rows.size());
    row.pair.label = static_cast<int>(*label);
    row.pair.sentence1 = std::string(fields[column[3]]);
    row.pair.sentence2 = std::string(fields[column[4]]);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::set<std::pair<std::string, std::string>> ReadDevIds(const std::filesystem::path& path) {
  const std::string content = ReadFileToString(path);
  const std::vector<std::string_view> lines = SplitLines(content);
  std::set<std::pair<std::string, std::string>> ids;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    const std::vector<std::string_view> fields = SplitTabs(lines[i]);
    // HF reads row[0], row[1] and ignores anything after; fewer than two is unusable.
    if (fields.size() < 2) {
      throw Error(path.string() + ":" + std::to_string(i + 1) +
                  ": expected '#1 ID<TAB>#2 ID', got " + std::to_string(fields.size()) + " field");
    }
    ids.emplace(std::string(fields[0]), std::string(fields[1]));
  }
  return ids;
}

}  // namespace

MrpcSplits BuildMrpcFromRawFiles(const std::filesystem::path& raw_dir) {
  for (const char* name : {kMrpcTrainFile, kMrpcDevIdsFile, kMrpcTestFile}) {
    if (!std::filesystem::is_regular_file(raw_dir / name)) {
      throw Error((raw_dir / name).string() + ": missing (MRPC raw files needed: " +
                  kMrpcTrainFile + ", " + kMrpcDevIdsFile + ", " + kMrpcTestFile + ")");
    }
  }
  const auto dev_ids = ReadDevIds(raw_dir / kMrpcDevIdsFile);
  MrpcSplits splits;
  for (SourceRow& row : ReadSourceFile(raw_dir / kMrpcTrainFile)) {
    const bool in_dev = dev_ids.count({row.id1, row.id2}) > 0;
    (in_dev ? splits.validation : splits.train).push_back(std::move(row.pair));
  }
  for (SourceRow& row : ReadSourceFile(raw_dir / kMrpcTestFile)) {
    splits.test.push_back(std::move(row.pair));
  }
  return splits;
}

}  // namespace bertfleet
