#include "common/data/glue_layout.h"

#include <cmath>
#include <cstdlib>
#include <map>

#include "common/data/text_lines.h"
#include "common/text/utf8.h"
#include "common/util/error.h"
#include "common/util/file_io.h"

namespace bertfleet {

namespace fs = std::filesystem;

namespace {

enum class LabelForm { kId, kName, kScore };

// Where one file's text and label are. Most GLUE files have a header and are read by column
// name; CoLA's train and dev files have none and are read by position.
struct FileLayout {
  std::vector<std::string> text_columns;
  std::string label_column;  // "": an unlabeled test file
  LabelForm label_form = LabelForm::kId;
  bool header = true;
  size_t field_count = 0;            // headerless only
  std::vector<size_t> text_positions;
  size_t label_position = 0;
};

FileLayout LayoutFor(const GlueTask& task, bool test) {
  FileLayout layout;
  layout.text_columns = task.text_columns;
  if (task.name == "mnli") {
    // MNLI's files hold parses too; the text is in sentence1/sentence2, the label in gold_label.
    layout.text_columns = {"sentence1", "sentence2"};
  }
  if (test) return layout;
  if (task.name == "cola") {
    // source, label, original annotation, sentence; no header.
    layout.header = false;
    layout.field_count = 4;
    layout.text_positions = {3};
    layout.label_position = 1;
    layout.label_column = "label";
    return layout;
  }
  static const std::map<std::string, std::pair<std::string, LabelForm>> labels = {
      {"sst2", {"label", LabelForm::kId}},        {"qqp", {"is_duplicate", LabelForm::kId}},
      {"stsb", {"score", LabelForm::kScore}},     {"mnli", {"gold_label", LabelForm::kName}},
      {"qnli", {"label", LabelForm::kName}},      {"rte", {"label", LabelForm::kName}},
      {"wnli", {"label", LabelForm::kId}},
  };
  const auto& [column, form] = labels.at(task.name);
  layout.label_column = column;
  layout.label_form = form;
  return layout;
}

std::string ExpectedLabels(const GlueTask& task) {
  std::string text;
  for (const std::string& name : task.label_names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

fs::path TaskDirectory(const GlueTask& task, const fs::path& directory) {
  const fs::path nested = directory / task.glue_directory;
  return fs::is_directory(nested) ? nested : directory;
}

std::string JoinTabs(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : "<TAB>") + name;
  return text;
}

}  // namespace

std::string GlueSplitFile(const GlueTask& task, const std::string& split) {
  static const std::map<std::string, std::string> files = {
      {"train", "train.tsv"}, {"validation", "dev.tsv"}, {"test", "test.tsv"}};
  static const std::map<std::string, std::string> mnli_files = {
      {"train", "train.tsv"},
      {"validation_matched", "dev_matched.tsv"},
      {"validation_mismatched", "dev_mismatched.tsv"},
      {"test_matched", "test_matched.tsv"},
      {"test_mismatched", "test_mismatched.tsv"}};
  const auto& table = task.name == "mnli" ? mnli_files : files;
  const auto it = table.find(split);
  if (it == table.end()) {
    std::string names;
    for (const auto& [name, file] : table) names += (names.empty() ? "" : ", ") + name;
    throw Error("task " + task.name + " has no split " + QuotedField(split) + " (it has " + names + ")");
  }
  return it->second;
}

GlueSplitRows ReadGlueSplit(const GlueTask& task, const fs::path& directory, const std::string& split) {
  if (task.name == "mrpc") throw Error("ReadGlueSplit: mrpc has its own reader (LoadMrpcSplit)");
  const fs::path path = TaskDirectory(task, directory) / GlueSplitFile(task, split);
  const std::string where = path.string();
  const std::string content = ReadFileToString(path);
  const std::vector<std::string_view> lines = SplitLines(StripUtf8Bom(content));
  const FileLayout layout = LayoutFor(task, split.rfind("test", 0) == 0);

  std::vector<std::string> wanted = layout.text_columns;
  if (!layout.label_column.empty()) wanted.push_back(layout.label_column);
  if (lines.empty()) {
    throw Error(where + ": empty file, expected " +
                (layout.header ? "a header with " + JoinTabs(wanted) : "rows of " + std::to_string(layout.field_count) +
                                                                         " tab-separated fields"));
  }

  std::vector<size_t> text_at = layout.text_positions;
  size_t label_at = layout.label_position;
  size_t field_count = layout.field_count;
  size_t first_row = 0;
  if (layout.header) {
    const std::vector<std::string_view> header = SplitTabs(lines[0]);
    field_count = header.size();
    auto position = [&](const std::string& column) {
      for (size_t i = 0; i < header.size(); ++i) {
        if (header[i] == column) return i;
      }
      throw Error(where + ":1: no column " + QuotedField(column) + " in the header " + QuotedField(lines[0]) +
                  " (task " + task.name + " reads " + JoinTabs(wanted) + ")");
    };
    text_at.clear();
    for (const std::string& column : layout.text_columns) text_at.push_back(position(column));
    if (!layout.label_column.empty()) label_at = position(layout.label_column);
    first_row = 1;
  }

  GlueSplitRows result;
  for (size_t i = first_row; i < lines.size(); ++i) {
    const std::string at = where + ":" + std::to_string(i + 1) + ": ";
    if (!utf8::IsValid(lines[i])) throw Error(at + "invalid UTF-8");
    const std::vector<std::string_view> fields = SplitTabs(lines[i]);
    if (fields.size() != field_count) {
      const std::string reason = "expected " + std::to_string(field_count) + " tab-separated fields" +
                                 (layout.header ? " as in the header" : "") + ", got " +
                                 std::to_string(fields.size());
      if (task.name == "qqp") {
        result.skipped.push_back(at + reason + "; row skipped");
        continue;
      }
      throw Error(at + reason);
    }
    SentencePair row;
    row.idx = static_cast<int64_t>(result.rows.size() + result.skipped.size());
    row.sentence1 = std::string(fields[text_at[0]]);
    if (text_at.size() > 1) row.sentence2 = std::string(fields[text_at[1]]);
    if (!layout.label_column.empty()) {
      const std::string_view value = fields[label_at];
      const std::string column = "column " + layout.label_column + ": ";
      switch (layout.label_form) {
        case LabelForm::kId: {
          const std::optional<int64_t> id = ParseInt64(value);
          if (!id || *id < 0 || *id >= task.num_labels()) {
            throw Error(at + column + "bad label " + QuotedField(value) + ", expected 0.." +
                        std::to_string(task.num_labels() - 1) + " (" + ExpectedLabels(task) + ")");
          }
          row.label = static_cast<int>(*id);
          break;
        }
        case LabelForm::kName: {
          row.label = -1;
          for (size_t k = 0; k < task.label_names.size(); ++k) {
            if (task.label_names[k] == value) row.label = static_cast<int>(k);
          }
          if (row.label < 0) {
            throw Error(at + column + "unknown label " + QuotedField(value) + ", expected one of " +
                        ExpectedLabels(task));
          }
          break;
        }
        case LabelForm::kScore: {
          const std::string text(value);
          char* end = nullptr;
          const double score = text.empty() ? NAN : std::strtod(text.c_str(), &end);
          if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(score)) {
            throw Error(at + column + "bad score " + QuotedField(value) + ", expected a finite number");
          }
          row.score = score;
          break;
        }
      }
    }
    result.rows.push_back(std::move(row));
  }
  if (result.rows.empty()) throw Error(where + ": no rows" + (layout.header ? " after the header" : ""));
  return result;
}

}  // namespace bertfleet
