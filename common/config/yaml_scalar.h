#pragma once
// Typed reading of YAML scalars with the YAML 1.2 core schema, which yaml-cpp leaves to callers:
// it keeps every scalar as text. Unlike PyYAML's YAML 1.1 rules, `1e-5` is a float and `yes` is a
// string, so a spec means the same whether or not the reader knows that PyYAML quirk.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace bertfleet {

struct YamlScalar {
  enum class Kind { kNull, kBool, kInt, kFloat, kString };
  Kind kind = Kind::kNull;
  std::string text;  // as written, for "(got ...)" in messages
  bool bool_value = false;
  int64_t int_value = 0;      // kInt only
  bool int_overflow = false;  // an integer literal beyond int64 (int_value is then meaningless)
  double float_value = 0.0;   // kInt and kFloat
};

// Resolves a scalar or null node: plain scalars by the core schema, quoted and block scalars as
// strings, explicit tags (!!str, !!int, !!float, !!bool, !!null) as named. Throws
// YamlScalarError on a sequence, a mapping, an unknown tag or a tagged value of the wrong form.
YamlScalar ResolveYamlScalar(const YAML::Node& node);

class YamlScalarError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// How a node reads in "(got ...)": numbers and booleans as written, strings quoted, "null",
// "a list", "a mapping". Long text is shortened so a 1 MB string does not flood the terminal.
std::string DescribeYamlNode(const YAML::Node& node);
// Untrusted text quoted and escaped; malformed UTF-8 shows as '?' so that messages stay valid
// UTF-8 for the JSON and gRPC they travel in.
std::string QuoteForMessage(const std::string& text);
// Keys as they appear in messages: plain names as is, anything odd quoted and shortened.
std::string KeyForMessage(const std::string& key);

nlohmann::json YamlScalarToJson(const YamlScalar& scalar);

}  // namespace bertfleet
