#pragma once
// How `bertfleet sweep status` prints a sweep: its points (job, configuration, seed, state, the
// ranking metric per epoch), then per configuration every metric per epoch and for the final
// models as mean ± std over seeds (with the count when not every seed has it), then the best
// configuration.
#include <string>

#include "bertfleet/v1/sweeps.pb.h"

namespace bertfleet::cli {

std::string SweepDetails(const bertfleet::v1::Sweep& sweep);
std::string SweepsTable(const std::vector<bertfleet::v1::Sweep>& sweeps);  // `bertfleet sweeps`
// "learning_rate=3e-05, warmup_ratio=0.1", or "(no grid)".
std::string ConfigName(const bertfleet::v1::SweepConfig& config);
// "0.8100 ± 0.0200", with " (n=2)" when fewer than `seeds` values went in.
std::string MeanStd(const bertfleet::v1::MetricSummary& metric, int32_t seeds);

}  // namespace bertfleet::cli
