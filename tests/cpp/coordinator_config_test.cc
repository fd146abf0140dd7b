#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "error_of.h"
#include "common/util/error.h"
#include "coordinator/config.h"

namespace bertfleet::coordinator {
namespace {

using testing::ErrorOf;

TEST(CoordinatorConfigTest, FileThenFlags) {
  auto config = ParseCoordinatorConfig(
      "listen: 127.0.0.1:0\ndb: /tmp/x.db\nlease_ms: 3000\nheartbeat_interval_ms: 500\nlog_format: json\n",
      "c.yaml");
  EXPECT_EQ(config.listen, "127.0.0.1:0");
  EXPECT_EQ(config.db, "/tmp/x.db");
  EXPECT_EQ(config.lease_ms, 3000);
  EXPECT_EQ(config.log_format, "json");
  auto flags = *LoadCoordinatorConfig({"--listen", "0.0.0.0:7000", "--db=/tmp/y.db", "--data-root", "/data"});
  EXPECT_EQ(flags.listen, "0.0.0.0:7000");
  EXPECT_EQ(flags.db, "/tmp/y.db");
  EXPECT_EQ(flags.data_root, "/data");
}

TEST(CoordinatorConfigTest, ErrorsNameFileAndKey) {
  EXPECT_EQ(ErrorOf([] { ParseCoordinatorConfig("lisen: x\n", "c.yaml"); }), "c.yaml: unknown key 'lisen'");
  EXPECT_EQ(ErrorOf([] { ParseCoordinatorConfig("lease_ms: soon\n", "c.yaml"); }), "c.yaml: lease_ms: wrong type");
  EXPECT_NE(ErrorOf([] { ParseCoordinatorConfig("lease_ms: 100\n", "c.yaml"); }).find("heartbeat_interval_ms"),
            std::string::npos);
}

}  // namespace
}  // namespace bertfleet::coordinator
