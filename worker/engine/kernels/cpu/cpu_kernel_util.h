#pragma once
// Small helpers shared by bertfleet's hand-written CPU kernels (dropout.cc, attention_softmax.cc,
// torch_dropout_draws.cc): bf16 <-> float bit conversions written so the compiler vectorises
// them, and the AVX-512 run-time check (the project compiles for baseline x86-64; kernels are
// built a second time with a target attribute).
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
