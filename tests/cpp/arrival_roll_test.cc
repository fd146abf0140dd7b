// Rank 0's arrival roll over real loopback sockets: who checked in, who did not, and a rank 0
// that never came.
#include "common/util/arrival_roll.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "tests/cpp/error_of.h"

namespace bertfleet {
namespace {

using testing::ErrorOf;
using namespace std::chrono_literals;

TEST(ArrivalRoll, NamesTheRanksThatNeverCheckedIn) {
  ArrivalRoll roll("127.0.0.1", 5);
  EXPECT_GT(roll.port(), 0);
  EXPECT_EQ(roll.Missing(), (std::vector<int>{1, 2, 3, 4}));
  std::thread one([&] { CheckInWithRoll("127.0.0.1", roll.port(), 1, 5s); });
  std::thread three([&] { CheckInWithRoll("127.0.0.1", roll.port(), 3, 5s); });
  one.join();
  three.join();
  // CheckInWithRoll returns only after the roll acknowledged the rank.
  EXPECT_EQ(roll.Missing(), (std::vector<int>{2, 4}));
  EXPECT_EQ(DescribeMissingRanks(roll.Missing()), "ranks 2, 4 did not join");
  CheckInWithRoll("127.0.0.1", roll.port(), 2, 5s);
  CheckInWithRoll("127.0.0.1", roll.port(), 4, 5s);
  EXPECT_TRUE(roll.Missing().empty());
  EXPECT_EQ(DescribeMissingRanks({}), "");
}

TEST(ArrivalRoll, IgnoresRanksOutsideTheGroup) {
  ArrivalRoll roll("127.0.0.1", 2);
  CheckInWithRoll("127.0.0.1", roll.port(), 7, 5s);  // acknowledged, but not a member
  EXPECT_EQ(roll.Missing(), (std::vector<int>{1}));
  EXPECT_EQ(DescribeMissingRanks(roll.Missing()), "rank 1 did not join");
}

TEST(ArrivalRoll, ARankWithoutRankZeroFailsWithinItsTimeoutNamingRankZero) {
  int unused_port = 0;
  {
    ArrivalRoll gone("127.0.0.1", 2);  // a port that was free a moment ago and is closed now
    unused_port = gone.port();
  }
  const auto start = std::chrono::steady_clock::now();
  const std::string error = ErrorOf([&] { CheckInWithRoll("127.0.0.1", unused_port, 1, 1s); });
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_NE(error.find("rank 1: rank 0's arrival roll at 127.0.0.1:" + std::to_string(unused_port) +
                       " cannot be reached within 1 s"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("rank 0 did not arrive"), std::string::npos) << error;
  EXPECT_GE(took, 1s);
  EXPECT_LT(took, 5s);
}

}  // namespace
}  // namespace bertfleet
