#include "common/train/classification_metrics.h"

#include <gtest/gtest.h>

#include "common/train/lr_schedule.h"
#include "common/util/error.h"

namespace bertfleet {
namespace {

TEST(ConfusionCounts, AccuracyAndF1FromCounts) {
  ConfusionCounts counts;
  const int labels[] = {1, 1, 1, 0, 0, 1, 0, 1};
  const int predictions[] = {1, 0, 1, 0, 1, 1, 0, 0};
  for (int i = 0; i < 8; ++i) counts.Add(labels[i], predictions[i]);
  EXPECT_EQ(counts.true_positive, 3);
  EXPECT_EQ(counts.false_negative, 2);
  EXPECT_EQ(counts.false_positive, 1);
  EXPECT_EQ(counts.true_negative, 2);
  EXPECT_DOUBLE_EQ(counts.Accuracy(), 5.0 / 8.0);
  EXPECT_DOUBLE_EQ(counts.F1(), 2.0 * 3 / (2.0 * 3 + 1 + 2));
}

TEST(ConfusionCounts, SumsOfShardsEqualTheWhole) {
  ConfusionCounts whole, first, second;
  for (int i = 0; i < 50; ++i) {
    const int label = (i * 7) % 3 == 0;
    const int prediction = (i * 5) % 4 != 0;
    whole.Add(label, prediction);
    (i < 23 ? first : second).Add(label, prediction);
  }
  first += second;
  EXPECT_EQ(first.total(), whole.total());
  EXPECT_DOUBLE_EQ(first.Accuracy(), whole.Accuracy());
  EXPECT_DOUBLE_EQ(first.F1(), whole.F1());
}

TEST(ConfusionCounts, NoPositivesAnywhereGivesZeroF1LikeScikitLearn) {
  ConfusionCounts counts;
  counts.Add(0, 0);
  counts.Add(0, 0);
  EXPECT_DOUBLE_EQ(counts.F1(), 0.0);
  EXPECT_DOUBLE_EQ(counts.Accuracy(), 1.0);
}

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
