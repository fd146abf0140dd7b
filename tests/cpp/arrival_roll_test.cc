// Rank 0's arrival roll over real loopback sockets: who checked in, who did not, and a rank 0
// that never came.
#include "worker/engine/collective/rendezvous/arrival_roll.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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
  std::thread one([&] { CheckInWithRoll("127.0.0.1", roll.port(), 1, 5, 5s); });
  std::thread three([&] { CheckInWithRoll("127.0.0.1", roll.port(), 3, 5, 5s); });
  one.join();
  three.join();
  // CheckInWithRoll returns only after the roll acknowledged the rank.
  EXPECT_EQ(roll.Missing(), (std::vector<int>{2, 4}));
  EXPECT_EQ(DescribeMissingRanks(roll.Missing()), "ranks 2, 4 did not join");
  CheckInWithRoll("127.0.0.1", roll.port(), 2, 5, 5s);
  CheckInWithRoll("127.0.0.1", roll.port(), 4, 5, 5s);
  EXPECT_TRUE(roll.Missing().empty());
  EXPECT_EQ(DescribeMissingRanks({}), "");
}

TEST(ArrivalRoll, RefusesARankOfAnotherWorldSizeOrOutsideTheGroup) {
  ArrivalRoll roll("127.0.0.1", 2);
  EXPECT_EQ(ErrorOf([&] { CheckInWithRoll("127.0.0.1", roll.port(), 1, 3, 5s); }),
            "rank 1 of 3: rank 0's group at 127.0.0.1:" + std::to_string(roll.port()) +
                " has world size 2, which has no rank 1 of 3 (do all ranks run the same job?)");
  EXPECT_NE(ErrorOf([&] { CheckInWithRoll("127.0.0.1", roll.port(), 7, 2, 5s); }).find("has world size 2"),
            std::string::npos);
  EXPECT_EQ(roll.Missing(), (std::vector<int>{1}));
  EXPECT_EQ(DescribeMissingRanks(roll.Missing()), "rank 1 did not join");
}

TEST(ArrivalRoll, ListensOnABracketedIpv6Host) {
  const int probe = ::socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 loopback{};
  loopback.sin6_family = AF_INET6;
  loopback.sin6_addr = in6addr_loopback;
  const bool has_ipv6 = probe >= 0 && ::bind(probe, reinterpret_cast<sockaddr*>(&loopback), sizeof loopback) == 0;
  if (probe >= 0) ::close(probe);
  if (!has_ipv6) GTEST_SKIP() << "no IPv6 loopback on this machine";
  ArrivalRoll roll("[::1]", 2);
  CheckInWithRoll("::1", roll.port(), 1, 2, 5s);
  EXPECT_TRUE(roll.Missing().empty());
}

TEST(ArrivalRoll, AnUnresolvableHostFailsAtOnce) {
  const auto start = std::chrono::steady_clock::now();
  const std::string error = ErrorOf([] { CheckInWithRoll("no-such-host.invalid", 1, 1, 2, 30s); });
  EXPECT_NE(error.find("rank 1 of 2: rank 0's host 'no-such-host.invalid' (from its rendezvous) does not resolve"),
            std::string::npos)
      << error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
}

TEST(ArrivalRoll, ARankWithoutRankZeroFailsWithinItsTimeoutNamingRankZero) {
  int unused_port = 0;
  {
    ArrivalRoll gone("127.0.0.1", 2);  // a port that was free a moment ago and is closed now
    unused_port = gone.port();
  }
  const auto start = std::chrono::steady_clock::now();
  const std::string error = ErrorOf([&] { CheckInWithRoll("127.0.0.1", unused_port, 1, 2, 1s); });
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_NE(error.find("rank 1 of 2: no answer from rank 0's arrival roll at 127.0.0.1:" +
                       std::to_string(unused_port) + " within 1.0 s"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("rank 0 did not arrive, or has already failed"), std::string::npos) << error;
  EXPECT_GE(took, 1s);
  EXPECT_LT(took, 5s);
}

}  // namespace
}  // namespace bertfleet
