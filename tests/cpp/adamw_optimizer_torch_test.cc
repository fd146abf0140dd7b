#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "worker/engine/kernels/cpu/adamw_cpu_kernel.h"
#include "worker/engine/optim/adamw_optimizer.h"
#include "worker/engine/optim/flat_parameters.h"

namespace bertfleet {
namespace {

// A weight (decays) and a bias (does not) large enough that the decay boundary falls inside a
// parallel chunk of the fused kernel (chunks of 65536 elements).
struct Holder : torch::nn::Module {
  Holder() {
    weight = register_parameter("dense_weight", torch::randn({300, 300}));
    bias = register_parameter("dense_bias", torch::randn({70001}));
  }
  torch::Tensor weight, bias;
};

// torch.optim.AdamW's single-tensor update, written with tensor ops.
void ReferenceAdamW(torch::Tensor& value, const torch::Tensor& grad, torch::Tensor& m, torch::Tensor& v, int64_t step,
                    double lr, double weight_decay) {
  const double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  value.mul_(1 - lr * weight_decay);
  m.mul_(beta1).add_(grad, 1 - beta1);
  v.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
  const double bias_correction1 = 1 - std::pow(beta1, step);
  const double bias_correction2 = 1 - std::pow(beta2, step);
  value.addcdiv_(m, v.sqrt().div_(std::sqrt(bias_correction2)).add_(epsilon), -lr / bias_correction1);
}

TEST(AdamWOptimizer, FusedCpuStepEqualsTensorOpsAndConsumesGradients) {
  torch::manual_seed(3);
  Holder holder;
  torch::NoGradGuard no_grad;
  torch::Tensor weight = holder.weight.detach().clone(), bias = holder.bias.detach().clone();
  torch::Tensor weight_m = torch::zeros_like(weight), weight_v = torch::zeros_like(weight);
  torch::Tensor bias_m = torch::zeros_like(bias), bias_v = torch::zeros_like(bias);
  FlatParameters flat(holder);
  ASSERT_EQ(flat.decay_count(), 90000);
  AdamWOptimizer optimizer(flat, AdamWOptions{0.9, 0.999, 1e-8, 0.1});
  const double rates[] = {1e-2, 5e-3, 2e-3};
  const double scales[] = {1.0, 0.25, 1.0 / 3.0};
  for (int64_t step = 1; step <= 3; ++step) {
    const torch::Tensor weight_grad = torch::randn_like(weight), bias_grad = torch::randn_like(bias);
    holder.weight.mutable_grad().copy_(weight_grad);
    holder.bias.mutable_grad().copy_(bias_grad);
    optimizer.Step(rates[step - 1], scales[step - 1]);
    ReferenceAdamW(weight, weight_grad * scales[step - 1], weight_m, weight_v, step, rates[step - 1], 0.1);
    ReferenceAdamW(bias, bias_grad * scales[step - 1], bias_m, bias_v, step, rates[step - 1], 0.0);
    EXPECT_TRUE(torch::allclose(holder.weight, weight, 1e-5, 1e-7)) << "step " << step;
    EXPECT_TRUE(torch::allclose(holder.bias, bias, 1e-5, 1e-7)) << "step " << step;
    EXPECT_EQ(flat.gradients().abs().max().item<float>(), 0.0f) << "the step leaves the gradients zero";
  }
  EXPECT_TRUE(torch::allclose(optimizer.exp_avg_sq().narrow(0, 90000, 70001), bias_v, 1e-5, 1e-12));
  EXPECT_FALSE(torch::allclose(holder.bias, holder.bias * (1 - 1e-2 * 0.1), 0, 0)) << "vacuous: bias did not move";
}

TEST(AdamWOptimizer, SquaredNormEqualsDoubleSum) {
  torch::manual_seed(5);
  const torch::Tensor x = torch::randn({1000003});
  const double expected = x.to(torch::kFloat64).pow(2).sum().item<double>();
  EXPECT_NEAR(SquaredNormCpu(x.data_ptr<float>(), x.numel()), expected, expected * 1e-12);
  EXPECT_EQ(SquaredNormCpu(x.data_ptr<float>(), 0), 0.0);
}

TEST(AdamWOptimizer, ScaleForMeanAndClipFollowsClipGradNorm) {
  // Sums over 4 examples; the mean gradient is 1.5 everywhere: norm 1.5 * sqrt(100) = 15.
  const torch::Tensor sums = torch::full({100}, 6.0f);
  const GradientScaling clipped = ScaleForMeanAndClip(sums, 4, 1.0);
  EXPECT_NEAR(clipped.norm, 15.0, 1e-9);
  EXPECT_NEAR(clipped.factor, 1.0 / (15.0 + 1e-6) / 4, 1e-12);
  const GradientScaling unclipped = ScaleForMeanAndClip(sums, 4, 100.0);
  EXPECT_DOUBLE_EQ(unclipped.factor, 0.25);
  const GradientScaling off = ScaleForMeanAndClip(sums, 4, 0.0);
  EXPECT_DOUBLE_EQ(off.factor, 0.25);
  EXPECT_NEAR(off.norm, 15.0, 1e-9);
}

}  // namespace
}  // namespace bertfleet
