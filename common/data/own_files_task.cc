#include "common/data/own_files_task.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "common/data/text_lines.h"
#include "common/util/error.h"

namespace bertfleet {

namespace {

// pandas' default missing-value spellings, which `datasets` reads CSV/TSV files with: such a
// label is NaN there, and silently a NaN loss in training.
bool IsMissingSpelling(const std::string& text) {
  static const std::set<std::string> spellings = {"",     "nan", "NaN",  "-nan", "-NaN", "NA",  "N/A",  "n/a",
                                                  "NULL", "null", "#N/A", "<NA>", "None", "#NA", "1.#QNAN"};
  return spellings.count(text) > 0;
}

std::string Join(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

std::string Trim(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// Any number strtod reads whole, "inf" included (pandas reads it as a float too).
std::optional<double> ParseNumber(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return value;
}

// One label cell as run_glue.py would see its value after `datasets` typed the column.
struct LabelValue {
  enum class Kind { kMissing, kInteger, kFloat, kText, kNested } kind = Kind::kMissing;
  std::string text;
  int64_t integer = 0;
  double number = 0;
};

LabelValue ReadLabel(const TableFile& file, const TableCell& cell) {
  LabelValue label;
  label.text = cell.text;
  switch (cell.kind) {
    case TableCell::Kind::kNull:
      return label;
    case TableCell::Kind::kNested:
      label.kind = LabelValue::Kind::kNested;
      return label;
    case TableCell::Kind::kBool:
      label.kind = LabelValue::Kind::kText;
      return label;
    case TableCell::Kind::kText:
      if (file.json) {  // a JSON string is text, whatever it spells
        label.kind = cell.text.empty() ? LabelValue::Kind::kMissing : LabelValue::Kind::kText;
        return label;
      }
      if (IsMissingSpelling(cell.text)) return label;
      break;
    case TableCell::Kind::kNumber:
      break;
  }
  if (const std::optional<int64_t> integer = ParseInt64(cell.text)) {
    label.kind = LabelValue::Kind::kInteger;
    label.integer = *integer;
    label.number = static_cast<double>(*integer);
  } else if (const std::optional<double> number = ParseNumber(cell.text)) {
    label.kind = LabelValue::Kind::kFloat;
    label.number = *number;
  } else {
    label.kind = LabelValue::Kind::kText;
  }
  return label;
}

std::string LabelColumnWhere(const TableFile& file, const TableRow& row, const std::string& column) {
  return file.Where(row) + "column " + column + ": ";
}

size_t RequireColumn(const TableFile& file, const std::string& column, const std::string& key) {
  const int index = file.ColumnIndex(column);
  if (index < 0) {
    throw Error(file.path + (file.json ? "" : ":1") + ": no column " + QuotedField(column) + " (" + key +
                "); the file has columns " + Join(file.columns));
  }
  return static_cast<size_t>(index);
}

std::vector<std::string> ChooseTextColumns(const TableFile& train, const OwnFilesColumns& columns) {
  std::vector<std::string> chosen;
  if (!columns.text_column_names.empty()) {
    std::string rest = columns.text_column_names;
    while (true) {
      const size_t comma = rest.find(',');
      if (const std::string name = Trim(rest.substr(0, comma)); !name.empty()) chosen.push_back(name);
      if (comma == std::string::npos) break;
      rest = rest.substr(comma + 1);
    }
    if (chosen.empty() || chosen.size() > 2) {
      throw Error("text_column_names: expected one or two comma-separated column names (one sentence or a pair), got " +
                  QuotedField(columns.text_column_names));
    }
    for (const std::string& name : chosen) RequireColumn(train, name, "text_column_names");
    return chosen;
  }
  // run_glue.py's choice among the columns other than the label.
  std::vector<std::string> others;
  for (const std::string& name : train.columns) {
    if (name != columns.label_column_name) others.push_back(name);
  }
  const bool has_pair = std::count(others.begin(), others.end(), "sentence1") > 0 &&
                        std::count(others.begin(), others.end(), "sentence2") > 0;
  if (has_pair) return {"sentence1", "sentence2"};
  if (others.empty()) {
    throw Error(train.path + ": no text column: the only column is the label " + QuotedField(columns.label_column_name));
  }
  if (others.size() >= 2) return {others[0], others[1]};
  return {others[0]};
}

std::vector<std::string> SortedLabelNames(const std::vector<LabelValue>& labels) {
  const bool any_text = std::any_of(labels.begin(), labels.end(),
                                    [](const LabelValue& label) { return label.kind == LabelValue::Kind::kText; });
  const bool all_integers = std::all_of(labels.begin(), labels.end(), [](const LabelValue& label) {
    return label.kind == LabelValue::Kind::kInteger;
  });
  if (all_integers) {
    std::set<int64_t> distinct;
    for (const LabelValue& label : labels) distinct.insert(label.integer);
    std::vector<std::string> names;
    for (const int64_t value : distinct) names.push_back(std::to_string(value));
    return names;
  }
  if (!any_text) {  // numbers, some not integers, classified because do_regression is false
    std::map<double, std::string> distinct;
    for (const LabelValue& label : labels) distinct.emplace(label.number, label.text);
    std::vector<std::string> names;
    for (const auto& [value, text] : distinct) names.push_back(text);
    return names;
  }
  // Mixed numbers and text are one text column to pandas; std::string orders UTF-8 by code point.
  std::set<std::string> distinct;
  for (const LabelValue& label : labels) distinct.insert(label.text);
  return {distinct.begin(), distinct.end()};
}

// The id of `label` among `names`, as SortedLabelNames named them, or -1.
int LabelId(const LabelValue& label, const std::vector<std::string>& names, bool integer_names) {
  for (size_t k = 0; k < names.size(); ++k) {
    if (integer_names ? (label.kind == LabelValue::Kind::kInteger && std::to_string(label.integer) == names[k])
                      : label.text == names[k]) {
      return static_cast<int>(k);
    }
    if (!integer_names && label.kind != LabelValue::Kind::kText) {
      // A number written differently ("1.50" for "1.5") is the same class, as to pandas.
      if (const std::optional<double> value = ParseNumber(names[k]); value && *value == label.number) {
        return static_cast<int>(k);
      }
    }
  }
  return -1;
}

bool IntegerNames(const std::vector<std::string>& names) {
  return std::all_of(names.begin(), names.end(), [](const std::string& name) { return ParseInt64(name).has_value(); });
}

}  // namespace

GlueTask OwnFilesTask(const TableFile& train, const OwnFilesColumns& columns) {
  GlueTask task;
  task.eval_splits = {"validation"};
  task.text_columns = ChooseTextColumns(train, columns);
  const size_t label_at = RequireColumn(train, columns.label_column_name, "label_column_name");
  const bool force_regression = columns.do_regression.value_or(false);
  std::vector<LabelValue> labels;
  bool any_float = false;
  bool any_text = false;
  for (const TableRow& row : train.rows) {
    LabelValue label = ReadLabel(train, row.cells[label_at]);
    const std::string at = LabelColumnWhere(train, row, columns.label_column_name);
    if (label.kind == LabelValue::Kind::kMissing) {
      throw Error(at + "missing label (empty, null or NaN); every training row needs one");
    }
    if (label.kind == LabelValue::Kind::kNested) {
      throw Error(at + "expected a label (text or a number), got " + QuotedField(label.text));
    }
    if (force_regression && label.kind == LabelValue::Kind::kText) {
      throw Error(at + "label " + QuotedField(label.text) + " is not a number, and do_regression is true");
    }
    any_float = any_float || label.kind == LabelValue::Kind::kFloat;
    any_text = any_text || label.kind == LabelValue::Kind::kText;
    labels.push_back(std::move(label));
  }
  const bool regression = force_regression || (!columns.do_regression.has_value() && any_float && !any_text);
  if (regression) {
    task.metrics = {"mse", "pearson", "spearmanr"};
    return task;
  }
  task.label_names = SortedLabelNames(labels);
  if (task.label_names.size() < 2) {
    throw Error(train.path + ": column " + columns.label_column_name + ": only one label (" +
                QuotedField(task.label_names.front()) +
                ") in the file; classification needs at least two (float labels with do_regression: true train a "
                "regression)");
  }
  task.metrics = task.label_names.size() == 2 ? std::vector<std::string>{"accuracy", "f1"}
                                              : std::vector<std::string>{"accuracy", "macro_f1"};
  return task;
}

std::vector<SentencePair> OwnFilesExamples(const TableFile& file, const GlueTask& task, const OwnFilesColumns& columns,
                                           bool labels) {
  std::vector<size_t> text_at;
  for (const std::string& column : task.text_columns) {
    text_at.push_back(RequireColumn(file, column, columns.text_column_names.empty() ? "the train file's text column"
                                                                                    : "text_column_names"));
  }
  const int found_label = file.ColumnIndex(columns.label_column_name);
  if (labels && found_label < 0) RequireColumn(file, columns.label_column_name, "label_column_name");
  const bool integer_names = !task.regression() && IntegerNames(task.label_names);
  std::vector<SentencePair> examples;
  for (const TableRow& row : file.rows) {
    SentencePair example;
    example.idx = static_cast<int64_t>(row.record) - 1;
    for (size_t t = 0; t < text_at.size(); ++t) {
      const TableCell& cell = row.cells[text_at[t]];
      const std::string at = file.Where(row) + "column " + task.text_columns[t] + ": ";
      if (cell.kind != TableCell::Kind::kText) {
        throw Error(at + (cell.kind == TableCell::Kind::kNull ? std::string("missing text")
                                                              : "expected text, got " + QuotedField(cell.text)));
      }
      if (cell.text.empty()) throw Error(at + "empty text");
      (t == 0 ? example.sentence1 : example.sentence2) = cell.text;
    }
    if (found_label >= 0) {
      const LabelValue label = ReadLabel(file, row.cells[static_cast<size_t>(found_label)]);
      const std::string at = LabelColumnWhere(file, row, columns.label_column_name);
      if (label.kind == LabelValue::Kind::kMissing) {
        if (labels) throw Error(at + (task.regression() ? "NaN target (empty, null or NaN); regression needs a "
                                                          "finite number on every row"
                                                        : "missing label (empty, null or NaN)"));
      } else if (task.regression()) {
        if ((label.kind != LabelValue::Kind::kInteger && label.kind != LabelValue::Kind::kFloat) ||
            !std::isfinite(label.number)) {
          throw Error(at + "bad target " + QuotedField(label.text) + ", expected a finite number (regression)");
        }
        example.score = label.number;
      } else {
        example.label = LabelId(label, task.label_names, integer_names);
        if (example.label < 0) {
          throw Error(at + "label " + QuotedField(label.text) +
                      " does not occur in the train file, whose labels are " + Join(task.label_names));
        }
      }
    }
    examples.push_back(std::move(example));
  }
  return examples;
}

}  // namespace bertfleet
