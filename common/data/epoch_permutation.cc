// Epoch order that is the same on every compiler and standard library: std::shuffle and
// std::uniform_int_distribution are implementation-defined, std::mt19937_64's output is not.
#include <random>
#include <utility>

#include "common/data/batching.h"
#include "common/util/derived_seed.h"
#include "common/util/error.h"

namespace bertfleet {
namespace {

// High 64 bits of a 64x64-bit product, without relying on a 128-bit integer type.
uint64_t MultiplyHigh(uint64_t a, uint64_t b) {
  const uint64_t a_lo = a & 0xFFFFFFFFULL, a_hi = a >> 32;
  const uint64_t b_lo = b & 0xFFFFFFFFULL, b_hi = b >> 32;
  const uint64_t lo_lo = a_lo * b_lo;
  const uint64_t hi_lo = a_hi * b_lo;
  const uint64_t lo_hi = a_lo * b_hi;
  const uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFFULL) + lo_hi;
  return a_hi * b_hi + (hi_lo >> 32) + (cross >> 32);
}

// Maps a uniform 64-bit draw to [0, bound) by fixed-point scaling (Lemire). Without the usual
// rejection step the bias is at most bound / 2^64, far below anything a dataset size can show,
// and every platform consumes exactly one engine output per draw.
uint64_t BoundedDraw(uint64_t random, uint64_t bound) { return MultiplyHigh(random, bound); }

}  // namespace

std::vector<int64_t> EpochPermutation(int64_t n, uint64_t seed, int64_t epoch) {
  if (n < 0) throw Error("EpochPermutation: n must be >= 0, got " + std::to_string(n));
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  // Neighbouring (seed, epoch) pairs start the engine from unrelated states.
  std::mt19937_64 engine(DeriveSeed(seed, static_cast<uint64_t>(epoch)));
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(BoundedDraw(engine(), static_cast<uint64_t>(i) + 1));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

}  // namespace bertfleet
