#include "coordinator/sweep_summary.h"

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "bertfleet/v1/job_states.h"
#include "bertfleet/v1/reported_metrics.h"

namespace bertfleet::coordinator {
namespace {

// Values by metric name, names in order of first appearance.
class MetricValues {
 public:
  void Add(const std::string& name, double value) {
    auto it = index_.find(name);
    if (it == index_.end()) {
      it = index_.emplace(name, values_.size()).first;
      values_.push_back({name, {}});
    }
    values_[it->second].second.push_back(value);
  }
  void Fill(google::protobuf::RepeatedPtrField<v1::MetricSummary>* out) const {
    for (const auto& [name, values] : values_) {
      double sum = 0;
      for (double v : values) sum += v;
      const double mean = sum / static_cast<double>(values.size());
      double squares = 0;
      for (double v : values) squares += (v - mean) * (v - mean);
      v1::MetricSummary* summary = out->Add();
      summary->set_name(name);
      summary->set_mean(mean);
      summary->set_std(values.size() > 1 ? std::sqrt(squares / static_cast<double>(values.size() - 1)) : 0.0);
      summary->set_count(static_cast<int32_t>(values.size()));
    }
  }

 private:
  std::vector<std::pair<std::string, std::vector<double>>> values_;
  std::map<std::string, size_t> index_;
};

}  // namespace

void SummarizeSweep(v1::Sweep& sweep) {
  const int configs = sweep.configs_size();
  std::vector<std::map<int64_t, MetricValues>> epochs(configs);
  std::vector<MetricValues> finals(configs);
  for (auto& config : *sweep.mutable_configs()) {
    config.set_seeds(0);
    config.set_succeeded(0);
    config.clear_epochs();
    config.clear_final();
  }
  int32_t finished = 0;
  for (const v1::SweepPoint& point : sweep.points()) {
    if (point.config() < 0 || point.config() >= configs) continue;
    v1::SweepConfig& config = *sweep.mutable_configs(point.config());
    config.set_seeds(config.seeds() + 1);
    const v1::Job& job = point.job();
    if (v1::IsFinalJobState(job.state())) ++finished;
    for (const v1::EpochMetrics& epoch : job.epochs()) {
      for (const auto& [name, value] : v1::ReportedMetrics(epoch, true)) epochs[point.config()][epoch.epoch()].Add(name, value);
    }
    if (job.state() != v1::JOB_STATE_SUCCEEDED) continue;
    config.set_succeeded(config.succeeded() + 1);
    if (job.has_final_metrics()) {
      for (const auto& [name, value] : v1::ReportedMetrics(job.final_metrics(), false)) finals[point.config()].Add(name, value);
    }
  }
  sweep.set_jobs_total(sweep.points_size());
  sweep.set_jobs_finished(finished);
  sweep.set_best_config(-1);
  double best = 0;
  for (int c = 0; c < configs; ++c) {
    v1::SweepConfig& config = *sweep.mutable_configs(c);
    for (const auto& [epoch, values] : epochs[c]) {
      v1::EpochSummary* summary = config.add_epochs();
      summary->set_epoch(epoch);
      values.Fill(summary->mutable_metrics());
    }
    finals[c].Fill(config.mutable_final());
    for (const v1::MetricSummary& metric : config.final()) {
      if (metric.name() != sweep.metric()) continue;
      const bool better = sweep.greater_is_better() ? metric.mean() > best : metric.mean() < best;
      if (sweep.best_config() < 0 || better) {
        sweep.set_best_config(c);
        best = metric.mean();
      }
    }
  }
}

}  // namespace bertfleet::coordinator
