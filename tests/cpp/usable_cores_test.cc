#include "common/util/usable_cores.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <thread>

namespace bertfleet {
namespace {

int CpusInMask() {
  cpu_set_t mask;
  if (sched_getaffinity(0, sizeof mask, &mask) != 0) return 0;
  return CPU_COUNT(&mask);
}

// Runs `check` on a thread whose affinity mask holds the first `count` CPUs of this process's.
template <typename Check>
void OnCpus(int count, Check check) {
  std::thread worker([&] {
    cpu_set_t mask;
    ASSERT_EQ(sched_getaffinity(0, sizeof mask, &mask), 0);
    cpu_set_t some;
    CPU_ZERO(&some);
    for (int cpu = 0, taken = 0; taken < count; ++cpu) {
      if (CPU_ISSET(cpu, &mask)) CPU_SET(cpu, &some), ++taken;
    }
    ASSERT_EQ(sched_setaffinity(0, sizeof some, &some), 0);
    check();
  });
  worker.join();
}

TEST(UsableCores, FollowsTheAffinityMask) {
  OnCpus(1, [] { EXPECT_EQ(UsableCores(), 1); });
  if (CpusInMask() >= 2) OnCpus(2, [] { EXPECT_EQ(UsableCores(), 2); });
  EXPECT_GE(UsableCores(), 1);
  EXPECT_LE(UsableCores(), static_cast<int>(std::thread::hardware_concurrency()));
}

}  // namespace
}  // namespace bertfleet
