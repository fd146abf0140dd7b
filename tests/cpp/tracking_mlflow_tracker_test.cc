// MlflowTracker's queue, retries and flush limit against a fake MLflow server behind the
// HttpTransport interface (tests/python/test_report_to.py runs the real `mlflow server`).
#include "worker/engine/tracking/mlflow_tracker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

namespace bertfleet {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Answers MLflow's REST calls as `mlflow server --serve-artifacts` does; can be taken down
// (no response) or made to hang until aborted.
class FakeMlflow : public HttpTransport {
 public:
  struct State {
    std::mutex mutex;
    std::condition_variable changed;
    bool down = false;
    bool hang = false;
    bool aborted = false;
    long log_batch_status = 200;
    bool experiment_exists = false;
    std::vector<HttpRequest> requests;  // answered ones, in order
    int refused = 0;
  };

  explicit FakeMlflow(std::shared_ptr<State> state) : state_(std::move(state)) {}

  HttpResponse Send(const HttpRequest& request) override {
    std::unique_lock<std::mutex> lock(state_->mutex);
    state_->changed.wait(lock, [&] { return !state_->hang || state_->aborted; });
    if (state_->aborted) return {0, "", "aborted"};
    if (state_->down) {
      ++state_->refused;
      state_->changed.notify_all();
      return {0, "", "Connection refused"};
    }
    state_->requests.push_back(request);
    state_->changed.notify_all();
    const std::string& url = request.url;
    if (url.find("experiments/get-by-name") != std::string::npos) {
      if (!state_->experiment_exists) return {404, R"({"error_code":"RESOURCE_DOES_NOT_EXIST"})", ""};
      return {200, R"({"experiment":{"experiment_id":"3"}})", ""};
    }
    if (url.find("experiments/create") != std::string::npos) return {200, R"({"experiment_id":"7"})", ""};
    if (url.find("runs/create") != std::string::npos) {
      return {200, R"({"run":{"info":{"run_id":"r1","artifact_uri":"mlflow-artifacts:/7/r1/artifacts"}}})", ""};
    }
    if (url.find("runs/log-batch") != std::string::npos && state_->log_batch_status != 200) {
      return {state_->log_batch_status, R"({"error_code":"INVALID_PARAMETER_VALUE","message":"bad batch"})", ""};
    }
    return {200, "{}", ""};
  }

  void Abort() override {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->aborted = true;
    state_->changed.notify_all();
  }

 private:
  std::shared_ptr<State> state_;
};

class MlflowTrackerTest : public ::testing::Test {
 protected:
  std::unique_ptr<MlflowTracker> Make(MlflowSettings settings = {}) {
    settings.tracking_uri = "http://mlflow.test:5000/";
    if (settings.run_name.empty()) settings.run_name = "job-1";
    settings.first_retry = std::chrono::milliseconds(5);
    settings.max_retry = std::chrono::milliseconds(20);
    settings.warn = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(warnings_mutex_);
      warnings_.push_back(line);
    };
    return std::make_unique<MlflowTracker>(settings, std::make_unique<FakeMlflow>(state_));
  }

  std::vector<std::string> Paths() {
    std::vector<std::string> paths;
    std::lock_guard<std::mutex> lock(state_->mutex);
    for (const HttpRequest& request : state_->requests) {
      std::string path = request.url.substr(std::string("http://mlflow.test:5000").size());
      paths.push_back(request.method + " " + path.substr(0, path.find('?')));
    }
    return paths;
  }

  std::vector<json> Bodies(const std::string& endpoint) {
    std::vector<json> bodies;
    std::lock_guard<std::mutex> lock(state_->mutex);
    for (const HttpRequest& request : state_->requests) {
      if (request.url.find(endpoint) != std::string::npos) bodies.push_back(json::parse(request.json_body));
    }
    return bodies;
  }

  std::vector<std::string> Warnings() {
    std::lock_guard<std::mutex> lock(warnings_mutex_);
    return warnings_;
  }

  int CountWarnings(const std::string& part) {
    int count = 0;
    for (const std::string& line : Warnings()) count += line.find(part) != std::string::npos;
    return count;
  }

  std::shared_ptr<FakeMlflow::State> state_ = std::make_shared<FakeMlflow::State>();
  std::mutex warnings_mutex_;
  std::vector<std::string> warnings_;
};

fs::path ModelDir() {
  const fs::path dir = fs::temp_directory_path() / ("bertfleet-mlflow-model-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "checkpoint-4");
  std::ofstream(dir / "config.json") << "{}";
  std::ofstream(dir / "model.safetensors") << "weights";
  std::ofstream(dir / "checkpoint-4" / "model.safetensors") << "intermediate";
  return dir;
}

TEST_F(MlflowTrackerTest, SendsExperimentRunParamsMetricsModelAndEndInOrder) {
  const fs::path model = ModelDir();
  MlflowSettings settings;
  settings.experiment_name = "glue runs";
  settings.tags = {{"bertfleet.job_id", "job-1"}};
  auto tracker = Make(settings);
  std::vector<std::pair<std::string, std::string>> params;
  for (int i = 0; i < 150; ++i) params.emplace_back("p" + std::to_string(i), std::to_string(i));
  tracker->LogParams(params);
  tracker->Log({2, {{"loss", 0.69}, {"learning_rate", 2e-5}}});
  tracker->Log({4, {{"eval_accuracy", 0.75}}});
  tracker->Finish(model, RunOutcome::kFinished);
  fs::remove_all(model);

  const std::vector<std::string> paths = Paths();
  ASSERT_EQ(paths.size(), 10u) << ::testing::PrintToString(paths);
  EXPECT_EQ(paths[0], "GET /api/2.0/mlflow/experiments/get-by-name");
  EXPECT_EQ(paths[1], "POST /api/2.0/mlflow/experiments/create");
  EXPECT_EQ(paths[2], "POST /api/2.0/mlflow/runs/create");
  for (int i = 3; i < 7; ++i) EXPECT_EQ(paths[i], "POST /api/2.0/mlflow/runs/log-batch");
  // Top-level files only: the intermediate checkpoints are not the model.
  std::vector<std::string> uploads(paths.begin() + 7, paths.end() - 1);
  std::sort(uploads.begin(), uploads.end());
  EXPECT_THAT(uploads, ElementsAre("PUT /api/2.0/mlflow-artifacts/artifacts/7/r1/artifacts/model/config.json",
                                   "PUT /api/2.0/mlflow-artifacts/artifacts/7/r1/artifacts/model/model.safetensors"));
  EXPECT_EQ(paths.back(), "POST /api/2.0/mlflow/runs/update");

  EXPECT_EQ(Bodies("experiments/create")[0]["name"], "glue runs");
  const json run = Bodies("runs/create")[0];
  EXPECT_EQ(run["experiment_id"], "7");
  EXPECT_EQ(run["run_name"], "job-1");
  EXPECT_EQ(run["tags"][0]["key"], "bertfleet.job_id");
  const std::vector<json> batches = Bodies("runs/log-batch");
  EXPECT_EQ(batches[0]["params"].size(), 100u);  // MLflow's per-call limit
  EXPECT_EQ(batches[1]["params"].size(), 50u);
  EXPECT_EQ(batches[2]["metrics"][0]["key"], "loss");
  EXPECT_EQ(batches[2]["metrics"][0]["step"], 2);
  EXPECT_EQ(batches[3]["metrics"][0]["key"], "eval_accuracy");
  EXPECT_EQ(batches[3]["run_id"], "r1");
  EXPECT_EQ(Bodies("runs/update")[0]["status"], "FINISHED");
  EXPECT_EQ(tracker->run_id(), "r1");
  EXPECT_TRUE(Warnings().empty()) << ::testing::PrintToString(Warnings());
}

TEST_F(MlflowTrackerTest, ExperimentIdWinsAndExistingExperimentsAreFound) {
  MlflowSettings by_id;
  by_id.experiment_id = "12";
  by_id.experiment_name = "ignored";
  auto tracker = Make(by_id);
  tracker->Finish({}, RunOutcome::kFinished);
  EXPECT_EQ(Paths().front(), "POST /api/2.0/mlflow/runs/create");
  EXPECT_EQ(Bodies("runs/create")[0]["experiment_id"], "12");

  state_->requests.clear();
  state_->experiment_exists = true;
  MlflowSettings by_name;
  by_name.experiment_name = "glue";
  auto second = Make(by_name);
  second->Finish({}, RunOutcome::kFinished);
  EXPECT_EQ(Bodies("runs/create")[0]["experiment_id"], "3");
  EXPECT_THAT(Paths(), ::testing::Not(Contains("POST /api/2.0/mlflow/experiments/create")));

  state_->requests.clear();
  auto default_experiment = Make();
  default_experiment->Finish({}, RunOutcome::kFinished);
  EXPECT_EQ(Bodies("runs/create")[0]["experiment_id"], "0");
}

TEST_F(MlflowTrackerTest, UnreachableServerWarnsOnceAndEverythingArrivesWhenItReturns) {
  state_->down = true;
  auto tracker = Make();
  for (int step = 1; step <= 5; ++step) tracker->Log({step, {{"loss", 1.0 / step}}});
  {
    // Several refused attempts, backing off, before the server comes back.
    std::unique_lock<std::mutex> lock(state_->mutex);
    state_->changed.wait(lock, [&] { return state_->refused >= 3; });
    state_->down = false;
    state_->changed.notify_all();
  }
  tracker->Finish({}, RunOutcome::kFinished);
  EXPECT_EQ(CountWarnings("cannot reach http://mlflow.test:5000/"), 1) << ::testing::PrintToString(Warnings());
  EXPECT_EQ(CountWarnings("training goes on"), 1);
  EXPECT_EQ(CountWarnings("again"), 1);
  std::vector<int64_t> steps;
  for (const json& batch : Bodies("runs/log-batch")) steps.push_back(batch["metrics"][0]["step"]);
  EXPECT_THAT(steps, ElementsAre(1, 2, 3, 4, 5));
  EXPECT_EQ(tracker->dropped(), 0);
}

TEST_F(MlflowTrackerTest, HungServerNeverBlocksTrainingAndFinishGivesUpAfterTheFlushTimeout) {
  state_->hang = true;
  MlflowSettings settings;
  settings.queue_capacity = 8;
  settings.flush_timeout = std::chrono::milliseconds(1000);
  auto tracker = Make(settings);
  tracker->LogParams({{"task", "mrpc"}});
  // With a hung server every Log still returns (the test would hang otherwise); the queue keeps
  // the params and the newest metrics.
  for (int step = 1; step <= 100; ++step) tracker->Log({step, {{"loss", 0.5}}});
  EXPECT_GE(tracker->dropped(), 100 - 8);
  tracker->Finish({}, RunOutcome::kFinished);
  EXPECT_EQ(CountWarnings("gave up after 1 s with"), 1) << ::testing::PrintToString(Warnings());
  EXPECT_EQ(CountWarnings("records not sent to http://mlflow.test:5000/"), 1);
  EXPECT_EQ(CountWarnings(std::to_string(tracker->dropped()) + " metric records dropped"), 1);
  // Logging after the end is ignored, not queued for a sender that has gone.
  tracker->Log({101, {{"loss", 0.5}}});
}

TEST_F(MlflowTrackerTest, RefusedBatchIsReportedAndNotRetried) {
  state_->log_batch_status = 400;
  auto tracker = Make();
  tracker->Log({1, {{"loss", 0.5}}});
  tracker->Log({2, {{"loss", 0.4}}});
  tracker->Finish({}, RunOutcome::kFinished);
  EXPECT_EQ(CountWarnings("not logged: POST /api/2.0/mlflow/runs/log-batch: HTTP 400: bad batch"), 2)
      << ::testing::PrintToString(Warnings());
  EXPECT_EQ(Bodies("runs/log-batch").size(), 2u);  // once each
  EXPECT_EQ(Bodies("runs/update")[0]["status"], "FINISHED");
}

TEST_F(MlflowTrackerTest, StoppedAndFailedRunsEndWithoutTheModel) {
  const fs::path model = ModelDir();
  auto stopped = Make();
  stopped->Finish(model, RunOutcome::kStopped);
  EXPECT_EQ(Bodies("runs/update")[0]["status"], "KILLED");
  EXPECT_THAT(Paths(), ::testing::Each(::testing::Not(HasSubstr("PUT"))));

  state_->requests.clear();
  { auto abandoned = Make(); }  // destroyed without Finish: a run that threw
  EXPECT_EQ(Bodies("runs/update")[0]["status"], "FAILED");
  fs::remove_all(model);
}

TEST_F(MlflowTrackerTest, NonFiniteMetricsAndOverlongParamsAreLeftOut) {
  auto tracker = Make();
  tracker->LogParams({{"short", "x"}, {"long", std::string(7000, 'a')}});
  tracker->Log({1, {{"loss", std::nan("")}, {"grad_norm", 1.5}}});
  tracker->Finish({}, RunOutcome::kFinished);
  const std::vector<json> batches = Bodies("runs/log-batch");
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0]["params"].size(), 1u);
  EXPECT_EQ(batches[0]["params"][0]["key"], "short");
  ASSERT_EQ(batches[1]["metrics"].size(), 1u);
  EXPECT_EQ(batches[1]["metrics"][0]["key"], "grad_norm");
  EXPECT_EQ(CountWarnings("param long is 7000 characters, over MLflow's 6000: not logged"), 1);
}

}  // namespace
}  // namespace bertfleet
