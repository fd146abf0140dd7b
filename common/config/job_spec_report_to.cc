// The report_to key of job specs (TrainingArguments.report_to): `none`, `all`, one integration,
// or a list of them. Stored as the list of integrations to use; `none` is the empty list.
#include <string>
#include <vector>

#include "common/config/job_spec_fields.h"
#include "common/config/yaml_scalar.h"

namespace bertfleet {
namespace {

const std::vector<std::string>& Integrations() {
  static const std::vector<std::string> names = {"tensorboard", "mlflow", "all", "none"};
  return names;
}

std::string Expected() { return "must be none, all, tensorboard, mlflow, or a list of them"; }

class ReportToField : public JobSpecField {
 public:
  const std::string& name() const override { return name_; }

  std::string Set(const YAML::Node& value, JobSpec& spec) const override {
    std::vector<std::string> written;
    if (!value.IsDefined() || value.IsNull()) {
      spec.report_to.clear();
      return "";
    }
    if (value.IsSequence()) {
      for (const YAML::Node& item : value) {
        if (!item.IsScalar()) return Expected() + " (got " + DescribeYamlNode(item) + " in the list)";
        written.push_back(item.Scalar());
      }
    } else if (value.IsScalar()) {
      // `--set report_to=tensorboard,mlflow` is one scalar.
      const std::string& text = value.Scalar();
      size_t start = 0;
      while (start <= text.size()) {
        const size_t comma = text.find(',', start);
        const size_t end = comma == std::string::npos ? text.size() : comma;
        std::string part = text.substr(start, end - start);
        part.erase(0, part.find_first_not_of(' '));
        part.erase(part.find_last_not_of(' ') + 1);
        written.push_back(part);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else {
      return Expected() + " (got " + DescribeYamlNode(value) + ")";
    }
    std::vector<std::string> chosen;
    for (const std::string& name : written) {
      bool known = false;
      for (const std::string& integration : Integrations()) known = known || name == integration;
      if (!known) return Expected() + " (got " + QuoteForMessage(name) + ")";
      if ((name == "none" || name == "all") && written.size() > 1) {
        return name + " cannot be combined with other integrations";
      }
      if (name == "none") continue;
      bool duplicate = false;
      for (const std::string& seen : chosen) duplicate = duplicate || seen == name;
      if (!duplicate) chosen.push_back(name);
    }
    spec.report_to = chosen;
    return "";
  }

  std::string Check(const JobSpec& spec, const std::string&) const override {
    for (const std::string& name : spec.report_to) {
      if (name != "tensorboard" && name != "mlflow" && name != "all") return Expected() + " (got " + QuoteForMessage(name) + ")";
    }
    return "";
  }

  nlohmann::json Get(const JobSpec& spec) const override {
    if (spec.report_to.empty()) return "none";
    return spec.report_to;
  }

 private:
  std::string name_ = "report_to";
};

}  // namespace

std::unique_ptr<JobSpecField> MakeReportToField() { return std::make_unique<ReportToField>(); }

}  // namespace bertfleet
