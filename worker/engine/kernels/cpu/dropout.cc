#include "worker/engine/kernels/cpu/dropout.h"

#include <ATen/Parallel.h>

#include <algorithm>

#include "worker/engine/kernels/cpu/cpu_kernel_util.h"
#include "worker/engine/kernels/cpu/torch_dropout_draws.h"

namespace bertfleet {
namespace {

using kernels::Bf16ToFloat;
using kernels::FloatToBf16;

// Plain loops the compiler vectorises, built twice: for AVX-512 (picked at run time) and for the
// baseline x86-64 the project compiles for.
#define BERTFLEET_MASK_KERNELS(SUFFIX, ATTRIBUTES)                                                   \
  ATTRIBUTES void MaskF32##SUFFIX(const float* __restrict__ in, const uint8_t* __restrict__ keep,    \
                                  float* __restrict__ out, int64_t n, float scale) {                 \
    for (int64_t k = 0; k < n; ++k) out[k] = keep[k] ? in[k] * scale : 0.0f;                         \
  }                                                                                                  \
  ATTRIBUTES void MaskBf16##SUFFIX(const uint16_t* __restrict__ in, const uint8_t* __restrict__ keep, \
                                   uint16_t* __restrict__ out, int64_t n, float scale) {             \
    for (int64_t k = 0; k < n; ++k) out[k] = FloatToBf16(keep[k] ? Bf16ToFloat(in[k]) * scale : 0.0f); \
  }

#if BERTFLEET_HAVE_AVX512_KERNELS
BERTFLEET_MASK_KERNELS(Avx512, BERTFLEET_AVX512)
#endif
BERTFLEET_MASK_KERNELS(Baseline, )

// out = in * keep * scale, in one parallel pass; `in` and `keep` contiguous, float or bfloat16.
torch::Tensor ApplyMask(const torch::Tensor& input, const torch::Tensor& keep, float scale) {
  const torch::Tensor in = input.contiguous();
  torch::Tensor out = at::empty_like(in, at::MemoryFormat::Contiguous);
  const uint8_t* k = keep.data_ptr<uint8_t>();
  const bool bf16 = in.scalar_type() == at::kBFloat16;
  at::parallel_for(0, in.numel(), int64_t{1} << 16, [&](int64_t begin, int64_t end) {
    const int64_t n = end - begin;
    if (bf16) {
      const auto* x = reinterpret_cast<const uint16_t*>(in.data_ptr<at::BFloat16>()) + begin;
      auto* y = reinterpret_cast<uint16_t*>(out.data_ptr<at::BFloat16>()) + begin;
#if BERTFLEET_HAVE_AVX512_KERNELS
      if (kernels::HaveAvx512()) return MaskBf16Avx512(x, k + begin, y, n, scale);
#endif
      return MaskBf16Baseline(x, k + begin, y, n, scale);
    }
    const float* x = in.data_ptr<float>() + begin;
    float* y = out.data_ptr<float>() + begin;
#if BERTFLEET_HAVE_AVX512_KERNELS
    if (kernels::HaveAvx512()) return MaskF32Avx512(x, k + begin, y, n, scale);
#endif
    MaskF32Baseline(x, k + begin, y, n, scale);
  });
  return out;
}

class MaskedDropoutFunction : public torch::autograd::Function<MaskedDropoutFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input,
                               const torch::Tensor& keep, double scale) {
    ctx->saved_data["keep"] = keep;
    ctx->saved_data["scale"] = scale;
    return ApplyMask(input, keep, static_cast<float>(scale));
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const torch::Tensor keep = ctx->saved_data["keep"].toTensor();
    const auto scale = static_cast<float>(ctx->saved_data["scale"].toDouble());
    return {ApplyMask(grad_outputs[0], keep, scale), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

float DropoutScale(double p, at::ScalarType type) {
  // Computed by torch itself, as its dropout computes the noise: ones(dtype) / (1 - p).
  return torch::ones({1}, torch::TensorOptions().dtype(type)).div_(1.0 - p).to(torch::kFloat).item<float>();
}

torch::Tensor ApplyDropoutMask(const torch::Tensor& x, const torch::Tensor& keep, double p) {
  TORCH_CHECK(keep.scalar_type() == at::kByte && keep.numel() == x.numel(),
              "ApplyDropoutMask: a uint8 mask of ", x.numel(), " elements expected, got ", keep.sizes());
  const torch::Tensor mask = keep.reshape({x.numel()}).contiguous();
  const auto type = x.scalar_type();
  if (x.device().is_cpu() && (type == at::kFloat || type == at::kBFloat16)) {
    return MaskedDropoutFunction::apply(x, mask, static_cast<double>(DropoutScale(p, type)));
  }
  const torch::Tensor noise = mask.view(x.sizes()).to(x.options()).div_(1.0 - p);
  return x * noise;
}

torch::Tensor DropoutOfRows(const torch::Tensor& x, double p, const torch::Tensor& rows, int64_t padded_rows) {
  if (p <= 0 || x.numel() == 0) return x;
  if (!x.device().is_cpu() || p >= 1) return at::dropout(x, p, true);
  const int64_t width = x.dim() > 0 ? x.size(-1) : 1;
  torch::Tensor keep = DrawDropoutKeepMask(padded_rows * width, p);
  if (rows.defined()) keep = keep.view({padded_rows, width}).index_select(0, rows);
  return ApplyDropoutMask(x, keep, p);
}

torch::Tensor Dropout(const torch::Tensor& x, double p) {
  const int64_t width = x.dim() > 0 ? std::max<int64_t>(x.size(-1), 1) : 1;
  return DropoutOfRows(x, p, torch::Tensor(), x.numel() / width);
}

}  // namespace bertfleet
