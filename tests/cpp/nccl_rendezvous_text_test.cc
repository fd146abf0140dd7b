// The NCCL group id as rank 0 publishes it: round trip, and errors that name the source.
#include "worker/engine/collective/rendezvous/nccl_rendezvous_text.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "tests/cpp/error_of.h"

namespace bertfleet {
namespace {

using testing::ErrorOf;

NcclRendezvous SomeRendezvous(const std::string& host = "10.1.2.3") {
  NcclRendezvous rendezvous;
  rendezvous.unique_id.resize(128);
  for (size_t i = 0; i < 128; ++i) rendezvous.unique_id[i] = static_cast<char>((i * 37 + 11) & 0xff);  // every nibble
  rendezvous.roll_host = host;
  rendezvous.roll_port = 40123;
  return rendezvous;
}

TEST(NcclRendezvousText, RoundTripsEveryByteAndTheRollAddress) {
  const std::string text = EncodeNcclRendezvous(SomeRendezvous());
  EXPECT_EQ(text.rfind("nccl:", 0), 0u);
  EXPECT_EQ(text.substr(5 + 256), "@10.1.2.3:40123");
  EXPECT_EQ(text.substr(5, 256).find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_TRUE(IsNcclRendezvous(text));
  const NcclRendezvous back = DecodeNcclRendezvous(text, "--rendezvous");
  EXPECT_EQ(back.unique_id, SomeRendezvous().unique_id);
  EXPECT_EQ(back.roll_host, "10.1.2.3");
  EXPECT_EQ(back.roll_port, 40123);
}

TEST(NcclRendezvousText, AnIpv6RollAddressIsBracketed) {
  const std::string text = EncodeNcclRendezvous(SomeRendezvous("fd00::7"));
  EXPECT_EQ(text.substr(5 + 256), "@[fd00::7]:40123");
  EXPECT_EQ(DecodeNcclRendezvous(text, "x").roll_host, "fd00::7");
}

TEST(NcclRendezvousText, AcceptsUppercaseDigits) {
  std::string text = EncodeNcclRendezvous(SomeRendezvous());
  for (size_t i = 5; i < 5 + 256; ++i) text[i] = static_cast<char>(std::toupper(text[i]));
  EXPECT_EQ(DecodeNcclRendezvous(text, "x").unique_id, SomeRendezvous().unique_id);
}

TEST(NcclRendezvousText, AGlooAddressIsNotAnNcclRendezvous) {
  EXPECT_FALSE(IsNcclRendezvous("10.0.0.7:29500"));
  EXPECT_EQ(ErrorOf([] { DecodeNcclRendezvous("10.0.0.7:29500", "--rendezvous-address"); }),
            "--rendezvous-address: expected rank 0's NCCL rendezvous (\"nccl:\" and 256 hex digits, \"@\", rank 0's "
            "HOST:PORT), got \"10.0.0.7:29500\"");
}

TEST(NcclRendezvousText, CutOffTextNamesItsSource) {
  const std::string text = EncodeNcclRendezvous(SomeRendezvous()).substr(0, 100);
  EXPECT_EQ(ErrorOf([&] { DecodeNcclRendezvous(text, "/tmp/rdv"); }),
            "/tmp/rdv: the NCCL rendezvous has 95 hex digits, expected 256 (was it cut off?)");
  const std::string no_roll = EncodeNcclRendezvous(SomeRendezvous()).substr(0, 5 + 256);
  EXPECT_EQ(ErrorOf([&] { DecodeNcclRendezvous(no_roll, "/tmp/rdv"); }),
            "/tmp/rdv: the NCCL rendezvous lacks \"@HOST:PORT\" (rank 0's arrival roll)");
}

TEST(NcclRendezvousText, NonHexCharacterIsReportedWithItsPosition) {
  std::string text = EncodeNcclRendezvous(SomeRendezvous());
  text[5 + 17] = 'g';
  EXPECT_EQ(ErrorOf([&] { DecodeNcclRendezvous(text, "--rendezvous"); }),
            "--rendezvous: the NCCL rendezvous has a non-hex character at position 22");
}

TEST(NcclRendezvousText, BadRollPortIsReported) {
  std::string text = EncodeNcclRendezvous(SomeRendezvous());
  text.replace(text.rfind(':'), std::string::npos, ":99999");
  EXPECT_NE(ErrorOf([&] { DecodeNcclRendezvous(text, "--rendezvous"); }).find("port must be at most 65535"),
            std::string::npos);
}

TEST(NcclRendezvousText, EncodingRefusesAnIdOfTheWrongSize) {
  NcclRendezvous rendezvous = SomeRendezvous();
  rendezvous.unique_id.resize(64);
  EXPECT_NE(ErrorOf([&] { EncodeNcclRendezvous(rendezvous); }).find("64 bytes, expected 128"), std::string::npos);
}

}  // namespace
}  // namespace bertfleet
