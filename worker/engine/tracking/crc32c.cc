#include "worker/engine/tracking/crc32c.h"

#include <generic_crc.h>

namespace bertfleet {

namespace {

// Reflected CRC-32C polynomial; "canonical" pre- and post-inverts, as RFC 3720 specifies.
using Crc64Tables = crcutil::GenericCrc<crcutil::uint64, crcutil::uint64, crcutil::uint64, 4>;
constexpr crcutil::uint64 kCastagnoliPolynomial = 0x82f63b78;

const Crc64Tables& Tables() {
  static const Crc64Tables* tables = new Crc64Tables(kCastagnoliPolynomial, 32, /*canonical=*/true);
  return *tables;
}

}  // namespace

uint32_t Crc32c(std::string_view bytes) {
  return static_cast<uint32_t>(Tables().CrcDefault(bytes.data(), bytes.size(), 0));
}

uint32_t MaskedCrc32c(std::string_view bytes) {
  const uint32_t crc = Crc32c(bytes);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

}  // namespace bertfleet
