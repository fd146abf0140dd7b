#include "worker/engine/fast_dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <cstring>
#include <mutex>

#include "worker/engine/cpu_kernel_util.h"

namespace bertfleet {
namespace {

using kernels::Bf16ToFloat;
using kernels::DropoutStream;
using kernels::FloatToBf16;

// The mask is a pure function of (seed, element index), so the backward pass recomputes it
// instead of storing it.
// Plain loops the compiler vectorises, built twice: for AVX-512 (picked at run time) and for the
// baseline x86-64 the project compiles for. (target_clones picked the baseline clone here.)
#define BERTFLEET_MASK_KERNELS(SUFFIX, ATTRIBUTES)                                                    \
  ATTRIBUTES void MaskF32##SUFFIX(const float* in, float* out, int64_t n, uint32_t base,             \
                                  DropoutStream s) {                                                  \
    for (int64_t k = 0; k < n; ++k) {                                                                 \
      out[k] = s.Keep(base + static_cast<uint32_t>(k)) ? in[k] * s.scale : 0.0f;                      \
    }                                                                                                 \
  }                                                                                                   \
  ATTRIBUTES void MaskBf16##SUFFIX(const uint16_t* in, uint16_t* out, int64_t n, uint32_t base,       \
                                   DropoutStream s) {                                                 \
    for (int64_t k = 0; k < n; ++k) {                                                                 \
      out[k] = FloatToBf16(s.Keep(base + static_cast<uint32_t>(k)) ? Bf16ToFloat(in[k]) * s.scale : 0.0f); \
    }                                                                                                 \
  }

#if BERTFLEET_HAVE_AVX512_KERNELS
BERTFLEET_MASK_KERNELS(Avx512, BERTFLEET_AVX512)
#endif
BERTFLEET_MASK_KERNELS(Baseline, )

void MaskF32(const float* in, float* out, int64_t n, uint32_t base, DropoutStream s) {
#if BERTFLEET_HAVE_AVX512_KERNELS
  if (kernels::HaveAvx512()) return MaskF32Avx512(in, out, n, base, s);
#endif
  MaskF32Baseline(in, out, n, base, s);
}

void MaskBf16(const uint16_t* in, uint16_t* out, int64_t n, uint32_t base, DropoutStream s) {
#if BERTFLEET_HAVE_AVX512_KERNELS
  if (kernels::HaveAvx512()) return MaskBf16Avx512(in, out, n, base, s);
#endif
  MaskBf16Baseline(in, out, n, base, s);
}

template <typename T>
void MaskGeneric(const T* in, T* out, int64_t n, uint32_t base, DropoutStream s) {
  for (int64_t k = 0; k < n; ++k) {
    out[k] = s.Keep(base + static_cast<uint32_t>(k)) ? static_cast<T>(static_cast<float>(in[k]) * s.scale)
                                                      : static_cast<T>(0);
  }
}

// out = in * mask * scale for the mask of `seed`; `in` contiguous.
torch::Tensor ApplyMask(const torch::Tensor& input, uint64_t seed, double p) {
  const torch::Tensor in = input.contiguous();
  torch::Tensor out = at::empty_like(in, at::MemoryFormat::Contiguous);
  const int64_t n = in.numel();
  constexpr int64_t kBlock = int64_t{1} << 31;
  constexpr int64_t kGrain = int64_t{1} << 16;
  const auto type = in.scalar_type();
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    while (begin < end) {  // split at 2^31 boundaries: each block has its own stream
      const int64_t block = begin / kBlock;
      const int64_t stop = std::min(end, (block + 1) * kBlock);
      const DropoutStream s = kernels::MakeDropoutStream(seed, static_cast<uint64_t>(block), p);
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

class FastDropoutFunction : public torch::autograd::Function<FastDropoutFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input, double p) {
    const uint64_t seed = NextDropoutSeed();
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

uint64_t NextDropoutSeed() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get<at::CPUGeneratorImpl>()->random64();
}

torch::Tensor FastDropout(const torch::Tensor& x, double p) {
  if (p <= 0) return x;
  if (!x.device().is_cpu() || !Supported(x.scalar_type()) || x.numel() == 0 || p >= 1) {
    return at::dropout(x, p, true);
  }
  return FastDropoutFunction::apply(x, p);
}

}  // namespace bertfleet
