#include "coordinator/fleet_collector.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "bertfleet/v1/job_states.h"
#include "coordinator/metrics.h"
#include "coordinator/time_util.h"

namespace bertfleet::coordinator {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

std::string WorkerStateLabel(v1::Worker::State state) {
  switch (state) {
    case v1::Worker::STATE_IDLE:
      return "idle";
    case v1::Worker::STATE_BUSY:
      return "busy";
    case v1::Worker::STATE_LOST:
      return "lost";
    default:
      return "unknown";
  }
}

// Families in a fixed order, each built up sample by sample.
class Gauges {
 public:
  MetricFamily& Family(const std::string& name, const std::string& help) {
    auto it = index_.find(name);
    if (it != index_.end()) return families_[it->second];
    index_[name] = families_.size();
    families_.push_back({name, help, MetricType::Gauge, {}});
    return families_.back();
  }
  void Add(const std::string& name, const std::string& help, std::vector<ClientMetric::Label> labels, double value) {
    ClientMetric sample;
    sample.label = std::move(labels);
    sample.gauge.value = value;
    Family(name, help).metric.push_back(std::move(sample));
  }
  std::vector<MetricFamily> Take() { return std::move(families_); }

 private:
  std::vector<MetricFamily> families_;
  std::map<std::string, size_t> index_;
};

void AddJobGauges(Gauges& gauges, const v1::Job& job) {
  const std::vector<ClientMetric::Label> labels = {{"job", job.id()}};
  double progress = job.total_steps() > 0 ? std::min(1.0, double(job.global_step()) / double(job.total_steps())) : 0.0;
  if (job.state() == v1::JOB_STATE_SUCCEEDED) progress = 1.0;
  gauges.Add("bertfleet_job_progress_ratio", "Share of the job's optimizer steps done (0-1; 1 once it succeeded)",
             labels, progress);
  gauges.Add("bertfleet_job_global_step", "Optimizer steps the job has done (rank 0's last report)", labels,
             double(job.global_step()));
  gauges.Add("bertfleet_job_attempt", "The job's current attempt (0 before the first start)", labels,
             double(job.attempt()));
  gauges.Add("bertfleet_job_state", "1 for the job's current state (label state), for joins and alerts",
             {{"job", job.id()}, {"state", JobStateLabel(job.state())}}, 1.0);
  // Elastic jobs run on fewer workers than requested while shrunk: current vs requested.
  gauges.Add("bertfleet_job_world_size", "Ranks of the job's current gang (0 while queued or ended)", labels,
             v1::IsFinalJobState(job.state()) ? 0.0 : double(job.current_world_size()));
  gauges.Add("bertfleet_job_requested_world_size", "Ranks the job asked for (its spec's world_size)", labels,
             double(job.world_size()));
  if (job.epochs_size() == 0) return;
  const v1::EpochMetrics& last = job.epochs(job.epochs_size() - 1);
  gauges.Add("bertfleet_job_epoch", "Last finished epoch of the job (1-based)", labels, double(last.epoch()));
  gauges.Add("bertfleet_job_train_loss", "Mean training loss of the job's last finished epoch", labels,
             last.train_loss());
  gauges.Add("bertfleet_job_train_samples_per_second", "Training throughput of the job's last finished epoch",
             labels, last.train_samples_per_second());
  const v1::EpochMetrics* evaluated = nullptr;
  for (const auto& epoch : job.epochs()) {
    if (epoch.evaluated()) evaluated = &epoch;
  }
  if (!evaluated) return;
  gauges.Add("bertfleet_job_eval_accuracy", "Validation accuracy after the job's last evaluated epoch (0-1)", labels,
             evaluated->eval_accuracy());
  gauges.Add("bertfleet_job_eval_f1", "Validation F1 after the job's last evaluated epoch (0-1)", labels,
             evaluated->eval_f1());
  gauges.Add("bertfleet_job_eval_loss", "Validation loss after the job's last evaluated epoch", labels,
             evaluated->eval_loss());
  // One series name for every task: the metric is a label, so a dashboard shows whatever the job
  // reports (matthews_correlation, pearson, macro_f1, ...) without knowing the task.
  for (const v1::MetricValue& metric : evaluated->eval_metrics()) {
    gauges.Add("bertfleet_job_eval_metric",
               "A metric of the job's task (label metric: accuracy, f1, matthews_correlation, pearson, ...) after "
               "its last evaluated epoch",
               {{"job", job.id()}, {"metric", metric.name()}}, metric.value());
  }
}

// A sweep's progress and, per configuration, the final models' metrics over seeds.
void AddSweepGauges(Gauges& gauges, const v1::Sweep& sweep) {
  gauges.Add("bertfleet_sweep_jobs", "Jobs of the sweep (seeds x configurations)", {{"sweep", sweep.id()}},
             sweep.jobs_total());
  gauges.Add("bertfleet_sweep_jobs_finished", "Jobs of the sweep in a final state", {{"sweep", sweep.id()}},
             sweep.jobs_finished());
  for (int c = 0; c < sweep.configs_size(); ++c) {
    const v1::SweepConfig& config = sweep.configs(c);
    std::string name;
    for (const auto& setting : config.settings()) name += (name.empty() ? "" : ",") + setting.key() + "=" + setting.value();
    if (name.empty()) name = "-";
    for (const v1::MetricSummary& metric : config.final()) {
      const std::vector<ClientMetric::Label> labels = {{"sweep", sweep.id()}, {"config", name}, {"metric", metric.name()}};
      gauges.Add("bertfleet_sweep_metric_mean", "Mean over the configuration's succeeded seeds of a final-model metric",
                 labels, metric.mean());
      gauges.Add("bertfleet_sweep_metric_stddev",
                 "Sample standard deviation over the configuration's succeeded seeds of a final-model metric", labels,
                 metric.std());
      gauges.Add("bertfleet_sweep_metric_seeds", "Succeeded seeds behind the configuration's mean and stddev", labels,
                 metric.count());
    }
  }
}

}  // namespace

std::vector<MetricFamily> FleetGauges(const std::vector<v1::Job>& jobs, const std::vector<v1::Worker>& workers,
                                      int64_t now_ms, int64_t retention_ms, const std::vector<v1::Sweep>& sweeps) {
  Gauges gauges;
  std::map<v1::JobState, int> by_state;
  for (int s = v1::JOB_STATE_QUEUED; s <= v1::JOB_STATE_CANCELLED; ++s) by_state[v1::JobState(s)] = 0;
  for (const auto& job : jobs) by_state[job.state()] += 1;
  for (const auto& [state, count] : by_state) {
    gauges.Add("bertfleet_jobs", "Jobs by state (every job the coordinator knows)", {{"state", JobStateLabel(state)}},
               count);
  }

  // Every state for every device seen, zeros included, so that a panel or alert never sees a gap.
  std::map<std::pair<std::string, std::string>, int> by_device_state;
  for (const auto& worker : workers) {
    for (auto state : {v1::Worker::STATE_IDLE, v1::Worker::STATE_BUSY, v1::Worker::STATE_LOST}) {
      by_device_state[{worker.device(), WorkerStateLabel(state)}] += 0;
    }
    by_device_state[{worker.device(), WorkerStateLabel(worker.state())}] += 1;
  }
  gauges.Family("bertfleet_workers", "Registered workers by device and state (idle, busy, lost)");
  for (const auto& [key, count] : by_device_state) {
    gauges.Add("bertfleet_workers", "", {{"device", key.first}, {"state", key.second}}, count);
  }

  for (const auto& job : jobs) {
    const bool expired = v1::IsFinalJobState(job.state()) && job.has_finished_at() &&
                         now_ms - TimestampMs(job.finished_at()) > retention_ms;
    if (!expired) AddJobGauges(gauges, job);
  }
  for (const auto& sweep : sweeps) AddSweepGauges(gauges, sweep);
  return gauges.Take();
}

std::vector<MetricFamily> FleetCollector::Collect() const {
  std::vector<v1::Job> jobs;
  v1::ListJobsRequest request;
  request.set_page_size(500);
  do {
    v1::ListJobsResponse response;
    if (!fleet_->List(request, &response).ok()) break;
    jobs.insert(jobs.end(), response.jobs().begin(), response.jobs().end());
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  v1::ListWorkersResponse workers;
  fleet_->ListWorkers(&workers);
  std::vector<v1::Sweep> sweeps;
  v1::ListSweepsRequest sweeps_request;
  sweeps_request.set_page_size(500);
  do {
    v1::ListSweepsResponse response;
    if (!fleet_->ListSweeps(sweeps_request, "", &response).ok()) break;
    sweeps.insert(sweeps.end(), response.sweeps().begin(), response.sweeps().end());
    sweeps_request.set_page_token(response.next_page_token());
  } while (!sweeps_request.page_token().empty());
  return FleetGauges(jobs, {workers.workers().begin(), workers.workers().end()}, NowMs(), retention_ms_, sweeps);
}

}  // namespace bertfleet::coordinator
