#pragma once
// A user's data file, read as Hugging Face `datasets` reads it for run_glue.py and
// run_classification.py: CSV and TSV with a header row (quoted fields as Python's csv module
// writes them), JSON Lines (one object per line), and JSON (an array of objects, or JSON Lines
// in a .json file, both of which the json builder accepts). The format follows the extension.
// Errors name the file and the line ("train.csv:7: ..."); a JSON array, which has no line per
// record, names the record ("train.json: record 7: ...").
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace bertfleet {

struct TableCell {
  // kText: a CSV/TSV field (numbers are recognised later, as pandas does) or a JSON string;
  // kNumber, kBool: JSON's (text holds the value as written: "0.5", "true"); kNull: JSON null or
  // a key the record lacks; kNested: a JSON array or object, never text or a label.
  enum class Kind { kText, kNumber, kBool, kNull, kNested };
  Kind kind = Kind::kNull;
  std::string text;
};

struct TableRow {
  size_t line = 0;    // 1-based line where the record starts; 0 in a JSON array
  size_t record = 0;  // 1-based position among the data records
  std::vector<TableCell> cells;  // one per column, in `columns` order
};

struct TableFile {
  std::string path;
  bool json = false;  // cells carry JSON's types; CSV/TSV cells are all text
  std::vector<std::string> columns;  // CSV: the header; JSON: keys in order of first appearance
  std::vector<TableRow> rows;

  // "train.csv:7: " or "train.json: record 7: ", the prefix of an error about `row`.
  std::string Where(const TableRow& row) const;
  // The index of `column`, or -1.
  int ColumnIndex(const std::string& column) const;
};

// ".csv", ".tsv", ".json", ".jsonl"; anything else throws Error naming the file and the formats.
// Throws Error "FILE:LINE: reason" for malformed content (a ragged row, an unterminated quote,
// invalid UTF-8, a line that is not a JSON object), a missing file, an empty one, or one with no
// records.
TableFile ReadTableFile(const std::filesystem::path& path);

// The formats ReadTableFile knows, for messages: "csv, tsv, json, jsonl".
std::string TableFileFormats();

}  // namespace bertfleet
