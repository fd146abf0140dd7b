// The NCCL group id as rank 0 publishes it: round trip, and errors that name the source.
#include "common/util/nccl_rendezvous_text.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/cpp/error_of.h"

namespace bertfleet {
namespace {

using testing::ErrorOf;

std::string SomeId() {
  std::string id(128, '\0');
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<char>((i * 37 + 11) & 0xff);  // every nibble value occurs
  return id;
}

TEST(NcclRendezvousText, RoundTripsEveryByte) {
  const std::string text = EncodeNcclRendezvous(SomeId());
  EXPECT_EQ(text.rfind("nccl:", 0), 0u);
  EXPECT_EQ(text.size(), 5u + 256u);
  EXPECT_EQ(text.find_first_not_of("0123456789abcdef", 5), std::string::npos);
  EXPECT_TRUE(IsNcclRendezvous(text));
  EXPECT_EQ(DecodeNcclRendezvous(text, "--rendezvous"), SomeId());
}

TEST(NcclRendezvousText, AcceptsUppercaseDigits) {
  std::string text = EncodeNcclRendezvous(SomeId());
  for (size_t i = 5; i < text.size(); ++i) text[i] = static_cast<char>(std::toupper(text[i]));
  EXPECT_EQ(DecodeNcclRendezvous(text, "x"), SomeId());
}

TEST(NcclRendezvousText, AGlooAddressIsNotAnNcclRendezvous) {
  EXPECT_FALSE(IsNcclRendezvous("10.0.0.7:29500"));
  EXPECT_EQ(ErrorOf([] { DecodeNcclRendezvous("10.0.0.7:29500", "--rendezvous-address"); }),
            "--rendezvous-address: expected rank 0's NCCL rendezvous (\"nccl:\" and 256 hex digits), got "
            "\"10.0.0.7:29500\"");
}

TEST(NcclRendezvousText, CutOffTextNamesItsSource) {
  const std::string text = EncodeNcclRendezvous(SomeId()).substr(0, 100);
  EXPECT_EQ(ErrorOf([&] { DecodeNcclRendezvous(text, "/tmp/rdv"); }),
            "/tmp/rdv: the NCCL rendezvous has 95 hex digits, expected 256 (was it cut off?)");
}

TEST(NcclRendezvousText, NonHexCharacterIsReportedWithItsPosition) {
  std::string text = EncodeNcclRendezvous(SomeId());
  text[5 + 17] = 'g';
  EXPECT_EQ(ErrorOf([&] { DecodeNcclRendezvous(text, "--rendezvous"); }),
            "--rendezvous: the NCCL rendezvous has a non-hex character at position 22");
}

TEST(NcclRendezvousText, EncodingRefusesAnIdOfTheWrongSize) {
  EXPECT_NE(ErrorOf([] { EncodeNcclRendezvous(std::string(64, 'a')); }).find("64 bytes, expected 128"),
            std::string::npos);
}

}  // namespace
}  // namespace bertfleet
