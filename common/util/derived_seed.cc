#include "common/util/derived_seed.h"

namespace bertfleet {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t DeriveSeed(uint64_t seed, uint64_t counter) { return SplitMix64(SplitMix64(seed) + counter); }

}  // namespace bertfleet
