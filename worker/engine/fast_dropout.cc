#include "worker/engine/fast_dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <mutex>

namespace bertfleet {
namespace {

inline uint64_t Mix(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

constexpr uint64_t kGamma = 0x9e3779b97f4a7c15ULL;
constexpr int64_t kGrain = 1 << 15;

// Element i is kept when the i-th 32-bit draw of the stream `seed` is >= threshold.
template <typename T>
void ForwardKernel(const T* x, T* out, uint8_t* mask, int64_t n, uint64_t seed, uint32_t threshold, float scale) {
  at::parallel_for(0, (n + 1) / 2, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      const uint64_t r = Mix(seed + static_cast<uint64_t>(j) * kGamma);
      const int64_t i = 2 * j;
      const bool keep0 = static_cast<uint32_t>(r) >= threshold;
      mask[i] = keep0;
      out[i] = keep0 ? static_cast<T>(static_cast<float>(x[i]) * scale) : static_cast<T>(0.0f);
      if (i + 1 < n) {
        const bool keep1 = static_cast<uint32_t>(r >> 32) >= threshold;
        mask[i + 1] = keep1;
        out[i + 1] = keep1 ? static_cast<T>(static_cast<float>(x[i + 1]) * scale) : static_cast<T>(0.0f);
      }
    }
  });
}

template <typename T>
void BackwardKernel(const T* grad, const uint8_t* mask, T* out, int64_t n, float scale) {
  at::parallel_for(0, n, 2 * kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      out[i] = mask[i] ? static_cast<T>(static_cast<float>(grad[i]) * scale) : static_cast<T>(0.0f);
    }
  });
}

uint64_t NextSeed() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get<at::CPUGeneratorImpl>()->random64();
}

class FastDropoutFunction : public torch::autograd::Function<FastDropoutFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input, double p) {
    const torch::Tensor x = input.contiguous();
    torch::Tensor out = at::empty_like(x, at::MemoryFormat::Contiguous);
    torch::Tensor mask = at::empty(x.sizes(), x.options().dtype(at::kByte));
    const float scale = static_cast<float>(1.0 / (1.0 - p));
    const double t = std::ldexp(p, 32);
    const uint32_t threshold = t >= 4294967295.0 ? 0xffffffffu : static_cast<uint32_t>(std::llround(t));
    const uint64_t seed = NextSeed();
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, x.scalar_type(), "FastDropout", [&] {
      ForwardKernel<scalar_t>(x.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), mask.data_ptr<uint8_t>(),
                              x.numel(), seed, threshold, scale);
    });
    ctx->save_for_backward({mask});
    ctx->saved_data["scale"] = static_cast<double>(scale);
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const torch::Tensor mask = ctx->get_saved_variables()[0];
    const float scale = static_cast<float>(ctx->saved_data["scale"].toDouble());
    const torch::Tensor grad = grad_outputs[0].contiguous();
    torch::Tensor grad_input = at::empty_like(grad, at::MemoryFormat::Contiguous);
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, grad.scalar_type(), "FastDropoutBackward", [&] {
      BackwardKernel<scalar_t>(grad.data_ptr<scalar_t>(), mask.data_ptr<uint8_t>(), grad_input.data_ptr<scalar_t>(),
                               grad.numel(), scale);
    });
    return {grad_input, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor FastDropout(const torch::Tensor& x, double p) {
  if (p <= 0) return x;
  if (!x.device().is_cpu() || !x.is_floating_point() || x.numel() == 0) return at::dropout(x, p, true);
  return FastDropoutFunction::apply(x, p);
}

}  // namespace bertfleet
