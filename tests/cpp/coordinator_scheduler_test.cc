#include "coordinator/scheduler.h"

#include <gtest/gtest.h>

namespace bertfleet::coordinator {
namespace {

std::vector<std::string> Ids(const std::vector<Placement>& placements) {
  std::vector<std::string> ids;
  for (const auto& p : placements) ids.push_back(p.job_id);
  return ids;
}

TEST(SchedulerTest, PriorityFirstThenSubmissionOrder) {
  std::vector<QueuedJob> queued = {{"a", 0, 1, 1, "cpu"}, {"b", 5, 2, 1, "cpu"}, {"c", 0, 3, 1, "cpu"},
                                   {"d", 5, 4, 1, "cpu"}};
  auto placements = Schedule(queued, {{"cpu", {"w1", "w2", "w3"}}});
  EXPECT_EQ(Ids(placements), (std::vector<std::string>{"b", "d", "a"}));
  EXPECT_EQ(placements[0].worker_ids, std::vector<std::string>{"w1"});
  EXPECT_EQ(placements[2].worker_ids, std::vector<std::string>{"w3"});
}

TEST(SchedulerTest, GangNeedsAllRanksAndNeverGetsAPartialAllocation) {
  auto placements = Schedule({{"big", 0, 1, 3, "cpu"}}, {{"cpu", {"w1", "w2"}}});
  EXPECT_TRUE(placements.empty());
  placements = Schedule({{"big", 0, 1, 3, "cpu"}}, {{"cpu", {"w1", "w2", "w3", "w4"}}});
  ASSERT_EQ(placements.size(), 1u);
  EXPECT_EQ(placements[0].worker_ids, (std::vector<std::string>{"w1", "w2", "w3"}));
}

TEST(SchedulerTest, SmallerJobsBackfillBehindABlockedOne) {
  std::vector<QueuedJob> queued = {{"big", 10, 1, 3, "cpu"}, {"small", 0, 2, 1, "cpu"},
                                   {"pair", 0, 3, 2, "cpu"}};
  auto placements = Schedule(queued, {{"cpu", {"w1", "w2"}}});
  EXPECT_EQ(Ids(placements), (std::vector<std::string>{"small"}));  // pair no longer fits
}

TEST(SchedulerTest, AnElasticJobStartsOnWhatIsIdleButNeverBelowItsMinimum) {
  // world_size 4, min 2: one idle worker is too few; three give a gang of three; six give four.
  const QueuedJob elastic{"elastic", 0, 1, 4, "cpu", 2};
  EXPECT_TRUE(Schedule({elastic}, {{"cpu", {"w1"}}}).empty());
  auto placements = Schedule({elastic}, {{"cpu", {"w1", "w2", "w3"}}});
  ASSERT_EQ(placements.size(), 1u);
  EXPECT_EQ(placements[0].worker_ids, (std::vector<std::string>{"w1", "w2", "w3"}));
  placements = Schedule({elastic}, {{"cpu", {"w1", "w2", "w3", "w4", "w5", "w6"}}});
  ASSERT_EQ(placements.size(), 1u);
  EXPECT_EQ(placements[0].worker_ids.size(), 4u);
  // Priority still comes first: the elastic job shrinks to what the higher one leaves it.
  placements = Schedule({elastic, {"urgent", 5, 2, 2, "cpu"}}, {{"cpu", {"w1", "w2", "w3", "w4"}}});
  ASSERT_EQ(Ids(placements), (std::vector<std::string>{"urgent", "elastic"}));
  EXPECT_EQ(placements[1].worker_ids, (std::vector<std::string>{"w3", "w4"}));
}

TEST(SchedulerTest, DevicesArePooledSeparately) {
  std::vector<QueuedJob> queued = {{"gpu", 9, 1, 1, "cuda"}, {"cpu", 0, 2, 1, "cpu"}};
  auto placements = Schedule(queued, {{"cpu", {"c1"}}});
  EXPECT_EQ(Ids(placements), (std::vector<std::string>{"cpu"}));
  placements = Schedule(queued, {{"cpu", {"c1"}}, {"cuda", {"g1"}}});
  ASSERT_EQ(placements.size(), 2u);
  EXPECT_EQ(placements[0].worker_ids, std::vector<std::string>{"g1"});
}

}  // namespace
}  // namespace bertfleet::coordinator
