#include "coordinator/sweep_plan.h"

#include <set>

#include "bertfleet/v1/sweep_settings.h"
#include "common/util/error.h"

namespace bertfleet::coordinator {

namespace {

void CheckRequest(const v1::CreateSweepRequest& request) {
  if (request.seeds().empty()) throw Error("seeds: give at least one seed");
  std::set<int64_t> seeds;
  for (int64_t seed : request.seeds()) {
    if (seed < 0) throw Error("seeds: " + std::to_string(seed) + " is negative (seeds are >= 0, as in the spec)");
    if (!seeds.insert(seed).second) throw Error("seeds: " + std::to_string(seed) + " appears twice");
  }
  std::set<std::string> keys;
  int64_t points = request.seeds_size();
  for (const v1::SweepAxis& axis : request.grid()) {
    if (axis.key().empty()) throw Error("grid: an axis has no key");
    if (axis.key() == "seed") throw Error("grid: seed is swept by seeds, not by the grid");
    if (!keys.insert(axis.key()).second) throw Error("grid: " + axis.key() + " appears twice");
    if (axis.values().empty()) throw Error("grid: " + axis.key() + " has no values");
    std::set<std::string> values;
    for (const std::string& value : axis.values()) {
      if (value.empty()) throw Error("grid: " + axis.key() + " has an empty value");
      if (!values.insert(value).second) throw Error("grid: " + axis.key() + "=" + value + " appears twice");
    }
    points *= axis.values_size();
    if (points > kMaxSweepPoints) {
      throw Error("grid: more than " + std::to_string(kMaxSweepPoints) + " jobs (seeds x every axis's values)");
    }
  }
}

}  // namespace

SweepPlan PlanSweep(const v1::CreateSweepRequest& request, const std::string& source) {
  CheckRequest(request);
  const JobSpec base = ParseJobSpec(request.spec_yaml(), source);
  SweepPlan plan;
  plan.metric = base.BestMetricName();
  plan.greater_is_better = base.BestMetricGreaterIsBetter();
  plan.configs.emplace_back();
  for (const v1::SweepAxis& axis : request.grid()) {
    std::vector<std::vector<v1::SweepSetting>> next;
    for (const auto& config : plan.configs) {
      for (const std::string& value : axis.values()) {
        auto extended = config;
        v1::SweepSetting setting;
        setting.set_key(axis.key());
        setting.set_value(value);
        extended.push_back(std::move(setting));
        next.push_back(std::move(extended));
      }
    }
    plan.configs = std::move(next);
  }
  for (size_t c = 0; c < plan.configs.size(); ++c) {
    std::vector<std::pair<std::string, std::string>> settings;
    google::protobuf::RepeatedPtrField<v1::SweepSetting> listed;
    for (const auto& setting : plan.configs[c]) {
      settings.emplace_back(setting.key(), setting.value());
      *listed.Add() = setting;
    }
    for (int64_t seed : request.seeds()) {
      const std::string where = source + ": point " + v1::SettingsText(listed) + ", seed " + std::to_string(seed);
      auto with_seed = settings;
      with_seed.emplace_back("seed", std::to_string(seed));
      SweepPlanPoint point;
      point.config = static_cast<int32_t>(c);
      point.seed = seed;
      point.spec_yaml = WithSpecSettings(request.spec_yaml(), with_seed, where);
      point.spec = ParseJobSpec(point.spec_yaml, where);
      // The ranking metric is the base spec's; a grid may not change what "best" means.
      if (point.spec.BestMetricName() != plan.metric || point.spec.BestMetricGreaterIsBetter() != plan.greater_is_better) {
        throw Error(where + ": the grid changes metric_for_best_model or greater_is_better, which rank the "
                    "configurations; set them in the spec");
      }
      plan.points.push_back(std::move(point));
    }
  }
  return plan;
}

}  // namespace bertfleet::coordinator
