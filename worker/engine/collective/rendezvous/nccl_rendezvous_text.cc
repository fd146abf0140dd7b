#include "worker/engine/collective/rendezvous/nccl_rendezvous_text.h"

#include <cstring>
#include <tuple>

#include "common/util/error.h"
#include "common/util/host_port.h"

namespace bertfleet {

namespace {

constexpr size_t kUniqueIdBytes = 128;  // sizeof(ncclUniqueId), checked in nccl_group.cc
constexpr char kHexDigits[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string EncodeNcclRendezvous(const NcclRendezvous& rendezvous) {
  const std::string& unique_id = rendezvous.unique_id;
  if (unique_id.size() != kUniqueIdBytes) {
    throw Error("NCCL rendezvous: the group id has " + std::to_string(unique_id.size()) + " bytes, expected " +
                std::to_string(kUniqueIdBytes));
  }
  std::string text = kNcclRendezvousPrefix;
  for (const char byte : unique_id) {
    const auto value = static_cast<unsigned char>(byte);
    text += kHexDigits[value >> 4];
    text += kHexDigits[value & 15];
  }
  return text + "@" + FormatHostPort(rendezvous.roll_host, rendezvous.roll_port);
}

bool IsNcclRendezvous(const std::string& text) {
  return text.compare(0, std::strlen(kNcclRendezvousPrefix), kNcclRendezvousPrefix) == 0;
}

NcclRendezvous DecodeNcclRendezvous(const std::string& text, const std::string& source) {
  const size_t prefix = std::strlen(kNcclRendezvousPrefix);
  if (!IsNcclRendezvous(text)) {
    throw Error(source + ": expected rank 0's NCCL rendezvous (\"nccl:\" and " + std::to_string(2 * kUniqueIdBytes) +
                " hex digits, \"@\", rank 0's HOST:PORT), got \"" + text.substr(0, 40) + (text.size() > 40 ? "..." : "") + "\"");
  }
  const size_t at = text.find('@', prefix);
  const std::string digits = text.substr(prefix, at == std::string::npos ? std::string::npos : at - prefix);
  if (digits.size() != 2 * kUniqueIdBytes) {
    throw Error(source + ": the NCCL rendezvous has " + std::to_string(digits.size()) + " hex digits, expected " +
                std::to_string(2 * kUniqueIdBytes) + " (was it cut off?)");
  }
  if (at == std::string::npos) throw Error(source + ": the NCCL rendezvous lacks \"@HOST:PORT\" (rank 0's arrival roll)");
  NcclRendezvous rendezvous;
  std::tie(rendezvous.roll_host, rendezvous.roll_port) = ParseHostPort(text.substr(at + 1), source);
  std::string& bytes = rendezvous.unique_id;
  bytes.assign(kUniqueIdBytes, '\0');
  for (size_t i = 0; i < kUniqueIdBytes; ++i) {
    const int high = HexValue(digits[2 * i]);
    const int low = HexValue(digits[2 * i + 1]);
    if (high < 0 || low < 0) {
      throw Error(source + ": the NCCL rendezvous has a non-hex character at position " +
                  std::to_string(prefix + 2 * i + (high < 0 ? 0 : 1)));
    }
    bytes[i] = static_cast<char>(high << 4 | low);
  }
  return rendezvous;
}

}  // namespace bertfleet
