#include "worker/engine/kernels/cpu/autocast_weight.h"

#include <ATen/Parallel.h>

#include "worker/engine/kernels/cpu/cpu_kernel_util.h"
#include "worker/engine/torch/torch_compat.h"

namespace bertfleet {
namespace {

// sum += addend, fp32 += bf16. (at::add_ would first copy the addend to a new fp32 tensor.)
void AddInto(torch::Tensor& sum, const torch::Tensor& addend) {
  if (addend.scalar_type() != torch::kBFloat16 || !addend.is_contiguous() || !sum.is_contiguous() ||
      addend.numel() != sum.numel()) {
    sum.add_(addend.view_as(sum));
    return;
  }
  float* out = sum.data_ptr<float>();
  const auto* in = reinterpret_cast<const uint16_t*>(addend.data_ptr<at::BFloat16>());
  at::parallel_for(0, sum.numel(), int64_t{1} << 15, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] += kernels::Bf16ToFloat(in[i]);
  });
}

class CastIntoGradientFunction : public torch::autograd::Function<CastIntoGradientFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& weight,
                               at::ScalarType type) {
    ctx->saved_data["grad"] = weight.grad();
    return weight.to(type);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const torch::Tensor& grad = grad_outputs[0];
    if (grad.defined()) {
      torch::Tensor sum = ctx->saved_data["grad"].toTensor();
      AddInto(sum, grad);
    }
    // Nothing left for the accumulator to add; the type argument has no gradient.
    return {torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor AutocastWeight(const torch::Tensor& weight) {
  const std::optional<at::ScalarType> type = CpuAutocastType();
  if (!type || !weight.is_cpu() || weight.scalar_type() != torch::kFloat || !torch::GradMode::is_enabled()) {
    return weight;
  }
  if (!weight.is_leaf()) return weight.to(*type);
  const torch::Tensor& grad = weight.grad();
  if (!weight.requires_grad() || !grad.defined() || grad.sizes() != weight.sizes() ||
      grad.scalar_type() != torch::kFloat) {
    return weight;
  }
  return CastIntoGradientFunction::apply(weight, *type);
}

}  // namespace bertfleet
