// Job spec paths must resolve inside the coordinator's roots: no "..", no absolute path
// elsewhere, no symbolic link that leads out (real directories and links in a temp dir).
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>

#include "error_of.h"
#include "scratch_dir.h"
#include "common/config/job_spec.h"
#include "common/util/error.h"
#include "coordinator/job_paths.h"

namespace bertfleet::coordinator {
namespace {

namespace fs = std::filesystem;

using testing::ErrorOf;

class JobPathsTest : public testing::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    base_ = dir_;
    data_ = base_ / "data";
    checkpoints_ = base_ / "checkpoints";
    fs::create_directories(data_ / "mrpc");
    fs::create_directories(data_ / "models" / "minilm");
    fs::create_directories(checkpoints_ / "job-1" / "checkpoint-10");
    fs::create_directories(base_ / "secret");
  }
  std::string Check(const JobSpec& spec) {
    return ErrorOf([&] { CheckJobPaths(spec, data_.string(), checkpoints_.string()); });
  }

  fs::path base_, data_, checkpoints_;
};

TEST_F(JobPathsTest, PathsInsideTheRootsPass) {
  JobSpec spec;
  EXPECT_EQ(Check(spec), "");  // hub model, downloaded data
  spec.data = "mrpc";
  spec.model = "models/minilm";
  EXPECT_EQ(Check(spec), "");
  spec.data = (data_ / "mrpc").string();
  spec.resume_from_checkpoint = (checkpoints_ / "job-1" / "checkpoint-10").string();
  EXPECT_EQ(Check(spec), "");
  spec.model = "org/not-downloaded-yet";  // a hub id: nothing on disk, still inside
  EXPECT_EQ(Check(spec), "");
}

TEST_F(JobPathsTest, DotDotAndAbsolutePathsOutsideAreRefusedNamingTheKey) {
  JobSpec spec;
  spec.data = "/datasets/mrpc";
  EXPECT_EQ(Check(spec), "data: /datasets/mrpc is outside the coordinator's data root " + data_.string());
  spec.data = (data_ / ".." / "secret").string();
  EXPECT_NE(Check(spec).find("data: "), std::string::npos);
  spec.data = "mrpc";
  spec.model = "../secret";
  EXPECT_NE(Check(spec).find("model: ../secret must not use '..'"), std::string::npos);
  spec.model = "models/minilm";
  spec.resume_from_checkpoint = (data_ / "mrpc").string();
  EXPECT_NE(Check(spec).find("resume_from_checkpoint: "), std::string::npos);
  EXPECT_NE(Check(spec).find("outside the coordinator's checkpoint root"), std::string::npos);
  spec.resume_from_checkpoint = "job-1/checkpoint-10";
  EXPECT_NE(Check(spec).find("resume_from_checkpoint: job-1/checkpoint-10 must be an absolute path"),
            std::string::npos);
}

TEST_F(JobPathsTest, OwnFilesMustBeInsideTheDataRoot) {
  JobSpec spec;
  spec.train_file = "tickets/train.csv";
  spec.validation_file = (data_ / "tickets" / "dev.jsonl").string();  // absolute inside the root
  EXPECT_EQ(Check(spec), "");
  spec.test_file = "../../etc/passwd.csv";
  EXPECT_NE(Check(spec).find("test_file: ../../etc/passwd.csv must not use '..'"), std::string::npos);
  spec.test_file = "";
  spec.validation_file = "/home/alice/dev.csv";
  EXPECT_EQ(Check(spec), "validation_file: /home/alice/dev.csv is outside the coordinator's data root " + data_.string());
  spec.validation_file = "";
  spec.train_file = "/srv/other/train.csv";
  EXPECT_NE(Check(spec).find("train_file: /srv/other/train.csv is outside"), std::string::npos);
}

TEST_F(JobPathsTest, SymbolicLinksOutOfTheRootAreRefused) {
  fs::create_directory_symlink(base_ / "secret", data_ / "escape");
  JobSpec spec;
  spec.data = "escape";
  std::string error = Check(spec);
  EXPECT_NE(error.find("data: escape leads outside the coordinator's data root"), std::string::npos) << error;
  spec.data = "escape/deeper/file";  // below the link, not existing: still outside
  EXPECT_NE(Check(spec).find("through a symbolic link"), std::string::npos);
  spec.data = "mrpc";
  spec.model = (data_ / "escape").string();
  EXPECT_NE(Check(spec).find("model: "), std::string::npos);
  // A link that stays inside the root is fine.
  fs::create_directory_symlink(data_ / "models" / "minilm", data_ / "current-model");
  spec.model = "current-model";
  EXPECT_EQ(Check(spec), "");
}

TEST_F(JobPathsTest, ARootThatIsItselfALinkStillWorks) {
  fs::create_directory_symlink(data_, base_ / "data-link");
  JobSpec spec;
  spec.data = "mrpc";
  EXPECT_EQ(ErrorOf([&] { CheckJobPaths(spec, (base_ / "data-link").string(), checkpoints_.string()); }), "");
}

}  // namespace
}  // namespace bertfleet::coordinator
