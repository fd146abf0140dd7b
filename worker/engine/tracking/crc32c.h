#pragma once
// CRC-32C (Castagnoli), as TFRecord framing uses it, computed by crcutil (Debian's
// libcrcutil-dev). Checked against the RFC 3720 test vectors (tests/cpp/tracking_crc32c_test.cc).
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace bertfleet {

uint32_t Crc32c(std::string_view bytes);

// TFRecord's masked CRC: rotated right by 15 bits plus a constant, so that a CRC stored inside
// CRC-checked data does not make the outer CRC trivial.
uint32_t MaskedCrc32c(std::string_view bytes);

}  // namespace bertfleet
