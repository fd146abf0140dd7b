#include "worker/engine/optim/adamw_optimizer.h"

#include <algorithm>
#include <cmath>

#include "worker/engine/kernels/cpu/adamw_cpu_kernel.h"

namespace bertfleet {

AdamWOptimizer::AdamWOptimizer(FlatParameters& parameters, AdamWOptions options)
    : parameters_(parameters), options_(options) {
  exp_avg_ = torch::zeros_like(parameters_.values());
  exp_avg_sq_ = torch::zeros_like(parameters_.values());
}

void AdamWOptimizer::Step(double lr, double gradient_scale) {
  torch::NoGradGuard no_grad;
  ++step_count_;
  torch::Tensor& values = parameters_.values();
  torch::Tensor& grad = parameters_.gradients();
  const double bias_correction1 = 1.0 - std::pow(options_.beta1, static_cast<double>(step_count_));
  const double bias_correction2 = 1.0 - std::pow(options_.beta2, static_cast<double>(step_count_));
  const double step_size = lr / bias_correction1;
  const double bias_correction2_sqrt = std::sqrt(bias_correction2);
  const double decay_factor = 1.0 - lr * options_.weight_decay;

  if (values.is_cpu() && values.scalar_type() == torch::kFloat32) {  // FlatParameters: contiguous
    AdamWStepScalars s;
    s.gradient_scale = static_cast<float>(gradient_scale);
    s.decay_factor = static_cast<float>(decay_factor);
    s.beta1 = static_cast<float>(options_.beta1);
    s.one_minus_beta1 = static_cast<float>(1.0 - options_.beta1);
    s.beta2 = static_cast<float>(options_.beta2);
    s.one_minus_beta2 = static_cast<float>(1.0 - options_.beta2);
    s.step_size = static_cast<float>(step_size);
    s.bias_correction2_sqrt = static_cast<float>(bias_correction2_sqrt);
    s.epsilon = static_cast<float>(options_.epsilon);
    FusedAdamWStepCpu(values.data_ptr<float>(), grad.data_ptr<float>(), exp_avg_.data_ptr<float>(),
                      exp_avg_sq_.data_ptr<float>(), values.numel(), parameters_.decay_count(), s);
    return;
  }
  // Same order of operations as torch.optim.adamw._single_tensor_adamw.
  if (gradient_scale != 1.0) grad.mul_(gradient_scale);
  if (options_.weight_decay != 0.0 && parameters_.decay_count() > 0) {
    values.narrow(0, 0, parameters_.decay_count()).mul_(decay_factor);
  }
  exp_avg_.mul_(options_.beta1).add_(grad, 1.0 - options_.beta1);
  exp_avg_sq_.mul_(options_.beta2).addcmul_(grad, grad, 1.0 - options_.beta2);
  if (!denominator_.defined()) denominator_ = torch::empty_like(exp_avg_sq_);
  torch::sqrt_out(denominator_, exp_avg_sq_);
  denominator_.div_(bias_correction2_sqrt).add_(options_.epsilon);
  values.addcdiv_(exp_avg_, denominator_, -step_size);
  grad.zero_();
}

void AdamWOptimizer::Restore(int64_t step_count, const torch::Tensor& exp_avg,
                             const torch::Tensor& exp_avg_sq) {
  torch::NoGradGuard no_grad;
  step_count_ = step_count;
  exp_avg_.copy_(exp_avg);
  exp_avg_sq_.copy_(exp_avg_sq);
}

GradientScaling ScaleForMeanAndClip(const torch::Tensor& gradient_sums, double examples, double max_norm) {
  torch::NoGradGuard no_grad;
  const double count = examples > 0 ? examples : 1.0;
  GradientScaling scaling;
  const bool fused = gradient_sums.is_cpu() && gradient_sums.scalar_type() == torch::kFloat32 &&
                     gradient_sums.is_contiguous();
  const double sum_norm = fused ? std::sqrt(SquaredNormCpu(gradient_sums.data_ptr<float>(), gradient_sums.numel()))
                                : gradient_sums.norm(2).item<double>();
  scaling.norm = sum_norm / count;
  const double clip_coefficient = max_norm > 0 ? max_norm / (scaling.norm + 1e-6) : 1.0;
  scaling.factor = std::min(clip_coefficient, 1.0) / count;
  return scaling;
}

}  // namespace bertfleet
