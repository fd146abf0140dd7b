// Which trackers a report_to list builds, where TensorBoard writes, and the errors that stop a
// job before it trains.
#include "worker/engine/tracking/make_run_trackers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "tests/cpp/error_of.h"
#include "worker/engine/tracking/tensorboard_writer.h"

namespace bertfleet {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class MakeRunTrackersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name :
         {"MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "BERTFLEET_MLFLOW_FLUSH_SECONDS"}) {
      if (const char* value = std::getenv(name)) saved_.emplace_back(name, value);
      ::unsetenv(name);
    }
    // The trackers built here reach no server: their end must not wait the default 30 s for one.
    ::setenv("BERTFLEET_MLFLOW_FLUSH_SECONDS", "0", 1);
    dir_ = fs::temp_directory_path() / ("bertfleet-trackers-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    cwd_ = fs::current_path();
    fs::current_path(dir_);  // relative output directories resolve here
  }
  void TearDown() override {
    fs::current_path(cwd_);
    fs::remove_all(dir_);
    ::unsetenv("BERTFLEET_MLFLOW_FLUSH_SECONDS");
    for (const auto& [name, value] : saved_) ::setenv(name.c_str(), value.c_str(), 1);
  }

  static TrackingOptions Options(std::vector<std::string> report_to, fs::path output) {
    TrackingOptions options;
    options.report_to = std::move(report_to);
    options.output_dir = std::move(output);
    return options;
  }

  static fs::path TensorBoardDir(const std::vector<std::unique_ptr<RunTracker>>& trackers) {
    for (const auto& tracker : trackers) {
      if (auto* writer = dynamic_cast<TensorBoardWriter*>(tracker.get())) return writer->path().parent_path();
    }
    return {};
  }

  fs::path dir_, cwd_;
  std::vector<std::pair<std::string, std::string>> saved_;
};

TEST_F(MakeRunTrackersTest, DefaultLoggingDirIsOutputRunsDateHostForRelativeAndAbsoluteOutputs) {
  for (const fs::path& output : {fs::path("out"), dir_ / "abs-out"}) {
    const auto trackers = MakeRunTrackers(Options({"tensorboard"}, output));
    ASSERT_EQ(trackers.size(), 1u);
    const fs::path logging = TensorBoardDir(trackers);
    EXPECT_EQ(logging.parent_path(), output / "runs") << output;
    EXPECT_TRUE(fs::is_directory(logging)) << logging;
  }
  EXPECT_FALSE(fs::exists("out/out")) << "a relative output directory was applied twice";
}

TEST_F(MakeRunTrackersTest, RelativeLoggingDirIsInsideTheOutputAbsoluteIsItself) {
  TrackingOptions relative = Options({"tensorboard"}, "out");
  relative.logging_dir = "tb/run1";
  EXPECT_EQ(TensorBoardDir(MakeRunTrackers(relative)), fs::path("out/tb/run1"));
  TrackingOptions absolute = Options({"tensorboard"}, "out");
  absolute.logging_dir = (dir_ / "elsewhere").string();
  EXPECT_EQ(TensorBoardDir(MakeRunTrackers(absolute)), dir_ / "elsewhere");
}

TEST_F(MakeRunTrackersTest, MlflowNeedsAnHttpTrackingUri) {
  EXPECT_THAT(testing::ErrorOf([] { MakeRunTrackers(Options({"mlflow"}, "out")); }),
              HasSubstr("report_to: mlflow needs a tracking server: set MLFLOW_TRACKING_URI"));
  ::setenv("MLFLOW_TRACKING_URI", "file:///tmp/mlruns", 1);
  EXPECT_THAT(testing::ErrorOf([] { MakeRunTrackers(Options({"mlflow"}, "out")); }),
              HasSubstr("must be an http:// or https:// MLflow server (got file:///tmp/mlruns"));
  TrackingOptions from_coordinator = Options({"mlflow"}, "out");
  from_coordinator.mlflow_tracking_uri = "http://127.0.0.1:9";  // the coordinator's wins over the env
  const auto trackers = MakeRunTrackers(from_coordinator);
  ASSERT_EQ(trackers.size(), 1u);
  EXPECT_EQ(trackers[0]->name(), "mlflow");
  ::setenv("BERTFLEET_MLFLOW_FLUSH_SECONDS", "soon", 1);
  EXPECT_THAT(testing::ErrorOf([&] { MakeRunTrackers(from_coordinator); }),
              HasSubstr("BERTFLEET_MLFLOW_FLUSH_SECONDS must be a number of seconds >= 0 (got soon)"));
  ::setenv("BERTFLEET_MLFLOW_FLUSH_SECONDS", "0", 1);
}

TEST_F(MakeRunTrackersTest, AllIsTensorBoardPlusMlflowWhenAServerIsSet) {
  auto names = [](const std::vector<std::unique_ptr<RunTracker>>& trackers) {
    std::vector<std::string> out;
    for (const auto& tracker : trackers) out.push_back(tracker->name());
    return out;
  };
  EXPECT_EQ(names(MakeRunTrackers(Options({"all"}, "out"))), std::vector<std::string>{"tensorboard"});
  ::setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9", 1);
  EXPECT_EQ(names(MakeRunTrackers(Options({"all"}, "out"))), (std::vector<std::string>{"tensorboard", "mlflow"}));
  EXPECT_TRUE(MakeRunTrackers(Options({}, "out")).empty());
}

}  // namespace
}  // namespace bertfleet
