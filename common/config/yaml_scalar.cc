#include "common/config/yaml_scalar.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "common/text/utf8.h"

namespace bertfleet {
namespace {

constexpr char kTagPrefix[] = "tag:yaml.org,2002:";
constexpr size_t kMessageTextLimit = 80;

bool IsCoreNull(const std::string& text) {
  return text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL";
}

bool IsCoreBool(const std::string& text, bool* value) {
  if (text == "true" || text == "True" || text == "TRUE") {
    *value = true;
    return true;
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    *value = false;
    return true;
  }
  return false;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Hand-written rather than std::regex: libstdc++'s regex recurses per character and overflows
// the stack on the megabyte-long scalars that hostile specs can contain.
size_t SkipSign(const std::string& text) {
  return !text.empty() && (text[0] == '-' || text[0] == '+') ? 1 : 0;
}

size_t SkipDigits(const std::string& text, size_t i) {
  while (i < text.size() && IsDigit(text[i])) ++i;
  return i;
}

// [-+]?[0-9]+
bool IsCoreInt(const std::string& text) {
  const size_t start = SkipSign(text);
  const size_t end = SkipDigits(text, start);
  return end > start && end == text.size();
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? | [-+]?\.(inf|Inf|INF) | \.(nan|NaN|NAN)
bool IsCoreFloat(const std::string& text) {
  const size_t start = SkipSign(text);
  const std::string body = text.substr(start);
  if (body == ".inf" || body == ".Inf" || body == ".INF") return true;
  if (body == ".nan" || body == ".NaN" || body == ".NAN") return start == 0;
  size_t i = SkipDigits(text, start);
  const bool integer_digits = i > start;
  bool fraction_digits = false;
  if (i < text.size() && text[i] == '.') {
    const size_t fraction_start = i + 1;
    i = SkipDigits(text, fraction_start);
    fraction_digits = i > fraction_start;
  }
  if (!integer_digits && !fraction_digits) return false;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
    const size_t exponent_start = i;
    i = SkipDigits(text, exponent_start);
    if (i == exponent_start) return false;
  }
  return i == text.size();
}

double ParseCoreFloat(const std::string& text) {
  std::string body = text;
  bool negative = false;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
    negative = body[0] == '-';
    body.erase(0, 1);
  }
  if (body.size() == 4 && body[0] == '.' && (body[1] == 'i' || body[1] == 'I')) {
    return negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  }
  if (body.size() == 4 && body[0] == '.' && (body[1] == 'n' || body[1] == 'N')) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  // strtod gives +-HUGE_VAL on overflow, which the range checks then reject as not finite.
  const double magnitude = std::strtod(body.c_str(), nullptr);
  return negative ? -magnitude : magnitude;
}

YamlScalar MakeInt(const std::string& text) {
  YamlScalar scalar;
  scalar.kind = YamlScalar::Kind::kInt;
  scalar.text = text;
  errno = 0;
  scalar.int_value = std::strtoll(text.c_str(), nullptr, 10);
  scalar.int_overflow = errno == ERANGE;
  scalar.float_value = std::strtod(text.c_str(), nullptr);
  return scalar;
}

YamlScalar MakeFloat(const std::string& text) {
  YamlScalar scalar;
  scalar.kind = YamlScalar::Kind::kFloat;
  scalar.text = text;
  scalar.float_value = ParseCoreFloat(text);
  return scalar;
}

YamlScalar MakeString(const std::string& text) {
  YamlScalar scalar;
  scalar.kind = YamlScalar::Kind::kString;
  scalar.text = text;
  return scalar;
}

YamlScalar ResolvePlain(const std::string& text) {
  YamlScalar scalar;
  scalar.text = text;
  if (IsCoreNull(text)) return scalar;
  if (IsCoreBool(text, &scalar.bool_value)) {
    scalar.kind = YamlScalar::Kind::kBool;
    return scalar;
  }
  if (IsCoreInt(text)) return MakeInt(text);
  if (IsCoreFloat(text)) return MakeFloat(text);
  return MakeString(text);
}

YamlScalar ResolveTagged(const std::string& tag, const std::string& text) {
  const std::string type = tag.compare(0, sizeof(kTagPrefix) - 1, kTagPrefix) == 0
                               ? tag.substr(sizeof(kTagPrefix) - 1)
                               : "";
  const auto wrong_form = [&]() {
    return YamlScalarError("!!" + type + " " + QuoteForMessage(text) + " is not a valid " + type);
  };
  if (type == "str") return MakeString(text);
  if (type == "null") {
    if (!IsCoreNull(text)) throw wrong_form();
    return YamlScalar{};
  }
  if (type == "bool") {
    YamlScalar scalar;
    if (!IsCoreBool(text, &scalar.bool_value)) throw wrong_form();
    scalar.kind = YamlScalar::Kind::kBool;
    scalar.text = text;
    return scalar;
  }
  if (type == "int") {
    if (!IsCoreInt(text)) throw wrong_form();
    return MakeInt(text);
  }
  if (type == "float") {
    if (!IsCoreFloat(text)) throw wrong_form();
    return MakeFloat(text);
  }
  throw YamlScalarError("unsupported YAML tag " + tag);
}

}  // namespace

YamlScalar ResolveYamlScalar(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return YamlScalar{};
  if (node.IsSequence()) throw YamlScalarError("a list");
  if (node.IsMap()) throw YamlScalarError("a mapping");
  const std::string& tag = node.Tag();
  if (tag == "?") return ResolvePlain(node.Scalar());
  if (tag == "!" || tag.empty()) return MakeString(node.Scalar());
  return ResolveTagged(tag, node.Scalar());
}

std::string QuoteForMessage(const std::string& text) {
  std::string quoted = "\"";
  const std::string valid = utf8::ReplaceMalformed(text);
  const std::string_view shown = utf8::TruncateAtCharBoundary(valid, kMessageTextLimit);
  for (const char c : shown) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (c == '\n') {
      quoted += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      quoted += '?';
    } else {
      quoted += c;
    }
  }
  quoted += '"';
  if (shown.size() < valid.size()) quoted += "... (" + std::to_string(text.size()) + " characters)";
  return quoted;
}

std::string KeyForMessage(const std::string& key) {
  if (key.empty() || key.size() > kMessageTextLimit) return QuoteForMessage(key);
  for (const char c : key) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
      return QuoteForMessage(key);
  }
  return key;
}

std::string DescribeYamlNode(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "null";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  try {
    const YamlScalar scalar = ResolveYamlScalar(node);
    if (scalar.kind == YamlScalar::Kind::kNull) return "null";
    if (scalar.kind == YamlScalar::Kind::kString) return QuoteForMessage(scalar.text);
    if (scalar.text.size() > kMessageTextLimit) return QuoteForMessage(scalar.text);
    return scalar.text;
  } catch (const YamlScalarError&) {
    return QuoteForMessage(node.Scalar());
  }
}

nlohmann::json YamlScalarToJson(const YamlScalar& scalar) {
  switch (scalar.kind) {
    case YamlScalar::Kind::kNull:
      return nullptr;
    case YamlScalar::Kind::kBool:
      return scalar.bool_value;
    case YamlScalar::Kind::kInt:
      if (scalar.int_overflow) return scalar.float_value;
      return scalar.int_value;
    case YamlScalar::Kind::kFloat:
      return scalar.float_value;
    case YamlScalar::Kind::kString:
      return scalar.text;
  }
  return nullptr;
}

}  // namespace bertfleet
