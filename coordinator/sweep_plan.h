#pragma once
// A sweep request expanded into its jobs: every configuration of the grid (the cartesian product
// of the axes' values, the last axis fastest) times every seed, each with its own spec YAML (the
// submitted one with `seed` and the configuration's settings set) parsed and checked like a
// submitted spec. A pure function, so that the expansion and its errors are unit-tested.
#include <cstdint>
#include <string>
#include <vector>

#include "bertfleet/v1/sweeps.pb.h"
#include "common/config/job_spec.h"

namespace bertfleet::coordinator {

struct SweepPlanPoint {
  int32_t config = 0;
  int64_t seed = 0;
  std::string spec_yaml;
  JobSpec spec;
};

struct SweepPlan {
  std::vector<std::vector<bertfleet::v1::SweepSetting>> configs;
  std::vector<SweepPlanPoint> points;  // configuration-major, then the request's seed order
  std::string metric;                  // metric_for_best_model as reported ("eval_loss" when unset)
  bool greater_is_better = false;
};

constexpr int kMaxSweepPoints = 256;

// Throws Error naming the problem: the request's field ("seeds: 43 appears twice"), or the point
// and the spec key ("point learning_rate=abc, seed 42: learning_rate: must be a number ...").
SweepPlan PlanSweep(const bertfleet::v1::CreateSweepRequest& request, const std::string& source);

}  // namespace bertfleet::coordinator
