#include "common/train/lr_schedule.h"

#include <gtest/gtest.h>

#include <string>

#include "common/util/error.h"

namespace bertfleet {
namespace {

TEST(LearningRateSchedule, LinearWarmupThenDecayToZero) {
  LearningRateSchedule schedule("linear", 10, 110);
  EXPECT_DOUBLE_EQ(schedule.Multiplier(0), 0.0);
  EXPECT_DOUBLE_EQ(schedule.Multiplier(5), 0.5);
  EXPECT_DOUBLE_EQ(schedule.Multiplier(10), 1.0);
  EXPECT_DOUBLE_EQ(schedule.Multiplier(60), 0.5);
  EXPECT_DOUBLE_EQ(schedule.Multiplier(110), 0.0);
  EXPECT_DOUBLE_EQ(schedule.Multiplier(200), 0.0);
}

TEST(LearningRateSchedule, WarmupStepsFollowHuggingFace) {
  EXPECT_EQ(LearningRateSchedule::WarmupSteps(0, 0.1, 690), 69);
  EXPECT_EQ(LearningRateSchedule::WarmupSteps(0, 0.1, 691), 70);  // ceil
  EXPECT_EQ(LearningRateSchedule::WarmupSteps(5, 0.5, 690), 5);   // steps win over ratio
}

TEST(LearningRateSchedule, UnknownKindNamesTheChoices) {
  try {
    LearningRateSchedule("triangular", 0, 10);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("lr_scheduler_type"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("triangular"), std::string::npos);
  }
}

}  // namespace
}  // namespace bertfleet
