#pragma once
// The row loops of the fused attention softmax (attention_softmax.cc) and of packed attention
// (packed_attention.cc): softmax over a row's keys with dropout, and its backward pass, in fp32
// whatever the storage type, each as a baseline x86-64 and an AVX-512 build (SoftmaxForward and
// SoftmaxBackward pick the build the CPU runs).
#include <cstdint>
#include <cstring>
#include <limits>

#include "worker/engine/kernels/cpu/cpu_kernel_util.h"

namespace bertfleet::kernels::softmax {


constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr int kLanes = 16;

// exp(x) for x <= 0 (Cephes expf: range reduction by ln 2, degree-6 polynomial, ~1 ulp), written
// as plain arithmetic so that it vectorises.
BERTFLEET_ALWAYS_INLINE float ExpNonPositive(float x) {
  x = x < -87.0f ? -87.0f : x;
  const float shifter = 12582912.0f;  // 1.5 * 2^23: (t + shifter) - shifter rounds t to an integer
  const float n = (x * 1.44269504088896341f + shifter) - shifter;
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
  float two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  return e * two_n;
}

struct F32 {
  using T = float;
  static BERTFLEET_ALWAYS_INLINE float Load(float v) { return v; }
  static BERTFLEET_ALWAYS_INLINE float Store(float v) { return v; }
};
struct Bf16 {
  using T = uint16_t;
  static BERTFLEET_ALWAYS_INLINE float Load(uint16_t v) { return Bf16ToFloat(v); }
  static BERTFLEET_ALWAYS_INLINE uint16_t Store(float v) { return FloatToBf16(v); }
};

struct Shape {
  int64_t rows_per_batch;  // heads * queries
  int64_t keys;
  int64_t padded_keys;  // keys rounded up to kLanes
};

// The heavy loops (exp, random bits, reductions) run over the scratch rows padded to a multiple
// of kLanes in fixed blocks of kLanes, so they compile to whole vectors with no scalar tail; only
// the cheap load/store loops see the row's own length.

// Rows [begin, end) of the forward pass. buf: padded_keys floats of scratch.
template <typename S>
BERTFLEET_ALWAYS_INLINE void ForwardRows(const typename S::T* __restrict__ scores, const uint8_t* __restrict__ key_mask,
                                         typename S::T* __restrict__ probs, typename S::T* __restrict__ dropped,
                                         const uint8_t* __restrict__ keep_mask, float scale, Shape shape, int64_t begin,
                                         int64_t end, float* __restrict__ buf) {
  const int64_t n = shape.keys, padded = shape.padded_keys;
  for (int64_t row = begin; row < end; ++row) {
    const uint8_t* __restrict__ real = key_mask + (row / shape.rows_per_batch) * n;
    const typename S::T* __restrict__ s = scores + row * n;
    for (int64_t j = 0; j < n; ++j) buf[j] = real[j] ? S::Load(s[j]) : kNegInf;
    for (int64_t j = n; j < padded; ++j) buf[j] = kNegInf;
    float lanes[kLanes];
    for (int l = 0; l < kLanes; ++l) lanes[l] = kNegInf;
    for (int64_t j = 0; j < padded; j += kLanes) {
      for (int l = 0; l < kLanes; ++l) lanes[l] = buf[j + l] > lanes[l] ? buf[j + l] : lanes[l];
    }
    float max = kNegInf;
    for (int l = 0; l < kLanes; ++l) max = lanes[l] > max ? lanes[l] : max;
    if (max == kNegInf) {  // no real key: Hugging Face's finfo.min bias makes the row uniform
      for (int64_t j = 0; j < padded; ++j) buf[j] = j < n ? 1.0f / static_cast<float>(n) : 0.0f;
    } else {
      for (int l = 0; l < kLanes; ++l) lanes[l] = 0.0f;
      for (int64_t j = 0; j < padded; j += kLanes) {
        for (int l = 0; l < kLanes; ++l) {
          const float v = buf[j + l];
          const float e = v == kNegInf ? 0.0f : ExpNonPositive(v - max);
          buf[j + l] = e;
          lanes[l] += e;
        }
      }
      float sum = 0.0f;
      for (int l = 0; l < kLanes; ++l) sum += lanes[l];
      const float inverse = 1.0f / sum;
      for (int64_t j = 0; j < padded; j += kLanes) {
        for (int l = 0; l < kLanes; ++l) buf[j + l] *= inverse;
      }
    }
    typename S::T* __restrict__ y = probs + row * n;
    for (int64_t j = 0; j < n; ++j) y[j] = S::Store(buf[j]);
    if (keep_mask != nullptr) {
      const uint8_t* __restrict__ keep = keep_mask + row * n;
      typename S::T* __restrict__ d = dropped + row * n;
      for (int64_t j = 0; j < n; ++j) d[j] = S::Store(keep[j] ? buf[j] * scale : 0.0f);
    }
  }
}

// grad_scores = y * (g' - sum(g' * y)), g' = dropout mask applied to grad.
template <typename S>
BERTFLEET_ALWAYS_INLINE void BackwardRows(const typename S::T* __restrict__ grad, const typename S::T* __restrict__ probs,
                                          typename S::T* __restrict__ out, const uint8_t* __restrict__ keep_mask,
                                          float scale,
                                          Shape shape, int64_t begin, int64_t end, float* __restrict__ gbuf,
                                          float* __restrict__ ybuf) {
  const int64_t n = shape.keys, padded = shape.padded_keys;
  for (int64_t row = begin; row < end; ++row) {
    const typename S::T* __restrict__ g = grad + row * n;
    const typename S::T* __restrict__ y = probs + row * n;
    for (int64_t j = 0; j < n; ++j) gbuf[j] = S::Load(g[j]);
    for (int64_t j = 0; j < n; ++j) ybuf[j] = S::Load(y[j]);
    for (int64_t j = n; j < padded; ++j) gbuf[j] = ybuf[j] = 0.0f;
    if (keep_mask != nullptr) {
      const uint8_t* __restrict__ keep = keep_mask + row * n;
      for (int64_t j = 0; j < n; ++j) gbuf[j] = keep[j] ? gbuf[j] * scale : 0.0f;
    }
    float lanes[kLanes];
    for (int l = 0; l < kLanes; ++l) lanes[l] = 0.0f;
    for (int64_t j = 0; j < padded; j += kLanes) {
      for (int l = 0; l < kLanes; ++l) lanes[l] += gbuf[j + l] * ybuf[j + l];
    }
    float dot = 0.0f;
    for (int l = 0; l < kLanes; ++l) dot += lanes[l];
    typename S::T* __restrict__ o = out + row * n;
    for (int64_t j = 0; j < n; ++j) o[j] = S::Store(ybuf[j] * (gbuf[j] - dot));
  }
}

#define BERTFLEET_SOFTMAX_KERNELS(SUFFIX, ATTRIBUTES)                                                     \
  template <typename S>                                                                                  \
  ATTRIBUTES void Forward##SUFFIX(const typename S::T* scores, const uint8_t* key_mask, typename S::T* probs, \
                                  typename S::T* dropped, const uint8_t* keep, float scale, Shape shape,  \
                                  int64_t begin, int64_t end, float* buf) {                              \
    ForwardRows<S>(scores, key_mask, probs, dropped, keep, scale, shape, begin, end, buf);                \
  }                                                                                                      \
  template <typename S>                                                                                  \
  ATTRIBUTES void Backward##SUFFIX(const typename S::T* grad, const typename S::T* probs, typename S::T* out, \
                                   const uint8_t* keep, float scale, Shape shape, int64_t begin,         \
                                   int64_t end, float* gbuf, float* ybuf) {                              \
    BackwardRows<S>(grad, probs, out, keep, scale, shape, begin, end, gbuf, ybuf);                        \
  }

#if BERTFLEET_HAVE_AVX512_KERNELS
BERTFLEET_SOFTMAX_KERNELS(Avx512, BERTFLEET_AVX512)
#endif
BERTFLEET_SOFTMAX_KERNELS(Baseline, )

// The rows [begin, end) through the AVX-512 build where the CPU has it.
template <typename S>
void SoftmaxForward(const typename S::T* scores, const uint8_t* key_mask, typename S::T* probs,
                    typename S::T* dropped, const uint8_t* keep, float scale, Shape shape, int64_t begin,
                    int64_t end, float* buf) {
#if BERTFLEET_HAVE_AVX512_KERNELS
  if (HaveAvx512()) return ForwardAvx512<S>(scores, key_mask, probs, dropped, keep, scale, shape, begin, end, buf);
#endif
  ForwardBaseline<S>(scores, key_mask, probs, dropped, keep, scale, shape, begin, end, buf);
}

template <typename S>
void SoftmaxBackward(const typename S::T* grad, const typename S::T* probs, typename S::T* out, const uint8_t* keep,
                     float scale, Shape shape, int64_t begin, int64_t end, float* gbuf, float* ybuf) {
#if BERTFLEET_HAVE_AVX512_KERNELS
  if (HaveAvx512()) return BackwardAvx512<S>(grad, probs, out, keep, scale, shape, begin, end, gbuf, ybuf);
#endif
  BackwardBaseline<S>(grad, probs, out, keep, scale, shape, begin, end, gbuf, ybuf);
}

}  // namespace bertfleet::kernels::softmax
