#include "worker/engine/kernels/cpu/adamw_cpu_kernel.h"

#include <ATen/Parallel.h>

#include <algorithm>

#include "worker/engine/kernels/cpu/cpu_kernel_util.h"

namespace bertfleet {
namespace {

// Built twice (AVX-512, picked at run time, and baseline x86-64), as the other hand-written
// kernels. This file compiles with -fno-math-errno: otherwise sqrtf keeps the loop scalar.
#define BERTFLEET_ADAMW_KERNEL(SUFFIX, ATTRIBUTES)                                                        \
  ATTRIBUTES void AdamWRange##SUFFIX(float* __restrict values, float* __restrict gradients,               \
                                     float* __restrict exp_avg, float* __restrict exp_avg_sq, int64_t n,  \
                                     float decay_factor, AdamWStepScalars s) {                            \
    for (int64_t i = 0; i < n; ++i) {                                                                     \
      const float g = gradients[i] * s.gradient_scale;                                                    \
      const float m = exp_avg[i] * s.beta1 + g * s.one_minus_beta1;                                       \
      const float v = exp_avg_sq[i] * s.beta2 + s.one_minus_beta2 * g * g;                                \
      const float denominator = std::sqrt(v) / s.bias_correction2_sqrt + s.epsilon;                       \
      values[i] = values[i] * decay_factor - s.step_size * (m / denominator);                             \
      exp_avg[i] = m;                                                                                     \
      exp_avg_sq[i] = v;                                                                                  \
      gradients[i] = 0.0f;                                                                                \
    }                                                                                                     \
  }

// Sixteen independent double accumulators: the compiler vectorises them without reassociating
// a single sum (which it may not do without -ffast-math).
#define BERTFLEET_SQUARED_NORM_KERNEL(SUFFIX, ATTRIBUTES)                     \
  ATTRIBUTES double SquaredNorm##SUFFIX(const float* __restrict x, int64_t n) { \
    constexpr int kLanes = 16;                                                 \
    double lanes[kLanes] = {};                                                 \
    int64_t i = 0;                                                             \
    for (; i + kLanes <= n; i += kLanes) {                                     \
      for (int j = 0; j < kLanes; ++j) {                                       \
        const double v = x[i + j];                                             \
        lanes[j] += v * v;                                                     \
      }                                                                        \
    }                                                                          \
    double total = 0;                                                          \
    for (; i < n; ++i) total += static_cast<double>(x[i]) * x[i];              \
    for (int j = 0; j < kLanes; ++j) total += lanes[j];                        \
    return total;                                                              \
  }

#if BERTFLEET_HAVE_AVX512_KERNELS
BERTFLEET_ADAMW_KERNEL(Avx512, BERTFLEET_AVX512)
BERTFLEET_SQUARED_NORM_KERNEL(Avx512, BERTFLEET_AVX512)
#endif
BERTFLEET_ADAMW_KERNEL(Baseline, )
BERTFLEET_SQUARED_NORM_KERNEL(Baseline, )

double SquaredNormRange(const float* x, int64_t n) {
#if BERTFLEET_HAVE_AVX512_KERNELS
  if (kernels::HaveAvx512()) return SquaredNormAvx512(x, n);
#endif
  return SquaredNormBaseline(x, n);
}

void AdamWRange(float* values, float* gradients, float* exp_avg, float* exp_avg_sq, int64_t n, float decay_factor,
                const AdamWStepScalars& s) {
#if BERTFLEET_HAVE_AVX512_KERNELS
  if (kernels::HaveAvx512()) return AdamWRangeAvx512(values, gradients, exp_avg, exp_avg_sq, n, decay_factor, s);
#endif
  AdamWRangeBaseline(values, gradients, exp_avg, exp_avg_sq, n, decay_factor, s);
}

constexpr int64_t kGrain = 1 << 16;

}  // namespace

double SquaredNormCpu(const float* values, int64_t count) {
  return at::parallel_reduce(
      int64_t{0}, count, kGrain, 0.0,
      [&](int64_t begin, int64_t end, double partial) { return partial + SquaredNormRange(values + begin, end - begin); },
      [](double a, double b) { return a + b; });
}

void FusedAdamWStepCpu(float* values, float* gradients, float* exp_avg, float* exp_avg_sq, int64_t count,
                       int64_t decay_count, const AdamWStepScalars& scalars) {
  at::parallel_for(0, count, kGrain, [&](int64_t begin, int64_t end) {
    // Split at the end of the weight-decay group.
    const int64_t split = std::clamp(decay_count, begin, end);
    if (split > begin) {
      AdamWRange(values + begin, gradients + begin, exp_avg + begin, exp_avg_sq + begin, split - begin,
                 scalars.decay_factor, scalars);
    }
    if (end > split) {
      AdamWRange(values + split, gradients + split, exp_avg + split, exp_avg_sq + split, end - split, 1.0f, scalars);
    }
  });
}

}  // namespace bertfleet
