#pragma once
// What a sweep's jobs say together: for every configuration, per epoch and for the final models,
// the mean and sample standard deviation over seeds of every metric the jobs report, and the
// best configuration by the sweep's metric. Computed from the jobs' snapshots whenever asked (a
// live view), never stored, so it can never disagree with the jobs.
#include "bertfleet/v1/sweeps.pb.h"

namespace bertfleet::coordinator {

// Fills sweep.configs' statistics, best_config, jobs_total and jobs_finished from
// sweep.points' job snapshots (points without one count as queued).
void SummarizeSweep(bertfleet::v1::Sweep& sweep);

}  // namespace bertfleet::coordinator
