// GLUE-layout TSV files (`idx label sentence1 sentence2`), the form the rest of bertfleet reads.
#include <string>
#include <string_view>

#include "common/data/mrpc_dataset.h"
#include "common/data/text_lines.h"
#include "common/util/error.h"
#include "common/util/file_io.h"

namespace bertfleet {
namespace {

constexpr std::string_view kHeader = "idx\tlabel\tsentence1\tsentence2";

}  // namespace

std::vector<SentencePair> ReadGlueTsv(const std::filesystem::path& path) {
  const std::string content = ReadFileToString(path);
  const std::vector<std::string_view> lines = SplitLines(StripUtf8Bom(content));
  const std::string where = path.string();
  if (lines.empty()) {
    throw Error(where + ": empty file, expected the header '" + std::string(kHeader) + "'");
  }
  if (lines[0] != kHeader) {
    throw Error(where +
                ":1: expected the header 'idx<TAB>label<TAB>sentence1<TAB>sentence2', got " +
                QuotedField(lines[0]));
  }
  std::vector<SentencePair> rows;
  rows.reserve(lines.size() - 1);
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string at = where + ":" + std::to_string(i + 1) + ": ";
    const std::vector<std::string_view> fields = SplitTabs(lines[i]);
    if (fields.size() != 4) {
      throw Error(at + "expected 4 tab-separated fields, got " + std::to_string(fields.size()));
    }
    const std::optional<int64_t> idx = ParseInt64(fields[0]);
    if (!idx || *idx < 0)
      throw Error(at + "bad idx " + QuotedField(fields[0]) + ", expected an integer >= 0");
    const std::optional<int64_t> label = ParseInt64(fields[1]);
    // -1 is how GLUE marks an unlabeled (test) row; MRPC has no other classes.
    if (!label || *label < -1 || *label > 1) {
      throw Error(at + "bad label " + QuotedField(fields[1]) + ", expected 0, 1 or -1 (unlabeled)");
    }
    SentencePair row;
    row.idx = *idx;
    row.label = static_cast<int>(*label);
    row.sentence1 = std::string(fields[2]);
    row.sentence2 = std::string(fields[3]);
    rows.push_back(std::move(row));
  }
  return rows;
}

void WriteGlueTsv(const std::filesystem::path& path, const std::vector<SentencePair>& rows) {
  std::string out(kHeader);
  out += '\n';
  for (const SentencePair& row : rows) {
    for (const std::string* sentence : {&row.sentence1, &row.sentence2}) {
      // Without quoting these characters cannot be represented; writing them would corrupt rows.
      if (sentence->find_first_of("\t\r\n") != std::string::npos) {
        throw Error(path.string() + ": row idx " + std::to_string(row.idx) +
                    " has a TAB, CR or LF in a sentence, which the TSV format cannot hold");
      }
    }
    out += std::to_string(row.idx) + '\t' + std::to_string(row.label) + '\t' + row.sentence1 +
           '\t' + row.sentence2 + '\n';
  }
  WriteFileAtomically(path, out);
}

}  // namespace bertfleet
