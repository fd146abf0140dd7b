#include "common/config/job_spec.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <set>

#include "common/config/job_spec_fields.h"
#include "common/config/yaml_documents.h"
#include "common/config/yaml_scalar.h"
#include "common/train/task_metrics.h"
#include "common/text/utf8.h"
#include "common/util/edit_distance.h"
#include "common/util/error.h"
#include "common/util/file_io.h"

namespace bertfleet {
namespace {

// A job spec is a screenful of keys; a megabyte is already absurd and keeps the coordinator safe.
constexpr size_t kMaxSpecBytes = 1 << 20;

// Values as the user wrote them, per key, so messages echo `1e300` rather than `1e+300`.
using WrittenValues = std::map<std::string, std::string>;

bool StartsWith(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A message lists at most this many problems: more only bury the first ones, and it has to fit
// in a gRPC status (8 KiB of metadata by default).
constexpr size_t kMaxReportedProblems = 10;

// The suggestion costs an edit distance per known key, quadratic in the key's length: only keys
// that will be reported and could be a typo of a name (none is longer than 30) get one, so a
// megabyte of made-up keys cannot keep the coordinator busy.
std::string UnknownKeyMessage(const std::string& key, const JobSpecProblems& problems) {
  constexpr size_t kMaxSuggestedKeyLength = 64;
  if (problems.size() >= kMaxReportedProblems || key.size() > kMaxSuggestedKeyLength) {
    return "unknown key";
  }
  return "unknown key; did you mean \"" + ClosestMatch(key, JobSpecKeyNames()) + "\"?";
}

// "key", "--set key" when the key came from an override, or for rules that tie several keys
// together "rule_key (after --set other_key)".
std::string Label(const JobSpecProblem& problem, const std::set<std::string>& overridden) {
  if (problem.keys.empty()) return "";
  const std::string& key = problem.keys[0];
  if (overridden.count(key)) return "--set " + KeyForMessage(key);
  std::string after;
  for (const std::string& other : problem.keys) {
    if (overridden.count(other)) after += (after.empty() ? "" : ", ") + ("--set " + KeyForMessage(other));
  }
  return KeyForMessage(key) + (after.empty() ? "" : " (after " + after + ")");
}

[[noreturn]] void ThrowProblems(const std::string& source, const JobSpecProblems& problems,
                                const std::set<std::string>& overridden) {
  std::string message;
  for (size_t i = 0; i < problems.size() && i < kMaxReportedProblems; ++i) {
    if (!message.empty()) message += "\n";
    const std::string label = Label(problems[i], overridden);
    message += source + ": " + (label.empty() ? "" : label + ": ") + problems[i].message;
  }
  if (problems.size() > kMaxReportedProblems) {
    message += "\n" + source + ": ... and " +
               std::to_string(problems.size() - kMaxReportedProblems) + " more problems";
  }
  throw Error(message);
}

bool HasProblemFor(const JobSpecProblems& problems, const std::string& key) {
  for (const JobSpecProblem& problem : problems) {
    if (!problem.keys.empty() && problem.keys[0] == key) return true;
  }
  return false;
}

// Range checks for every key without a type problem, then the cross-key rules once each key is
// fine on its own (a rule about a value that is already wrong would only add noise).
void Validate(const JobSpec& spec, const WrittenValues& written, JobSpecProblems& problems) {
  for (const JobSpecField* field : JobSpecFields()) {
    if (HasProblemFor(problems, field->name())) continue;
    const auto text = written.find(field->name());
    const std::string message = field->Check(spec, text == written.end() ? "" : text->second);
    if (!message.empty()) problems.push_back({{field->name()}, message});
  }
  if (problems.empty()) CheckJobSpecRules(spec, problems);
}

// As run_glue.py, a spec trains on a GLUE task or on train_file, not both. `task` has a default
// (mrpc), so a train_file clears it unless the spec wrote it too, which is a contradiction.
void ResolveOwnFiles(JobSpec& spec, const WrittenValues& written, JobSpecProblems& problems) {
  if (spec.train_file.empty()) return;
  // The spec as JSON (the coordinator's store, checkpoints) carries every key, the defaults too.
  const JobSpec defaults;
  for (const std::string key : {"task", "data"}) {
    const std::string& value = key == "task" ? spec.task : spec.data;
    if (written.count(key) && !value.empty() && !(key == "data" && value == defaults.data)) {
      problems.push_back({{key, "train_file"},
                          "give " + key + (key == std::string("task") ? " (a GLUE task)" : " (a GLUE folder)") +
                              " or train_file (your own files), not both"});
    }
  }
  spec.task = "";
}

std::string WrittenText(const YAML::Node& value) { return value.IsScalar() ? value.Scalar() : ""; }

// The deprecated alias may stand in for eval_strategy but must not contradict it.
void CheckAliasAgreement(const std::map<std::string, std::string>& strategy_by_key,
                         JobSpecProblems& problems) {
  const auto current = strategy_by_key.find("eval_strategy");
  const auto alias = strategy_by_key.find(kEvalStrategyAlias);
  if (current == strategy_by_key.end() || alias == strategy_by_key.end()) return;
  if (current->second == alias->second) return;
  problems.push_back({{kEvalStrategyAlias, "eval_strategy"},
                      "is the deprecated name of eval_strategy and contradicts it (got " +
                          QuoteForMessage(alias->second) + ", eval_strategy " +
                          QuoteForMessage(current->second) + "); keep only eval_strategy"});
}

YAML::Node LoadSingleDocument(const std::string& yaml_text, const std::string& source) {
  if (yaml_text.size() > kMaxSpecBytes) {
    throw Error(source + ": too large for a job spec (" + std::to_string(yaml_text.size()) +
                " bytes; at most " + std::to_string(kMaxSpecBytes) + ")");
  }
  constexpr int kDocumentLimit = 16;
  YAML::Node document;
  int document_count = 0;
  try {
    document = YAML::Load(yaml_text);
    document_count = CountYamlDocuments(yaml_text, kDocumentLimit);
  } catch (const YAML::DeepRecursion& error) {
    throw Error(source + ":" + std::to_string(error.mark.line + 1) + ":" +
                std::to_string(error.mark.column + 1) + ": malformed YAML: nested too deeply");
  } catch (const YAML::Exception& error) {
    const std::string where = error.mark.is_null()
                                  ? ""
                                  : ":" + std::to_string(error.mark.line + 1) + ":" +
                                        std::to_string(error.mark.column + 1);
    // yaml-cpp quotes the offending character, which need not be valid UTF-8.
    throw Error(source + where + ": malformed YAML: " + utf8::ReplaceMalformed(error.msg));
  }
  if (!document || document.IsNull()) {
    throw Error(
        source +
        ": empty job spec; expected a mapping of keys to values (write {} for all defaults)");
  }
  if (document_count > 1) {
    throw Error(source + ": expected one YAML document (got " +
                (document_count >= kDocumentLimit ? "at least " : "") + std::to_string(document_count) + ")");
  }
  if (!document.IsMap()) {
    throw Error(source + ": expected a mapping of keys to values (got " +
                DescribeYamlNode(document) + ")");
  }
  return document;
}

}  // namespace

std::string WithSpecSettings(const std::string& yaml_text,
                             const std::vector<std::pair<std::string, std::string>>& settings,
                             const std::string& source) {
  YAML::Node root = YAML::Clone(LoadSingleDocument(yaml_text, source));
  for (const auto& [key, value] : settings) {
    YAML::Node parsed;
    try {
      parsed = YAML::Load(value);
    } catch (const YAML::Exception& error) {
      throw Error(source + ": " + key + ": " + QuoteForMessage(value) + " is not a YAML value: " +
                  utf8::ReplaceMalformed(error.msg));
    }
    if (!parsed.IsScalar()) throw Error(source + ": " + key + ": " + QuoteForMessage(value) + " is not a single value");
    // One key per field: the deprecated alias would be a second eval_strategy.
    if (key == "eval_strategy") root.remove(kEvalStrategyAlias);
    root[key] = parsed;
  }
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

JobSpec ParseJobSpec(const std::string& yaml_text, const std::string& source) {
  const YAML::Node root = LoadSingleDocument(yaml_text, source);
  JobSpec spec;
  JobSpecProblems problems;
  WrittenValues written;
  std::set<std::string> seen;
  std::map<std::string, std::string> strategy_by_key;
  for (auto entry = root.begin(); entry != root.end(); ++entry) {
    if (!entry->first.IsScalar()) {
      problems.push_back({{}, "keys must be names (got " + DescribeYamlNode(entry->first) + ")"});
      continue;
    }
    const std::string& key = entry->first.Scalar();
    if (!seen.insert(key).second) {
      problems.push_back({{key}, "duplicate key"});
      continue;
    }
    const JobSpecField* field = FindJobSpecField(key);
    if (field == nullptr) {
      problems.push_back({{key}, UnknownKeyMessage(key, problems)});
      continue;
    }
    const std::string message = field->Set(entry->second, spec);
    if (!message.empty()) {
      problems.push_back({{key}, message});
      continue;
    }
    written[field->name()] = WrittenText(entry->second);
    if (field->name() == "eval_strategy") strategy_by_key[key] = spec.eval_strategy;
  }
  CheckAliasAgreement(strategy_by_key, problems);
  ResolveOwnFiles(spec, written, problems);
  Validate(spec, written, problems);
  if (!problems.empty()) ThrowProblems(source, problems, {});
  return spec;
}

JobSpec LoadJobSpecFile(const std::string& path) {
  std::error_code error;
  // A FIFO or /dev/zero would otherwise be read forever.
  if (std::filesystem::exists(path, error) && !std::filesystem::is_regular_file(path, error)) {
    throw Error(path + ": not a regular file");
  }
  const auto size = std::filesystem::file_size(path, error);
  if (!error && size > kMaxSpecBytes) {
    throw Error(path + ": too large for a job spec (" + std::to_string(size) + " bytes; at most " +
                std::to_string(kMaxSpecBytes) + ")");
  }
  return ParseJobSpec(ReadFileToString(path), path);
}

void ApplyJobSpecOverrides(JobSpec& spec, const std::vector<std::string>& assignments,
                           const std::string& source) {
  JobSpec updated = spec;
  JobSpecProblems problems;
  WrittenValues written;
  std::set<std::string> overridden;
  std::map<std::string, std::string> strategy_by_key;
  for (const std::string& assignment : assignments) {
    const size_t equals = assignment.find('=');
    const std::string key = assignment.substr(0, equals);
    if (equals == std::string::npos || key.empty()) {
      problems.push_back({{}, "--set " + QuoteForMessage(assignment) + ": expected key=value"});
      continue;
    }
    YAML::Node value;
    try {
      value = YAML::Load(assignment.substr(equals + 1));
    } catch (const YAML::Exception& error) {
      problems.push_back({{key}, "malformed value: " + utf8::ReplaceMalformed(error.msg)});
      overridden.insert(key);
      continue;
    }
    // model_config_overrides.KEY=VALUE sets one config.json key and keeps the others.
    const std::string prefix = "model_config_overrides.";
    if (StartsWith(key, prefix) && key.size() > prefix.size()) {
      YAML::Node mapping(YAML::NodeType::Map);
      mapping[key.substr(prefix.size())] = value;
      JobSpec single;
      const std::string message = FindJobSpecField("model_config_overrides")->Set(mapping, single);
      overridden.insert(key);
      if (!message.empty()) {
        problems.push_back({{key}, message});
      } else {
        updated.model_config_overrides.update(single.model_config_overrides);
      }
      continue;
    }
    const JobSpecField* field = FindJobSpecField(key);
    overridden.insert(field ? field->name() : key);
    if (field == nullptr) {
      problems.push_back({{key}, UnknownKeyMessage(key, problems)});
      continue;
    }
    const std::string message = field->Set(value, updated);
    if (!message.empty()) {
      problems.push_back({{field->name()}, message});
      continue;
    }
    written[field->name()] = WrittenText(value);
    if (field->name() == "eval_strategy") strategy_by_key[key] = updated.eval_strategy;
  }
  CheckAliasAgreement(strategy_by_key, problems);
  if (strategy_by_key.count(kEvalStrategyAlias)) overridden.insert(kEvalStrategyAlias);
  ResolveOwnFiles(updated, written, problems);
  Validate(updated, written, problems);
  if (!problems.empty()) ThrowProblems(source, problems, overridden);
  spec = std::move(updated);
}

std::string JobSpec::BestMetricName() const {
  // Hugging Face's Trainer prefixes "eval_" unless the name already has it.
  const std::string metric = metric_for_best_model.empty() ? "loss" : metric_for_best_model;
  return StartsWith(metric, "eval_") ? metric : "eval_" + metric;
}

bool JobSpec::BestMetricGreaterIsBetter() const {
  if (greater_is_better) return *greater_is_better;
  // The metric's own direction (Hugging Face: not metric_for_best_model.endswith("loss"), which
  // agrees for every metric a task declares).
  const std::string metric = metric_for_best_model.empty() ? "loss" : metric_for_best_model;
  if (const TaskMetric* declared = FindTaskMetric(task, metric)) return declared->greater_is_better;
  return !EndsWith(metric, "loss");
}

std::vector<std::pair<const char*, std::string*>> OwnFileKeys(JobSpec& spec) {
  return {{"train_file", &spec.train_file}, {"validation_file", &spec.validation_file}, {"test_file", &spec.test_file}};
}

std::vector<std::pair<const char*, const std::string*>> OwnFileKeys(const JobSpec& spec) {
  return {{"train_file", &spec.train_file}, {"validation_file", &spec.validation_file}, {"test_file", &spec.test_file}};
}

nlohmann::json JobSpec::ToJson() const {
  nlohmann::json json = nlohmann::json::object();
  for (const JobSpecField* field : JobSpecFields()) json[field->name()] = field->Get(*this);
  return json;
}

}  // namespace bertfleet
