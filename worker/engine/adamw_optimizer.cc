#include "worker/engine/adamw_optimizer.h"

#include <cmath>

namespace bertfleet {

AdamWOptimizer::AdamWOptimizer(FlatParameters& parameters, AdamWOptions options)
    : parameters_(parameters), options_(options) {
  exp_avg_ = torch::zeros_like(parameters_.values());
  exp_avg_sq_ = torch::zeros_like(parameters_.values());
  denominator_ = torch::empty_like(parameters_.values());
}

void AdamWOptimizer::Step(double lr) {
  torch::NoGradGuard no_grad;
  ++step_count_;
  torch::Tensor& values = parameters_.values();
  const torch::Tensor& grad = parameters_.gradients();
  // Same order of operations as torch.optim.adamw._single_tensor_adamw.
  if (options_.weight_decay != 0.0 && parameters_.decay_count() > 0) {
    values.narrow(0, 0, parameters_.decay_count()).mul_(1.0 - lr * options_.weight_decay);
  }
  exp_avg_.mul_(options_.beta1).add_(grad, 1.0 - options_.beta1);
  exp_avg_sq_.mul_(options_.beta2).addcmul_(grad, grad, 1.0 - options_.beta2);
  const double bias_correction1 = 1.0 - std::pow(options_.beta1, static_cast<double>(step_count_));
  const double bias_correction2 = 1.0 - std::pow(options_.beta2, static_cast<double>(step_count_));
  const double step_size = lr / bias_correction1;
  const double bias_correction2_sqrt = std::sqrt(bias_correction2);
  torch::sqrt_out(denominator_, exp_avg_sq_);
  denominator_.div_(bias_correction2_sqrt).add_(options_.epsilon);
  values.addcdiv_(exp_avg_, denominator_, -step_size);
}

void AdamWOptimizer::Restore(int64_t step_count, const torch::Tensor& exp_avg,
                             const torch::Tensor& exp_avg_sq) {
  torch::NoGradGuard no_grad;
  step_count_ = step_count;
  exp_avg_.copy_(exp_avg);
  exp_avg_sq_.copy_(exp_avg_sq);
}

double ClipGradientNorm(torch::Tensor& gradients, double max_norm) {
  torch::NoGradGuard no_grad;
  const double norm = gradients.norm(2).item<double>();
  const double clip_coefficient = max_norm / (norm + 1e-6);
  if (clip_coefficient < 1.0) gradients.mul_(clip_coefficient);
  return norm;
}

}  // namespace bertfleet
