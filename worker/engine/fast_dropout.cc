#include "worker/engine/fast_dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <cstring>
#include <mutex>

namespace bertfleet {
namespace {

// The mask is a pure function of (seed, element index), so the backward pass recomputes it
// instead of storing it. Element i is kept when Draw(i) >= threshold = p * 2^32.
__attribute__((always_inline)) inline uint32_t Hash32(uint32_t x) {  // "lowbias32" (C. Wellons), a bijective integer hash
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

__attribute__((always_inline)) inline uint32_t Draw(uint32_t i, uint32_t s0, uint32_t s1) { return Hash32(Hash32(i ^ s0) ^ s1); }

struct Stream {
  uint32_t s0, s1;  // per 2^31-element block
  uint32_t threshold;
  float scale;
};

__attribute__((always_inline)) inline float Bf16ToFloat(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

__attribute__((always_inline)) inline uint16_t FloatToBf16(float f) {  // round to nearest even, NaN stays NaN
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  const uint32_t rounded = (b + 0x7fffU + ((b >> 16) & 1U)) >> 16;
  return (b & 0x7fffffffU) > 0x7f800000U ? static_cast<uint16_t>((b >> 16) | 0x40U)
                                         : static_cast<uint16_t>(rounded);
}

// Plain loops the compiler vectorises, built twice: for AVX-512 (picked at run time) and for the
// baseline x86-64 the project compiles for. (target_clones picked the baseline clone here.)
#define BERTFLEET_MASK_KERNELS(SUFFIX, ATTRIBUTES)                                                   \
  ATTRIBUTES void MaskF32##SUFFIX(const float* in, float* out, int64_t n, uint32_t base, Stream s) { \
    for (int64_t k = 0; k < n; ++k) {                                                                \
      const uint32_t h = Draw(base + static_cast<uint32_t>(k), s.s0, s.s1);                          \
      out[k] = h >= s.threshold ? in[k] * s.scale : 0.0f;                                            \
    }                                                                                                \
  }                                                                                                  \
  ATTRIBUTES void MaskBf16##SUFFIX(const uint16_t* in, uint16_t* out, int64_t n, uint32_t base,      \
                                   Stream s) {                                                       \
    for (int64_t k = 0; k < n; ++k) {                                                                \
      const uint32_t h = Draw(base + static_cast<uint32_t>(k), s.s0, s.s1);                          \
      out[k] = FloatToBf16(h >= s.threshold ? Bf16ToFloat(in[k]) * s.scale : 0.0f);                  \
    }                                                                                                \
  }

#if defined(__x86_64__) && defined(__GNUC__)
BERTFLEET_MASK_KERNELS(Avx512, __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))))
const bool kHaveAvx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#endif
BERTFLEET_MASK_KERNELS(Baseline, )

void MaskF32(const float* in, float* out, int64_t n, uint32_t base, Stream s) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (kHaveAvx512) return MaskF32Avx512(in, out, n, base, s);
#endif
  MaskF32Baseline(in, out, n, base, s);
}

void MaskBf16(const uint16_t* in, uint16_t* out, int64_t n, uint32_t base, Stream s) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (kHaveAvx512) return MaskBf16Avx512(in, out, n, base, s);
#endif
  MaskBf16Baseline(in, out, n, base, s);
}

template <typename T>
void MaskGeneric(const T* in, T* out, int64_t n, uint32_t base, Stream s) {
  for (int64_t k = 0; k < n; ++k) {
    const uint32_t h = Draw(base + static_cast<uint32_t>(k), s.s0, s.s1);
    out[k] = h >= s.threshold ? static_cast<T>(static_cast<float>(in[k]) * s.scale) : static_cast<T>(0);
  }
}

uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// out = in * mask * scale for the mask of `seed`; `in` contiguous.
torch::Tensor ApplyMask(const torch::Tensor& input, uint64_t seed, double p) {
  const torch::Tensor in = input.contiguous();
  torch::Tensor out = at::empty_like(in, at::MemoryFormat::Contiguous);
  const double t = std::ldexp(p, 32);
  const uint32_t threshold = t >= 4294967295.0 ? 0xffffffffU : static_cast<uint32_t>(std::llround(t));
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  const int64_t n = in.numel();
  constexpr int64_t kBlock = int64_t{1} << 31;
  constexpr int64_t kGrain = int64_t{1} << 16;
  const auto type = in.scalar_type();
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    while (begin < end) {  // split at 2^31 boundaries: each block has its own stream
      const int64_t block = begin / kBlock;
      const int64_t stop = std::min(end, (block + 1) * kBlock);
      const uint64_t key = Mix64(seed ^ Mix64(static_cast<uint64_t>(block)));
      const Stream s{static_cast<uint32_t>(key), static_cast<uint32_t>(key >> 32), threshold, scale};
      const uint32_t base = static_cast<uint32_t>(begin - block * kBlock);
      const int64_t count = stop - begin;
      if (type == at::kFloat) {
        MaskF32(in.data_ptr<float>() + begin, out.data_ptr<float>() + begin, count, base, s);
      } else if (type == at::kBFloat16) {
        MaskBf16(reinterpret_cast<const uint16_t*>(in.data_ptr<at::BFloat16>()) + begin,
                 reinterpret_cast<uint16_t*>(out.data_ptr<at::BFloat16>()) + begin, count, base, s);
      } else if (type == at::kDouble) {
        MaskGeneric(in.data_ptr<double>() + begin, out.data_ptr<double>() + begin, count, base, s);
      } else {
        MaskGeneric(in.data_ptr<at::Half>() + begin, out.data_ptr<at::Half>() + begin, count, base, s);
      }
      begin = stop;
    }
  });
  return out;
}

uint64_t NextSeed() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get<at::CPUGeneratorImpl>()->random64();
}

class FastDropoutFunction : public torch::autograd::Function<FastDropoutFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input, double p) {
    const uint64_t seed = NextSeed();
    ctx->saved_data["seed"] = static_cast<int64_t>(seed);
    ctx->saved_data["p"] = p;
    return ApplyMask(input, seed, p);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto seed = static_cast<uint64_t>(ctx->saved_data["seed"].toInt());
    return {ApplyMask(grad_outputs[0], seed, ctx->saved_data["p"].toDouble()), torch::Tensor()};
  }
};

bool Supported(at::ScalarType t) {
  return t == at::kFloat || t == at::kBFloat16 || t == at::kDouble || t == at::kHalf;
}

}  // namespace

torch::Tensor FastDropout(const torch::Tensor& x, double p) {
  if (p <= 0) return x;
  if (!x.device().is_cpu() || !Supported(x.scalar_type()) || x.numel() == 0 || p >= 1) {
    return at::dropout(x, p, true);
  }
  return FastDropoutFunction::apply(x, p);
}

}  // namespace bertfleet
