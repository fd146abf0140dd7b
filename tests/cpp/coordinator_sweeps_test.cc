// Sweeps without a server: the expansion of a request into jobs (order, specs, errors), the
// statistics over seeds, and the store's all-or-nothing creation.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "common/util/error.h"
#include "coordinator/sqlite_job_store.h"
#include "coordinator/sweep_plan.h"
#include "coordinator/sweep_summary.h"
#include "coordinator/time_util.h"
#include "tests/cpp/error_of.h"
#include "tests/cpp/scratch_dir.h"

namespace bertfleet::coordinator {
namespace {

using bertfleet::testing::ErrorOf;
using bertfleet::testing::ScratchDirTest;

constexpr char kSpec[] = "task: mrpc\ndata: mrpc\nlearning_rate: 2.0e-5  # the notebook's\nseed: 1\n";

v1::CreateSweepRequest Request(std::vector<int64_t> seeds, std::vector<std::pair<std::string, std::vector<std::string>>> grid) {
  v1::CreateSweepRequest request;
  request.set_spec_yaml(kSpec);
  for (int64_t seed : seeds) request.add_seeds(seed);
  for (const auto& [key, values] : grid) {
    v1::SweepAxis* axis = request.add_grid();
    axis->set_key(key);
    for (const auto& value : values) axis->add_values(value);
  }
  return request;
}

TEST(SweepPlanTest, EveryConfigurationTimesEverySeedLastAxisFastest) {
  const SweepPlan plan =
      PlanSweep(Request({7, 8}, {{"learning_rate", {"3e-5", "5e-5"}}, {"warmup_ratio", {"0.0", "0.1", "0.2"}}}), "s");
  ASSERT_EQ(plan.configs.size(), 6u);
  EXPECT_EQ(plan.configs[1][0].value(), "3e-5");
  EXPECT_EQ(plan.configs[1][1].value(), "0.1");
  EXPECT_EQ(plan.configs[3][0].value(), "5e-5");
  ASSERT_EQ(plan.points.size(), 12u);
  EXPECT_EQ(plan.points[0].config, 0);
  EXPECT_EQ(plan.points[1].seed, 8);
  const SweepPlanPoint& point = plan.points[7];  // configuration 3, seed 8
  EXPECT_EQ(point.config, 3);
  EXPECT_EQ(point.seed, 8);
  EXPECT_EQ(point.spec.seed, 8);
  EXPECT_DOUBLE_EQ(point.spec.learning_rate, 5e-5);
  EXPECT_DOUBLE_EQ(point.spec.warmup_ratio, 0.0);
  EXPECT_EQ(point.spec.task, "mrpc");  // the rest of the spec is kept
  EXPECT_EQ(ParseJobSpec(point.spec_yaml, "again").seed, 8);
  EXPECT_EQ(plan.metric, "eval_loss");  // Hugging Face's default for metric_for_best_model
  EXPECT_FALSE(plan.greater_is_better);
}

TEST(SweepPlanTest, BadRequestsAndBadPointsAreNamed) {
  EXPECT_NE(ErrorOf([] { PlanSweep(Request({}, {}), "s"); }).find("seeds: give at least one"), std::string::npos);
  EXPECT_NE(ErrorOf([] { PlanSweep(Request({1, 1}, {}), "s"); }).find("seeds: 1 appears twice"), std::string::npos);
  EXPECT_NE(ErrorOf([] { PlanSweep(Request({1}, {{"seed", {"2"}}}), "s"); }).find("seed is swept by seeds"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] { PlanSweep(Request({1}, {{"learning_rate", {}}}), "s"); }).find("has no values"),
            std::string::npos);
  const std::string bad = ErrorOf([] { PlanSweep(Request({1, 2}, {{"learning_rate", {"1e-4", "fast"}}}), "s"); });
  EXPECT_NE(bad.find("s: point learning_rate=fast, seed 1: learning_rate:"), std::string::npos) << bad;
  const std::string unknown = ErrorOf([] { PlanSweep(Request({1}, {{"learning_rat", {"1e-4"}}}), "s"); });
  EXPECT_NE(unknown.find("learning_rate"), std::string::npos) << unknown;  // the suggestion
  std::vector<std::string> many(30, "");
  for (size_t i = 0; i < many.size(); ++i) many[i] = std::to_string(i + 1);
  EXPECT_NE(ErrorOf([&] { PlanSweep(Request({1, 2, 3, 4, 5, 6, 7, 8, 9}, {{"logging_steps", many}}), "s"); })
                .find("more than 256 jobs"),
            std::string::npos);
}

v1::Job FinishedJob(std::vector<double> accuracy_per_epoch, double final_accuracy) {
  v1::Job job;
  job.set_state(v1::JOB_STATE_SUCCEEDED);
  for (size_t e = 0; e < accuracy_per_epoch.size(); ++e) {
    v1::EpochMetrics* epoch = job.add_epochs();
    epoch->set_epoch(static_cast<int64_t>(e + 1));
    epoch->set_train_loss(0.5);
    epoch->set_evaluated(true);
    epoch->set_eval_loss(0.4);
    v1::MetricValue* metric = epoch->add_eval_metrics();
    metric->set_name("accuracy");
    metric->set_value(accuracy_per_epoch[e]);
  }
  v1::EpochMetrics* final_metrics = job.mutable_final_metrics();
  final_metrics->set_evaluated(true);
  final_metrics->set_eval_loss(0.3);
  v1::MetricValue* metric = final_metrics->add_eval_metrics();
  metric->set_name("accuracy");
  metric->set_value(final_accuracy);
  return job;
}

const v1::MetricSummary& Metric(const google::protobuf::RepeatedPtrField<v1::MetricSummary>& metrics,
                                const std::string& name) {
  for (const auto& metric : metrics) {
    if (metric.name() == name) return metric;
  }
  throw Error("no " + name);
}

TEST(SweepSummaryTest, MeanAndSampleStdOverSeedsAndTheBestConfiguration) {
  v1::Sweep sweep;
  sweep.set_metric("eval_accuracy");
  sweep.set_greater_is_better(true);
  sweep.add_configs();
  sweep.add_configs();
  auto add = [&](int config, v1::Job job) {
    v1::SweepPoint* point = sweep.add_points();
    point->set_config(config);
    *point->mutable_job() = std::move(job);
  };
  add(0, FinishedJob({0.6, 0.7}, 0.7));
  add(0, FinishedJob({0.8, 0.9}, 0.9));
  add(0, FinishedJob({0.7, 0.8}, 0.8));
  add(1, FinishedJob({0.9, 0.95}, 0.85));
  v1::Job running = FinishedJob({0.5}, 0.0);
  running.set_state(v1::JOB_STATE_RUNNING);
  running.clear_final_metrics();
  add(1, running);
  SummarizeSweep(sweep);

  const v1::SweepConfig& first = sweep.configs(0);
  EXPECT_EQ(first.seeds(), 3);
  EXPECT_EQ(first.succeeded(), 3);
  ASSERT_EQ(first.epochs_size(), 2);
  const v1::MetricSummary& epoch1 = Metric(first.epochs(0).metrics(), "eval_accuracy");
  EXPECT_NEAR(epoch1.mean(), 0.7, 1e-12);
  EXPECT_NEAR(epoch1.std(), 0.1, 1e-12);  // sqrt(((-0.1)^2 + 0.1^2 + 0) / 2)
  EXPECT_EQ(epoch1.count(), 3);
  EXPECT_EQ(first.epochs(0).metrics(0).name(), "train_loss");
  EXPECT_NEAR(Metric(first.final(), "eval_accuracy").mean(), 0.8, 1e-12);

  const v1::SweepConfig& second = sweep.configs(1);
  EXPECT_EQ(second.seeds(), 2);
  EXPECT_EQ(second.succeeded(), 1);
  EXPECT_EQ(Metric(second.epochs(0).metrics(), "eval_accuracy").count(), 2);  // the running job's epoch 1 counts
  EXPECT_EQ(Metric(second.epochs(1).metrics(), "eval_accuracy").count(), 1);
  const v1::MetricSummary& alone = Metric(second.final(), "eval_accuracy");
  EXPECT_EQ(alone.count(), 1);
  EXPECT_EQ(alone.std(), 0.0);
  EXPECT_EQ(sweep.best_config(), 1);  // 0.85 over one seed beats 0.80
  EXPECT_EQ(sweep.jobs_total(), 5);
  EXPECT_EQ(sweep.jobs_finished(), 4);

  sweep.set_greater_is_better(false);
  SummarizeSweep(sweep);
  EXPECT_EQ(sweep.best_config(), 0);
}

class SweepStoreTest : public ScratchDirTest {};

TEST_F(SweepStoreTest, ASweepAndItsJobsAreStoredTogetherOrNotAtAll) {
  const std::string db = (dir_ / "jobs.db").string();
  v1::Sweep sweep;
  sweep.set_id("sweep-1");
  sweep.set_owner("alice");
  sweep.add_seeds(42);
  SetTimestamp(sweep.mutable_created_at(), 1700000000000);
  sweep.add_configs()->add_settings()->set_key("learning_rate");
  sweep.add_points()->set_job_id("job-a");
  std::vector<v1::Job> jobs(2);
  for (int i = 0; i < 2; ++i) {
    jobs[i].set_id(i == 0 ? "job-a" : "job-b");
    jobs[i].set_state(v1::JOB_STATE_QUEUED);
    jobs[i].set_spec_yaml(kSpec);
    jobs[i].set_world_size(1);
    jobs[i].set_device("cpu");
    jobs[i].set_sweep_id("sweep-1");
  }
  {
    SqliteJobStore store(db);
    EXPECT_EQ(store.InsertSweep(sweep, jobs).size(), 2u);
    // A second sweep whose job id is taken: neither the sweep nor any of its jobs is kept.
    v1::Sweep other = sweep;
    other.set_id("sweep-2");
    std::vector<v1::Job> clash = {jobs[0]};
    clash[0].set_id("job-c");
    clash.push_back(jobs[1]);
    EXPECT_THROW(store.InsertSweep(other, clash), Error);
  }
  SqliteJobStore reopened(db);
  const auto sweeps = reopened.LoadSweeps();
  ASSERT_EQ(sweeps.size(), 1u);
  EXPECT_EQ(sweeps[0].id(), "sweep-1");
  EXPECT_EQ(sweeps[0].owner(), "alice");
  EXPECT_EQ(sweeps[0].configs(0).settings(0).key(), "learning_rate");
  EXPECT_EQ(sweeps[0].points(0).job_id(), "job-a");
  const auto loaded = reopened.LoadJobs();
  ASSERT_EQ(loaded.size(), 2u);  // job-c of the refused sweep is not there
  EXPECT_EQ(loaded[1].job.id(), "job-b");
  EXPECT_EQ(loaded[1].job.sweep_id(), "sweep-1");
}

}  // namespace
}  // namespace bertfleet::coordinator
