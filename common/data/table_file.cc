#include "common/data/table_file.h"

#include <nlohmann/json.hpp>

#include "common/data/text_lines.h"
#include "common/text/utf8.h"
#include "common/util/error.h"
#include "common/util/file_io.h"

namespace bertfleet {

namespace fs = std::filesystem;

namespace {

std::string LineAt(const std::string& path, size_t line) { return path + ":" + std::to_string(line) + ": "; }

// Python's csv module with its defaults, which pandas' parser (what `datasets` uses) agrees with:
// fields split on `delimiter`; a field that starts with '"' is quoted, may hold delimiters and
// line breaks, and writes '"' as '""'; text after a closing quote joins the field; blank lines
// are skipped.
std::vector<std::pair<size_t, std::vector<std::string>>> ParseDelimited(std::string_view content, char delimiter,
                                                                        const std::string& path) {
  std::vector<std::pair<size_t, std::vector<std::string>>> records;
  size_t line = 1;
  size_t i = 0;
  auto at_line_end = [&](size_t k) { return k < content.size() && (content[k] == '\n' || content[k] == '\r'); };
  auto skip_line_end = [&](size_t& k) {
    k += (content[k] == '\r' && k + 1 < content.size() && content[k + 1] == '\n') ? 2 : 1;
    ++line;
  };
  while (i < content.size()) {
    if (at_line_end(i)) {  // a blank line
      skip_line_end(i);
      continue;
    }
    const size_t record_line = line;
    std::vector<std::string> fields;
    std::string field;
    while (true) {
      if (i < content.size() && content[i] == '"') {
        const size_t opened = line;
        ++i;
        while (true) {
          if (i >= content.size()) {
            throw Error(LineAt(path, opened) + "unterminated quoted field (a '\"' opened on this line is never closed)");
          }
          if (content[i] == '"') {
            if (i + 1 < content.size() && content[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (at_line_end(i)) {
            const size_t before = i;
            skip_line_end(i);
            field.append(content.substr(before, i - before));
            continue;
          }
          field += content[i++];
        }
      }
      while (i < content.size() && content[i] != delimiter && !at_line_end(i)) field += content[i++];
      fields.push_back(std::move(field));
      field.clear();
      if (i < content.size() && content[i] == delimiter) {
        ++i;
        continue;
      }
      if (i < content.size()) skip_line_end(i);
      break;
    }
    records.emplace_back(record_line, std::move(fields));
  }
  return records;
}

TableFile ReadDelimited(const std::string& path, std::string_view content, char delimiter) {
  const std::string kind = delimiter == ',' ? "comma" : "tab";
  auto records = ParseDelimited(content, delimiter, path);
  if (records.empty()) throw Error(path + ": empty file, expected a header row of column names");
  TableFile table;
  table.path = path;
  table.columns = std::move(records.front().second);
  for (size_t c = 0; c < table.columns.size(); ++c) {
    if (table.columns[c].empty()) {
      throw Error(LineAt(path, records.front().first) + "column " + std::to_string(c + 1) +
                  " of the header has no name");
    }
    for (size_t d = 0; d < c; ++d) {
      if (table.columns[d] == table.columns[c]) {
        throw Error(LineAt(path, records.front().first) + "column " + QuotedField(table.columns[c]) +
                    " appears twice in the header");
      }
    }
  }
  for (size_t r = 1; r < records.size(); ++r) {
    auto& [line, fields] = records[r];
    if (fields.size() != table.columns.size()) {
      throw Error(LineAt(path, line) + "expected " + std::to_string(table.columns.size()) + " " + kind +
                  "-separated fields as in the header, got " + std::to_string(fields.size()));
    }
    TableRow row;
    row.line = line;
    row.record = r;
    for (std::string& field : fields) row.cells.push_back({TableCell::Kind::kText, std::move(field)});
    table.rows.push_back(std::move(row));
  }
  if (table.rows.empty()) throw Error(path + ": no rows after the header");
  return table;
}

TableCell CellOf(const nlohmann::ordered_json& value) {
  switch (value.type()) {
    case nlohmann::ordered_json::value_t::string:
      return {TableCell::Kind::kText, value.get<std::string>()};
    case nlohmann::ordered_json::value_t::boolean:
      return {TableCell::Kind::kBool, value.get<bool>() ? "true" : "false"};
    case nlohmann::ordered_json::value_t::number_integer:
    case nlohmann::ordered_json::value_t::number_unsigned:
    case nlohmann::ordered_json::value_t::number_float:
      return {TableCell::Kind::kNumber, value.dump()};
    case nlohmann::ordered_json::value_t::null:
      return {TableCell::Kind::kNull, ""};
    default:
      return {TableCell::Kind::kNested, value.dump()};
  }
}

// Adds one JSON object as a row; keys unseen so far become columns (earlier rows lack them).
void AddObject(TableFile& table, const nlohmann::ordered_json& object, size_t line, size_t record) {
  TableRow row;
  row.line = line;
  row.record = record;
  row.cells.resize(table.columns.size());
  for (const auto& [key, value] : object.items()) {
    int index = table.ColumnIndex(key);
    if (index < 0) {
      table.columns.push_back(key);
      row.cells.emplace_back();
      index = static_cast<int>(table.columns.size()) - 1;
    }
    row.cells[static_cast<size_t>(index)] = CellOf(value);
  }
  table.rows.push_back(std::move(row));
}

size_t LineOfByte(std::string_view content, size_t byte) {
  size_t line = 1;
  for (size_t i = 0; i < byte && i < content.size(); ++i) {
    if (content[i] == '\n' || (content[i] == '\r' && (i + 1 >= content.size() || content[i + 1] != '\n'))) ++line;
  }
  return line;
}

TableFile ReadJson(const std::string& path, std::string_view content, bool lines_only) {
  TableFile table;
  table.path = path;
  table.json = true;
  const size_t first = content.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) throw Error(path + ": empty file, expected JSON objects, one per line");
  if (!lines_only && content[first] == '[') {
    nlohmann::ordered_json array;
    try {
      array = nlohmann::ordered_json::parse(content);
    } catch (const nlohmann::ordered_json::parse_error& error) {
      throw Error(LineAt(path, LineOfByte(content, error.byte > 0 ? error.byte - 1 : 0)) + "malformed JSON (" +
                  utf8::ReplaceMalformed(error.what()) + ")");
    } catch (const nlohmann::ordered_json::exception& error) {  // a number out of range, ...
      throw Error(path + ": malformed JSON (" + utf8::ReplaceMalformed(error.what()) + ")");
    }
    for (size_t r = 0; r < array.size(); ++r) {
      if (!array[r].is_object()) {
        throw Error(path + ": record " + std::to_string(r + 1) + ": expected a JSON object of column values, got " +
                    std::string(array[r].type_name()));
      }
      AddObject(table, array[r], 0, r + 1);
    }
  } else {
    const std::vector<std::string_view> lines = SplitLines(content);
    for (size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].find_first_not_of(" \t") == std::string_view::npos) continue;
      nlohmann::ordered_json object;
      try {
        object = nlohmann::ordered_json::parse(lines[i]);
      } catch (const nlohmann::ordered_json::parse_error& error) {
        throw Error(LineAt(path, i + 1) + "malformed JSON (" + utf8::ReplaceMalformed(error.what()) +
                    "); JSON Lines hold one object per line");
      } catch (const nlohmann::ordered_json::exception& error) {  // a number out of range, ...
        throw Error(LineAt(path, i + 1) + "malformed JSON (" + utf8::ReplaceMalformed(error.what()) + ")");
      }
      if (!object.is_object()) {
        throw Error(LineAt(path, i + 1) + "expected a JSON object of column values, got " +
                    std::string(object.type_name()));
      }
      AddObject(table, object, i + 1, table.rows.size() + 1);
    }
  }
  if (table.rows.empty()) throw Error(path + ": no records");
  if (table.columns.empty()) throw Error(path + ": no columns (every record is an empty object)");
  for (TableRow& row : table.rows) row.cells.resize(table.columns.size());
  return table;
}

}  // namespace

std::string TableFile::Where(const TableRow& row) const {
  return row.line > 0 ? LineAt(path, row.line) : path + ": record " + std::to_string(row.record) + ": ";
}

int TableFile::ColumnIndex(const std::string& column) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == column) return static_cast<int>(i);
  }
  return -1;
}

std::string TableFileFormats() { return "csv, tsv, json, jsonl"; }

TableFile ReadTableFile(const fs::path& path) {
  const std::string where = path.string();
  const std::string extension = path.extension().string();
  if (extension != ".csv" && extension != ".tsv" && extension != ".json" && extension != ".jsonl") {
    throw Error(where + ": unknown file type " + QuotedField(extension.empty() ? "(none)" : extension) +
                "; expected one of " + TableFileFormats() + " (the extension says which)");
  }
  if (!fs::exists(path)) throw Error(where + ": no such file");
  const std::string bytes = ReadFileToString(path);
  const std::string_view content = StripUtf8Bom(bytes);
  // Before any parsing, so the line named is where the bad bytes are, whatever the format.
  const std::vector<std::string_view> lines = SplitLines(content);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!utf8::IsValid(lines[i])) throw Error(LineAt(where, i + 1) + "invalid UTF-8");
  }
  if (extension == ".csv") return ReadDelimited(where, content, ',');
  if (extension == ".tsv") return ReadDelimited(where, content, '\t');
  return ReadJson(where, content, extension == ".jsonl");
}

}  // namespace bertfleet
