#include "common/data/text_lines.h"

#include <limits>

#include "common/text/utf8.h"

namespace bertfleet {

std::vector<std::string_view> SplitLines(std::string_view content) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  size_t i = 0;
  while (i < content.size()) {
    const char c = content[i];
    if (c == '\n' || c == '\r') {
      lines.push_back(content.substr(start, i - start));
      i += (c == '\r' && i + 1 < content.size() && content[i + 1] == '\n') ? 2 : 1;
      start = i;
    } else {
      ++i;
    }
  }
  if (start < content.size()) lines.push_back(content.substr(start));
  return lines;
}

std::vector<std::string_view> SplitTabs(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    const size_t tab = line.find('\t', start);
    if (tab == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, tab - start));
    start = tab + 1;
  }
}

std::string_view StripUtf8Bom(std::string_view content) {
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (content.substr(0, kBom.size()) == kBom) content.remove_prefix(kBom.size());
  return content;
}

std::optional<int64_t> ParseInt64(std::string_view text) {
  const bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  // Accumulate as a negative number so INT64_MIN parses without overflow.
  int64_t value = 0;
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const int digit = c - '0';
    if (value < (kMin + digit) / 10) return std::nullopt;
    value = value * 10 - digit;
  }
  if (!negative) {
    if (value == kMin) return std::nullopt;
    value = -value;
  }
  return value;
}

std::string QuotedField(std::string_view text) {
  constexpr size_t kMaxShown = 40;  // keep error lines readable when a whole sentence is wrong
  const std::string valid = utf8::ReplaceMalformed(text);
  std::string shown(utf8::TruncateAtCharBoundary(valid, kMaxShown));
  if (shown.size() < valid.size()) shown += "...";
  return "'" + shown + "'";
}

}  // namespace bertfleet
