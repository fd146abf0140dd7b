// The coordinator's metrics: scrape-time gauges from jobs and workers (states, per-job results,
// retention of finished jobs) and the event counters and histograms.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

#include <prometheus/text_serializer.h>

#include "common/util/error.h"
#include "coordinator/config.h"
#include "coordinator/fleet_collector.h"
#include "coordinator/metrics.h"
#include "coordinator/time_util.h"

namespace bertfleet::coordinator {
namespace {

using prometheus::MetricFamily;

const MetricFamily* Find(const std::vector<MetricFamily>& families, const std::string& name) {
  for (const auto& family : families) {
    if (family.name == name) return &family;
  }
  return nullptr;
}

// The gauge value of `name` with exactly these labels, or nullopt when there is no such series.
std::optional<double> Value(const std::vector<MetricFamily>& families, const std::string& name,
                            std::vector<prometheus::ClientMetric::Label> labels) {
  const MetricFamily* family = Find(families, name);
  if (!family) return std::nullopt;
  std::sort(labels.begin(), labels.end());
  for (const auto& metric : family->metric) {
    auto have = metric.label;
    std::sort(have.begin(), have.end());
    if (have == labels) return metric.gauge.value;
  }
  return std::nullopt;
}

v1::Job MakeJob(const std::string& id, v1::JobState state) {
  v1::Job job;
  job.set_id(id);
  job.set_state(state);
  return job;
}

v1::EpochMetrics Epoch(int64_t epoch, bool evaluated, double accuracy) {
  v1::EpochMetrics metrics;
  metrics.set_epoch(epoch);
  metrics.set_global_step(epoch * 10);
  metrics.set_train_loss(1.0 / epoch);
  metrics.set_evaluated(evaluated);
  metrics.set_eval_accuracy(accuracy);
  metrics.set_eval_f1(accuracy - 0.1);
  metrics.set_eval_loss(0.5 / epoch);
  return metrics;
}

TEST(FleetGaugesTest, CountsJobsByStateIncludingZeros) {
  std::vector<v1::Job> jobs = {MakeJob("a", v1::JOB_STATE_RUNNING), MakeJob("b", v1::JOB_STATE_RUNNING),
                               MakeJob("c", v1::JOB_STATE_QUEUED)};
  auto families = FleetGauges(jobs, {}, 0, 1000);
  EXPECT_EQ(Value(families, "bertfleet_jobs", {{"state", "running"}}), 2.0);
  EXPECT_EQ(Value(families, "bertfleet_jobs", {{"state", "queued"}}), 1.0);
  EXPECT_EQ(Value(families, "bertfleet_jobs", {{"state", "failed"}}), 0.0);
  EXPECT_EQ(Find(families, "bertfleet_jobs")->metric.size(), 6u);
}

TEST(FleetGaugesTest, WorkersByDeviceAndStateWithEveryStateOfASeenDevice) {
  v1::Worker busy, lost;
  busy.set_device("cpu");
  busy.set_state(v1::Worker::STATE_BUSY);
  lost.set_device("cpu");
  lost.set_state(v1::Worker::STATE_LOST);
  auto families = FleetGauges({}, {busy, lost, busy}, 0, 1000);
  EXPECT_EQ(Value(families, "bertfleet_workers", {{"device", "cpu"}, {"state", "busy"}}), 2.0);
  EXPECT_EQ(Value(families, "bertfleet_workers", {{"device", "cpu"}, {"state", "lost"}}), 1.0);
  EXPECT_EQ(Value(families, "bertfleet_workers", {{"device", "cpu"}, {"state", "idle"}}), 0.0);
  EXPECT_FALSE(Value(families, "bertfleet_workers", {{"device", "cuda"}, {"state", "idle"}}).has_value());
}

TEST(FleetGaugesTest, PerJobResultsComeFromTheLastEvaluatedEpoch) {
  v1::Job job = MakeJob("job-1", v1::JOB_STATE_RUNNING);
  job.set_global_step(25);
  job.set_total_steps(100);
  *job.add_epochs() = Epoch(1, true, 0.7);
  *job.add_epochs() = Epoch(2, false, 0.0);  // not evaluated: accuracy stays epoch 1's
  auto families = FleetGauges({job}, {}, 0, 1000);
  const std::vector<prometheus::ClientMetric::Label> labels = {{"job", "job-1"}};
  EXPECT_EQ(Value(families, "bertfleet_job_eval_accuracy", labels), 0.7);
  EXPECT_DOUBLE_EQ(*Value(families, "bertfleet_job_eval_f1", labels), 0.6);
  EXPECT_EQ(Value(families, "bertfleet_job_epoch", labels), 2.0);
  EXPECT_EQ(Value(families, "bertfleet_job_train_loss", labels), 0.5);
  EXPECT_EQ(Value(families, "bertfleet_job_progress_ratio", labels), 0.25);
  EXPECT_EQ(Value(families, "bertfleet_job_state", {{"job", "job-1"}, {"state", "running"}}), 1.0);
}

TEST(FleetGaugesTest, EveryTaskMetricIsOneSeriesLabelledByItsName) {
  v1::Job job = MakeJob("job-2", v1::JOB_STATE_RUNNING);
  v1::EpochMetrics evaluated = Epoch(1, true, 0.9);
  for (const auto& [name, value] : {std::pair<std::string, double>{"matthews_correlation", 0.41}, {"mse", 1.5}}) {
    v1::MetricValue* metric = evaluated.add_eval_metrics();
    metric->set_name(name);
    metric->set_value(value);
  }
  *job.add_epochs() = evaluated;
  *job.add_epochs() = Epoch(2, false, 0.0);
  const auto families = FleetGauges({job}, {}, 0, 1000);
  EXPECT_EQ(Value(families, "bertfleet_job_eval_metric", {{"job", "job-2"}, {"metric", "matthews_correlation"}}),
            0.41);
  EXPECT_EQ(Value(families, "bertfleet_job_eval_metric", {{"job", "job-2"}, {"metric", "mse"}}), 1.5);
  EXPECT_FALSE(Value(families, "bertfleet_job_eval_metric", {{"job", "job-2"}, {"metric", "accuracy"}}).has_value());
}

TEST(FleetGaugesTest, AJobWithoutEpochsHasNoResultSeries) {
  auto families = FleetGauges({MakeJob("q", v1::JOB_STATE_QUEUED)}, {}, 0, 1000);
  EXPECT_FALSE(Value(families, "bertfleet_job_eval_accuracy", {{"job", "q"}}).has_value());
  EXPECT_EQ(Value(families, "bertfleet_job_progress_ratio", {{"job", "q"}}), 0.0);
}

TEST(FleetGaugesTest, FinishedJobSeriesStayForTheRetentionThenDisappear) {
  v1::Job job = MakeJob("done", v1::JOB_STATE_SUCCEEDED);
  *job.add_epochs() = Epoch(1, true, 0.8);
  const int64_t finished_ms = 1'700'000'000'000;
  SetTimestamp(job.mutable_finished_at(), finished_ms);
  const int64_t retention_ms = 60'000;
  auto kept = FleetGauges({job}, {}, finished_ms + retention_ms, retention_ms);
  EXPECT_EQ(Value(kept, "bertfleet_job_eval_accuracy", {{"job", "done"}}), 0.8);
  EXPECT_EQ(Value(kept, "bertfleet_job_progress_ratio", {{"job", "done"}}), 1.0);  // succeeded: done
  auto expired = FleetGauges({job}, {}, finished_ms + retention_ms + 1, retention_ms);
  EXPECT_FALSE(Value(expired, "bertfleet_job_eval_accuracy", {{"job", "done"}}).has_value());
  EXPECT_FALSE(Value(expired, "bertfleet_job_progress_ratio", {{"job", "done"}}).has_value());
  EXPECT_EQ(Value(expired, "bertfleet_jobs", {{"state", "succeeded"}}), 1.0);  // still counted
}

v1::JobEvent StateEvent(const std::string& job_id, v1::JobState state, int64_t time_ms, int32_t attempt) {
  v1::JobEvent event;
  event.set_job_id(job_id);
  event.set_state(state);
  SetTimestamp(event.mutable_time(), time_ms);
  event.mutable_job()->set_attempt(attempt);
  return event;
}

std::string Exposition(const CoordinatorMetrics& metrics) {
  return prometheus::TextSerializer().Serialize(metrics.registry()->Collect());
}

TEST(CoordinatorMetricsTest, CountsSubmissionsOutcomesAndQueueWait) {
  CoordinatorMetrics metrics;
  metrics.OnJobEvent(StateEvent("a", v1::JOB_STATE_QUEUED, 10'000, 0));
  metrics.OnJobEvent(StateEvent("b", v1::JOB_STATE_QUEUED, 10'000, 0));
  metrics.OnJobEvent(StateEvent("a", v1::JOB_STATE_SCHEDULED, 12'500, 1));  // waited 2.5 s
  metrics.OnJobEvent(StateEvent("a", v1::JOB_STATE_FAILED, 20'000, 1));
  metrics.OnJobEvent(StateEvent("b", v1::JOB_STATE_CANCELLED, 20'000, 0));
  const std::string text = Exposition(metrics);
  EXPECT_NE(text.find("bertfleet_jobs_submitted_total 2"), std::string::npos) << text;
  EXPECT_NE(text.find("bertfleet_jobs_finished_total{outcome=\"failed\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("bertfleet_jobs_finished_total{outcome=\"cancelled\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("bertfleet_jobs_finished_total{outcome=\"succeeded\"} 0"), std::string::npos) << text;
  EXPECT_NE(text.find("bertfleet_job_queue_wait_seconds_count 1"), std::string::npos) << text;
  EXPECT_NE(text.find("bertfleet_job_queue_wait_seconds_sum 2.5"), std::string::npos) << text;
  EXPECT_NE(text.find("bertfleet_job_queue_wait_seconds_bucket{le=\"1\"} 0"), std::string::npos) << text;
  EXPECT_NE(text.find("bertfleet_job_queue_wait_seconds_bucket{le=\"5\"} 1"), std::string::npos) << text;
}

TEST(CoordinatorMetricsTest, ARequeueIsNoNewSubmissionAndWaitsFromItsRequeueTime) {
  CoordinatorMetrics metrics;
  metrics.OnJobEvent(StateEvent("a", v1::JOB_STATE_QUEUED, 0, 2));  // attempt 2 back in the queue
  metrics.OnJobEvent(StateEvent("a", v1::JOB_STATE_SCHEDULED, 40'000, 3));
  const std::string text = Exposition(metrics);
  EXPECT_NE(text.find("bertfleet_jobs_submitted_total 0"), std::string::npos) << text;
  EXPECT_NE(text.find("bertfleet_jobs_requeued_total 1"), std::string::npos) << text;
  EXPECT_NE(text.find("bertfleet_job_queue_wait_seconds_sum 40"), std::string::npos) << text;
}

TEST(CoordinatorMetricsTest, RpcsAreCountedByCodeAndOnlyUnaryOnesTimed) {
  CoordinatorMetrics metrics;
  metrics.OnRpcDone("/bertfleet.v1.JobService/GetJob", true, grpc::StatusCode::NOT_FOUND, 0.002);
  metrics.OnRpcDone("/bertfleet.v1.WorkerService/Connect", false, grpc::StatusCode::OK, 3600);
  const std::string text = Exposition(metrics);
  EXPECT_NE(text.find("bertfleet_rpc_requests_total{code=\"NOT_FOUND\",method=\"/bertfleet.v1.JobService/GetJob\"} 1"),
            std::string::npos) << text;
  EXPECT_NE(text.find("bertfleet_rpc_duration_seconds_count{method=\"/bertfleet.v1.JobService/GetJob\"} 1"),
            std::string::npos) << text;
  EXPECT_EQ(text.find("bertfleet_rpc_duration_seconds_count{method=\"/bertfleet.v1.WorkerService/Connect\"}"),
            std::string::npos) << text;
}

TEST(CoordinatorMetricsConfigTest, MetricsKeysParseAndANegativeRetentionIsNamed) {
  CoordinatorConfig config = ParseCoordinatorConfig("metrics_listen: 0.0.0.0:9464\nmetrics_retention_ms: 5000\n", "c.yaml");
  EXPECT_EQ(config.metrics_listen, "0.0.0.0:9464");
  EXPECT_EQ(config.metrics_retention_ms, 5000);
  try {
    ParseCoordinatorConfig("metrics_retention_ms: -1\n", "c.yaml");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("c.yaml: metrics_retention_ms"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace bertfleet::coordinator
