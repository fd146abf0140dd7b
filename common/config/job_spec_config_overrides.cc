// The model_config_overrides key of job specs: the one key whose value is a mapping.
#include <cmath>
#include <memory>
#include <string>

#include "common/config/job_spec_fields.h"
#include "common/config/yaml_scalar.h"
#include "common/text/utf8.h"

namespace bertfleet {
namespace {

constexpr size_t kMaxConfigOverrides = 256;
constexpr size_t kMaxKeyLength = 256;
constexpr size_t kMaxStringLength = 4096;

std::string Got(const std::string& shown) { return " (got " + shown + ")"; }

// model_config_overrides: a flat mapping of config.json keys to scalars, kept as JSON because
// BertConfig::ApplyOverride owns which keys exist.
class ConfigOverridesField : public JobSpecField {
 public:
  const std::string& name() const override { return name_; }

  std::string Set(const YAML::Node& value, JobSpec& spec) const override {
    if (!value.IsDefined() || value.IsNull()) {
      spec.model_config_overrides = nlohmann::json::object();
      return "";
    }
    if (!value.IsMap())
      return "must be a mapping of config.json keys to values" + Got(DescribeYamlNode(value));
    nlohmann::json overrides = nlohmann::json::object();
    for (auto entry = value.begin(); entry != value.end(); ++entry) {
      if (!entry->first.IsScalar() || entry->first.Scalar().empty()) {
        return "keys must be non-empty names" + Got(DescribeYamlNode(entry->first));
      }
      const std::string& key = entry->first.Scalar();
      if (overrides.contains(key)) return "duplicate key " + QuoteForMessage(key);
      try {
        overrides[key] = YamlScalarToJson(ResolveYamlScalar(entry->second));
      } catch (const YamlScalarError&) {
        return KeyForMessage(key) + ": must be a number, string, boolean or null" +
               Got(DescribeYamlNode(entry->second));
      }
      if (overrides[key].is_number_float() && !std::isfinite(overrides[key].get<double>())) {
        return KeyForMessage(key) + ": must be a finite number" + Got(DescribeYamlNode(entry->second));
      }
    }
    spec.model_config_overrides = std::move(overrides);
    return "";
  }

  std::string Check(const JobSpec& spec, const std::string&) const override {
    const nlohmann::json& overrides = spec.model_config_overrides;
    if (!overrides.is_object()) return "must be a mapping of config.json keys to values";
    if (overrides.size() > kMaxConfigOverrides) {
      return "must have at most " + std::to_string(kMaxConfigOverrides) + " keys (got " +
             std::to_string(overrides.size()) + ")";
    }
    for (const auto& [key, value] : overrides.items()) {
      if (key.empty() || key.size() > kMaxKeyLength)
        return "keys must be names of 1 to 256 characters";
      // config.json is JSON, which needs UTF-8.
      if (!utf8::IsValid(key)) return "keys must be valid UTF-8" + Got(QuoteForMessage(key));
      const std::string shown_key = KeyForMessage(key);
      if (value.is_structured()) return shown_key + ": must be a number, string, boolean or null";
      if (value.is_string()) {
        const std::string& text = value.get_ref<const std::string&>();
        if (text.size() > kMaxStringLength) {
          return shown_key + ": must be at most " + std::to_string(kMaxStringLength) +
                 " characters";
        }
        if (!utf8::IsValid(text)) return shown_key + ": must be valid UTF-8" + Got(QuoteForMessage(text));
      }
      if (value.is_number_float() && !std::isfinite(value.get<double>())) {
        return shown_key + ": must be a finite number";
      }
    }
    return "";
  }

  nlohmann::json Get(const JobSpec& spec) const override { return spec.model_config_overrides; }

 private:
  std::string name_ = "model_config_overrides";
};

}  // namespace

std::unique_ptr<JobSpecField> MakeConfigOverridesField() {
  return std::make_unique<ConfigOverridesField>();
}

}  // namespace bertfleet
