#pragma once
// `bertfleet plot`: a job's per-epoch curves as a self-contained SVG — training and validation
// loss, validation accuracy and validation F1, one panel each, epochs on the x axis.
#include <string>

#include "bertfleet/v1/jobs.pb.h"
#include "bertfleet/v1/sweeps.pb.h"

namespace bertfleet::cli {

// Throws Error when the job has no finished epoch yet (nothing to draw).
std::string EpochCurvesSvg(const bertfleet::v1::Job& job);
// A sweep's curves: one panel per metric, one line per configuration (the mean over seeds per
// epoch) in a band of ± one standard deviation. Throws Error before any epoch finished.
std::string SweepCurvesSvg(const bertfleet::v1::Sweep& sweep);

}  // namespace bertfleet::cli
