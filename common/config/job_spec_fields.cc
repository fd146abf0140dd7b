#include "common/config/job_spec_fields.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>

#include "common/config/yaml_scalar.h"
#include "common/text/utf8.h"

namespace bertfleet {
namespace {

// Strings are names and paths; anything longer is a mistake (or an attack on the coordinator).
constexpr size_t kMaxStringLength = 4096;
constexpr int64_t kMaxCount = 1000000000;  // steps, samples: far beyond any MRPC run
constexpr double kInfinity = std::numeric_limits<double>::infinity();

std::string FormatNumber(double value) {
  if (std::isnan(value)) return ".nan";
  if (std::isinf(value)) return value > 0 ? ".inf" : "-.inf";
  // Whole numbers as integers: "10000" reads better than %g's "1e+04".
  if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<int64_t>(value));
  }
  char buffer[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

std::string Got(const std::string& shown) { return " (got " + shown + ")"; }

// The value as the user wrote it when known, else as stored.
std::string Shown(const std::string& written, const std::string& stored) {
  if (written.empty()) return stored;
  return written.size() > 40 ? QuoteForMessage(written) : written;  // shortened
}

class IntField : public JobSpecField {
 public:
  // `unset` (e.g. -1) is also allowed and means `unset_meaning`; YAML null stores it too.
  IntField(std::string name, int64_t JobSpec::*member, int64_t min, int64_t max,
           std::optional<int64_t> unset = std::nullopt, std::string unset_meaning = "")
      : name_(std::move(name)),
        member_(member),
        min_(min),
        max_(max),
        unset_(unset),
        unset_meaning_(std::move(unset_meaning)) {}

  const std::string& name() const override { return name_; }

  std::string Set(const YAML::Node& value, JobSpec& spec) const override {
    YamlScalar scalar;
    try {
      scalar = ResolveYamlScalar(value);
    } catch (const YamlScalarError&) {
      return "must be an integer" + Got(DescribeYamlNode(value));
    }
    if (scalar.kind == YamlScalar::Kind::kNull && unset_) {
      spec.*member_ = *unset_;
      return "";
    }
    if (scalar.kind != YamlScalar::Kind::kInt) {
      return "must be an integer" + Got(DescribeYamlNode(value));
    }
    if (scalar.int_overflow) return RangeMessage() + Got(Shown(scalar.text, ""));
    spec.*member_ = scalar.int_value;
    return "";
  }

  std::string Check(const JobSpec& spec, const std::string& written) const override {
    const int64_t value = spec.*member_;
    if ((value >= min_ && value <= max_) || (unset_ && value == *unset_)) return "";
    return RangeMessage() + Got(Shown(written, std::to_string(value)));
  }

  nlohmann::json Get(const JobSpec& spec) const override { return spec.*member_; }

 private:
  std::string RangeMessage() const {
    std::string message = "must be ";
    if (unset_) message += std::to_string(*unset_) + " (" + unset_meaning_ + ") or ";
    return message + "an integer in [" + std::to_string(min_) + ", " + std::to_string(max_) + "]";
  }

  std::string name_;
  int64_t JobSpec::*member_;
  int64_t min_, max_;
  std::optional<int64_t> unset_;
  std::string unset_meaning_;
};

class FloatField : public JobSpecField {
 public:
  struct Range {
    double min;
    bool min_open;
    double max = kInfinity;
    bool max_open = false;
  };

  FloatField(std::string name, double JobSpec::*member, Range range)
      : name_(std::move(name)), member_(member), range_(range) {}

  const std::string& name() const override { return name_; }

  std::string Set(const YAML::Node& value, JobSpec& spec) const override {
    YamlScalar scalar;
    try {
      scalar = ResolveYamlScalar(value);
    } catch (const YamlScalarError&) {
      return "must be a number" + Got(DescribeYamlNode(value));
    }
    if (scalar.kind != YamlScalar::Kind::kInt && scalar.kind != YamlScalar::Kind::kFloat) {
      return "must be a number" + Got(DescribeYamlNode(value));
    }
    spec.*member_ = scalar.float_value;
    return "";
  }

  std::string Check(const JobSpec& spec, const std::string& written) const override {
    const double value = spec.*member_;
    const std::string got = Got(Shown(written, FormatNumber(value)));
    if (!std::isfinite(value)) return "must be a finite number " + RangeText() + got;
    const bool above_min = range_.min_open ? value > range_.min : value >= range_.min;
    const bool below_max = range_.max_open ? value < range_.max : value <= range_.max;
    if (above_min && below_max) return "";
    return "must be " + RangeText() + got;
  }

  nlohmann::json Get(const JobSpec& spec) const override { return spec.*member_; }

 private:
  std::string RangeText() const {
    if (std::isinf(range_.max)) return (range_.min_open ? "> " : ">= ") + FormatNumber(range_.min);
    return std::string("in ") + (range_.min_open ? "(" : "[") + FormatNumber(range_.min) + ", " +
           FormatNumber(range_.max) + (range_.max_open ? ")" : "]");
  }

  std::string name_;
  double JobSpec::*member_;
  Range range_;
};

class BoolField : public JobSpecField {
 public:
  BoolField(std::string name, bool JobSpec::*member) : name_(std::move(name)), member_(member) {}

  const std::string& name() const override { return name_; }

  std::string Set(const YAML::Node& value, JobSpec& spec) const override {
    try {
      const YamlScalar scalar = ResolveYamlScalar(value);
      if (scalar.kind == YamlScalar::Kind::kBool) {
        spec.*member_ = scalar.bool_value;
        return "";
      }
    } catch (const YamlScalarError&) {
    }
    return "must be true or false" + Got(DescribeYamlNode(value));
  }

  std::string Check(const JobSpec&, const std::string&) const override { return ""; }
  nlohmann::json Get(const JobSpec& spec) const override { return spec.*member_; }

 private:
  std::string name_;
  bool JobSpec::*member_;
};

class OptionalBoolField : public JobSpecField {
 public:
  OptionalBoolField(std::string name, std::optional<bool> JobSpec::*member)
      : name_(std::move(name)), member_(member) {}

  const std::string& name() const override { return name_; }

  std::string Set(const YAML::Node& value, JobSpec& spec) const override {
    try {
      const YamlScalar scalar = ResolveYamlScalar(value);
      if (scalar.kind == YamlScalar::Kind::kBool || scalar.kind == YamlScalar::Kind::kNull) {
        spec.*member_ = scalar.kind == YamlScalar::Kind::kBool
                            ? std::optional<bool>(scalar.bool_value)
                            : std::nullopt;
        return "";
      }
    } catch (const YamlScalarError&) {
    }
    return "must be true, false or null" + Got(DescribeYamlNode(value));
  }

  std::string Check(const JobSpec&, const std::string&) const override { return ""; }

  nlohmann::json Get(const JobSpec& spec) const override {
    const std::optional<bool>& value = spec.*member_;
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
  }

 private:
  std::string name_;
  std::optional<bool> JobSpec::*member_;
};

class StringField : public JobSpecField {
 public:
  struct Rules {
    std::vector<std::string> choices;  // empty: free text
    bool required = false;             // must not be empty
    bool nullable = false;             // YAML null stores ""
  };

  StringField(std::string name, std::string JobSpec::*member, Rules rules)
      : name_(std::move(name)), member_(member), rules_(std::move(rules)) {}

  const std::string& name() const override { return name_; }

  std::string Set(const YAML::Node& value, JobSpec& spec) const override {
    YamlScalar scalar;
    try {
      scalar = ResolveYamlScalar(value);
    } catch (const YamlScalarError&) {
      return Expected() + Got(DescribeYamlNode(value));
    }
    if (scalar.kind == YamlScalar::Kind::kNull && rules_.nullable) {
      spec.*member_ = "";
      return "";
    }
    // A choice written as a plain number or boolean still gets the list of choices; free text
    // must be a string so that `model: 1e5` is not silently the text "1e5".
    if (scalar.kind == YamlScalar::Kind::kString ||
        (!rules_.choices.empty() && scalar.kind != YamlScalar::Kind::kNull)) {
      spec.*member_ = scalar.text;
      return "";
    }
    return Expected() + Got(DescribeYamlNode(value));
  }

  std::string Check(const JobSpec& spec, const std::string&) const override {
    const std::string& value = spec.*member_;
    if (rules_.nullable && value.empty()) return "";
    if (!rules_.choices.empty()) {
      for (const std::string& choice : rules_.choices) {
        if (value == choice) return "";
      }
      return Expected() + Got(QuoteForMessage(value));
    }
    if (value.size() > kMaxStringLength) {
      return "must be at most " + std::to_string(kMaxStringLength) + " characters (got " +
             std::to_string(value.size()) + " characters)";
    }
    if (rules_.required && value.empty()) return "must not be empty";
    for (const char c : value) {
      if (static_cast<unsigned char>(c) < 0x20) {
        return "must not contain control characters" + Got(QuoteForMessage(value));
      }
    }
    // Specs are stored and sent as JSON (checkpoints, the coordinator), which needs UTF-8.
    if (!utf8::IsValid(value)) return "must be valid UTF-8" + Got(QuoteForMessage(value));
    return "";
  }

  nlohmann::json Get(const JobSpec& spec) const override { return spec.*member_; }

 private:
  std::string Expected() const {
    if (rules_.choices.empty())
      return rules_.nullable ? "must be a string or null" : "must be a string";
    std::string list;
    for (const std::string& choice : rules_.choices) list += (list.empty() ? "" : ", ") + choice;
    return "must be one of " + list;
  }

  std::string name_;
  std::string JobSpec::*member_;
  Rules rules_;
};

std::vector<std::unique_ptr<JobSpecField>> MakeFields() {
  using Range = FloatField::Range;
  using Rules = StringField::Rules;
  const std::vector<std::string> strategies = {"no", "steps", "epoch"};
  constexpr int64_t kMaxSeed =
      4294967295;  // numpy's seed limit, which Hugging Face's set_seed hits
  std::vector<std::unique_ptr<JobSpecField>> fields;
  const auto add = [&fields](JobSpecField* field) { fields.emplace_back(field); };

  add(new StringField("model", &JobSpec::model, Rules{{}, true, false}));
  // The nine GLUE tasks (common/train/glue_tasks.h).
  add(new StringField("task", &JobSpec::task,
                      Rules{{"cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "rte", "wnli"}, false, true}));
  add(new StringField("data", &JobSpec::data, Rules{{}, true, false}));
  add(new StringField("train_file", &JobSpec::train_file, Rules{{}, false, true}));
  add(new StringField("validation_file", &JobSpec::validation_file, Rules{{}, false, true}));
  add(new StringField("test_file", &JobSpec::test_file, Rules{{}, false, true}));
  add(new StringField("text_column_names", &JobSpec::text_column_names, Rules{{}, false, true}));
  add(new StringField("label_column_name", &JobSpec::label_column_name, Rules{{}, true, false}));
  add(new OptionalBoolField("do_regression", &JobSpec::do_regression));
  // BERT checkpoints have 512 position embeddings; below 8 not even "[CLS] a [SEP] b [SEP]" fits.
  add(new IntField("max_seq_length", &JobSpec::max_seq_length, 8, 512));
  add(new IntField("max_train_samples", &JobSpec::max_train_samples, 1, kMaxCount, -1, "all"));
  add(new IntField("max_eval_samples", &JobSpec::max_eval_samples, 1, kMaxCount, -1, "all"));
  fields.push_back(MakeConfigOverridesField());

  add(new FloatField("learning_rate", &JobSpec::learning_rate, Range{0, true}));
  add(new FloatField("weight_decay", &JobSpec::weight_decay, Range{0, false, 10}));
  add(new FloatField("adam_beta1", &JobSpec::adam_beta1, Range{0, false, 1, true}));
  add(new FloatField("adam_beta2", &JobSpec::adam_beta2, Range{0, false, 1, true}));
  add(new FloatField("adam_epsilon", &JobSpec::adam_epsilon, Range{0, true, 1}));
  add(new FloatField("max_grad_norm", &JobSpec::max_grad_norm, Range{0, false}));  // 0: no clipping
  add(new FloatField("num_train_epochs", &JobSpec::num_train_epochs, Range{0, true, 10000}));
  add(new IntField("max_steps", &JobSpec::max_steps, 1, kMaxCount, -1, "use num_train_epochs"));
  add(new StringField("lr_scheduler_type", &JobSpec::lr_scheduler_type,
                      Rules{{"linear", "constant", "constant_with_warmup", "cosine"}}));
  add(new FloatField("warmup_ratio", &JobSpec::warmup_ratio, Range{0, false, 1}));
  add(new IntField("warmup_steps", &JobSpec::warmup_steps, 0, kMaxCount));
  add(new IntField("per_device_train_batch_size", &JobSpec::per_device_train_batch_size, 1, 4096));
  add(new IntField("per_device_eval_batch_size", &JobSpec::per_device_eval_batch_size, 1, 4096));
  add(new IntField("gradient_accumulation_steps", &JobSpec::gradient_accumulation_steps, 1, 4096));
  add(new IntField("seed", &JobSpec::seed, 0, kMaxSeed));
  add(new IntField("data_seed", &JobSpec::data_seed, 0, kMaxSeed, -1, "same as seed"));
  add(new BoolField("bf16", &JobSpec::bf16));
  add(new BoolField("fp16", &JobSpec::fp16));
  add(new StringField("eval_strategy", &JobSpec::eval_strategy, Rules{strategies}));
  add(new IntField("eval_steps", &JobSpec::eval_steps, 1, kMaxCount, -1, "use logging_steps"));
  add(new StringField("save_strategy", &JobSpec::save_strategy, Rules{strategies}));
  add(new IntField("save_steps", &JobSpec::save_steps, 1, kMaxCount));
  add(new IntField("save_total_limit", &JobSpec::save_total_limit, 1, 1000000, -1, "keep all"));
  add(new BoolField("load_best_model_at_end", &JobSpec::load_best_model_at_end));
  add(new StringField("metric_for_best_model", &JobSpec::metric_for_best_model,
                      Rules{{}, false, true}));
  add(new OptionalBoolField("greater_is_better", &JobSpec::greater_is_better));
  add(new IntField("logging_steps", &JobSpec::logging_steps, 1, kMaxCount));
  add(new BoolField("group_by_length", &JobSpec::group_by_length));
  add(new BoolField("dataloader_drop_last", &JobSpec::dataloader_drop_last));
  add(new StringField("resume_from_checkpoint", &JobSpec::resume_from_checkpoint,
                      Rules{{}, false, true}));
  add(new IntField("ddp_bucket_cap_mb", &JobSpec::ddp_bucket_cap_mb, 1, 4096));
  fields.push_back(MakeReportToField());
  add(new StringField("run_name", &JobSpec::run_name, Rules{{}, false, true}));
  add(new StringField("logging_dir", &JobSpec::logging_dir, Rules{{}, false, true}));

  add(new IntField("world_size", &JobSpec::world_size, 1, 1024));
  add(new IntField("min_world_size", &JobSpec::min_world_size, 1, 1024, -1, "world_size"));
  add(new IntField("threads", &JobSpec::threads, 0, 1024));
  add(new StringField("device", &JobSpec::device, Rules{{"cpu", "cuda"}}));
  add(new IntField("priority", &JobSpec::priority, -1000000, 1000000));
  add(new IntField("max_restarts", &JobSpec::max_restarts, 0, 1000));
  return fields;
}

}  // namespace

const std::vector<const JobSpecField*>& JobSpecFields() {
  static const auto* owned = new std::vector<std::unique_ptr<JobSpecField>>(MakeFields());
  static const auto* fields = [] {
    auto* list = new std::vector<const JobSpecField*>;
    for (const auto& field : *owned) list->push_back(field.get());
    return list;
  }();
  return *fields;
}

const JobSpecField* FindJobSpecField(const std::string& name) {
  const std::string& canonical = name == kEvalStrategyAlias ? std::string("eval_strategy") : name;
  for (const JobSpecField* field : JobSpecFields()) {
    if (field->name() == canonical) return field;
  }
  return nullptr;
}

std::vector<std::string> JobSpecKeyNames() {
  std::vector<std::string> names;
  for (const JobSpecField* field : JobSpecFields()) names.push_back(field->name());
  names.push_back(kEvalStrategyAlias);
  return names;
}

}  // namespace bertfleet
