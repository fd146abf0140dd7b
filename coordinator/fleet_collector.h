#pragma once
// Gauges computed from the Fleet's live state at scrape time: jobs by state, workers by device
// and state, and per-job results (last epoch's eval_accuracy / eval_f1 / eval_loss / train_loss,
// epoch, progress). Computing them on demand keeps them right after a coordinator restart and
// never leaves a stale series behind; a finished job's series stay for `retention_ms` after it
// finished, then disappear.
#include <cstdint>
#include <functional>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "bertfleet/v1/jobs.pb.h"
#include "coordinator/fleet.h"

namespace bertfleet::coordinator {

// The gauges for these jobs and workers at `now_ms` (wall clock, as in Job.finished_at).
std::vector<prometheus::MetricFamily> FleetGauges(const std::vector<bertfleet::v1::Job>& jobs,
                                                  const std::vector<bertfleet::v1::Worker>& workers,
                                                  int64_t now_ms, int64_t retention_ms,
                                                  const std::vector<bertfleet::v1::Sweep>& sweeps = {});

class FleetCollector : public prometheus::Collectable {
 public:
  FleetCollector(Fleet* fleet, int64_t retention_ms) : fleet_(fleet), retention_ms_(retention_ms) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  Fleet* fleet_;
  int64_t retention_ms_;
};

}  // namespace bertfleet::coordinator
