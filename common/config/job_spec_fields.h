#pragma once
// The table behind ParseJobSpec: every job spec key with its type, allowed values and how it is
// read from YAML, checked and written to JSON. One table keeps parsing, validation, ToJson and
// the unknown-key hints from drifting apart when a key is added.
#include <yaml-cpp/yaml.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/config/job_spec.h"

namespace bertfleet {

// A problem with one or more keys; `keys[0]` is the one the message is about.
struct JobSpecProblem {
  std::vector<std::string> keys;
  std::string message;
};
using JobSpecProblems = std::vector<JobSpecProblem>;

// The deprecated Hugging Face name of eval_strategy, accepted as an alias.
inline constexpr char kEvalStrategyAlias[] = "evaluation_strategy";

class JobSpecField {
 public:
  virtual ~JobSpecField() = default;
  virtual const std::string& name() const = 0;
  // Reads the YAML value into `spec`; on a type error leaves `spec` alone and returns the
  // problem's message ("must be an integer (got 2.5)"), else "".
  virtual std::string Set(const YAML::Node& value, JobSpec& spec) const = 0;
  // The range or allowed values check; `written` is the value as the user wrote it, or "" to
  // describe the stored value. Returns the problem's message or "".
  virtual std::string Check(const JobSpec& spec, const std::string& written) const = 0;
  virtual nlohmann::json Get(const JobSpec& spec) const = 0;
};

const std::vector<const JobSpecField*>& JobSpecFields();
std::unique_ptr<JobSpecField> MakeConfigOverridesField();       // job_spec_config_overrides.cc
std::unique_ptr<JobSpecField> MakeReportToField();              // job_spec_report_to.cc
const JobSpecField* FindJobSpecField(const std::string& name);  // nullptr when unknown
std::vector<std::string> JobSpecKeyNames();                     // with the alias

// The rules that tie keys together (Hugging Face's TrainingArguments.__post_init__ checks and
// bertfleet's own); run once every key is valid on its own.
void CheckJobSpecRules(const JobSpec& spec, JobSpecProblems& problems);

}  // namespace bertfleet
