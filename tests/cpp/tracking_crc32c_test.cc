// CRC-32C as TFRecord needs it: the RFC 3720 (iSCSI) test vectors, and TFRecord's mask.
#include "worker/engine/tracking/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace bertfleet {
namespace {

std::string Bytes(int count, int first, int stride) {
  std::string bytes;
  for (int i = 0; i < count; ++i) bytes.push_back(static_cast<char>((first + stride * i) & 0xff));
  return bytes;
}

TEST(Crc32c, Rfc3720Vectors) {
  EXPECT_EQ(Crc32c(Bytes(32, 0, 0)), 0x8a9136aau);
  EXPECT_EQ(Crc32c(Bytes(32, 0xff, 0)), 0x62a8ab43u);
  EXPECT_EQ(Crc32c(Bytes(32, 0, 1)), 0x46dd794eu);
  EXPECT_EQ(Crc32c(Bytes(32, 31, -1)), 0x113fdb5cu);
  EXPECT_EQ(Crc32c("123456789"), 0xe3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
}

TEST(Crc32c, MaskIsTfRecords) {
  // masked = rotate_right(crc, 15) + 0xa282ead8 (tensorflow/core/lib/hash/crc32c.h).
  for (const std::string& text : {std::string("123456789"), Bytes(32, 0, 1), std::string("")}) {
    const uint32_t crc = Crc32c(text);
    EXPECT_EQ(MaskedCrc32c(text), static_cast<uint32_t>(((crc >> 15) | (crc << 17)) + 0xa282ead8u)) << text;
  }
}

}  // namespace
}  // namespace bertfleet
