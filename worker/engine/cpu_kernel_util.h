#pragma once
// Small helpers shared by bertfleet's hand-written CPU kernels (fast_dropout.cc,
// attention_softmax.cc): a counter-based random stream, bf16 <-> float bit conversions written
// so the compiler vectorises them, and the AVX-512 run-time check (the project compiles for
// baseline x86-64; kernels are built a second time with a target attribute).
#include <cmath>
#include <cstdint>
#include <cstring>

#define BERTFLEET_ALWAYS_INLINE __attribute__((always_inline)) inline
#if defined(__x86_64__) && defined(__GNUC__)
#define BERTFLEET_HAVE_AVX512_KERNELS 1
#define BERTFLEET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#else
#define BERTFLEET_HAVE_AVX512_KERNELS 0
#define BERTFLEET_AVX512
#endif

namespace bertfleet::kernels {

inline bool HaveAvx512() {
#if BERTFLEET_HAVE_AVX512_KERNELS
  static const bool have = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return have;
#else
  return false;
#endif
}

// "lowbias32" (C. Wellons), a bijective 32-bit integer hash.
BERTFLEET_ALWAYS_INLINE uint32_t Hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

inline uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Dropout keep/drop decisions for elements 0..2^31-1 of one tensor: element i is kept when
// Draw(i) >= threshold (threshold = p * 2^32), kept values are scaled by 1/(1-p).
struct DropoutStream {
  uint32_t s0 = 0, s1 = 0;
  uint32_t threshold = 0;
  float scale = 1.0f;
  BERTFLEET_ALWAYS_INLINE uint32_t Draw(uint32_t i) const { return Hash32(Hash32(i ^ s0) ^ s1); }
  BERTFLEET_ALWAYS_INLINE bool Keep(uint32_t i) const { return Draw(i) >= threshold; }
};

// The stream for the `block`-th 2^31 elements of a tensor whose mask is keyed by `seed`.
inline DropoutStream MakeDropoutStream(uint64_t seed, uint64_t block, double p) {
  const uint64_t key = Mix64(seed ^ Mix64(block));
  DropoutStream s;
  s.s0 = static_cast<uint32_t>(key);
  s.s1 = static_cast<uint32_t>(key >> 32);
  const double t = std::ldexp(p, 32);
  s.threshold = t >= 4294967295.0 ? 0xffffffffU : static_cast<uint32_t>(std::llround(t));
  s.scale = static_cast<float>(1.0 / (1.0 - p));
  return s;
}

BERTFLEET_ALWAYS_INLINE float Bf16ToFloat(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

BERTFLEET_ALWAYS_INLINE uint16_t FloatToBf16(float f) {  // round to nearest even, NaN stays NaN
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  const uint32_t rounded = (b + 0x7fffU + ((b >> 16) & 1U)) >> 16;
  return (b & 0x7fffffffU) > 0x7f800000U ? static_cast<uint16_t>((b >> 16) | 0x40U)
                                         : static_cast<uint16_t>(rounded);
}

}  // namespace bertfleet::kernels
