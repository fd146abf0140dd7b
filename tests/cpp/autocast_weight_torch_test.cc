#include <gtest/gtest.h>
#include <torch/csrc/autograd/functions/accumulate_grad.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/torch.h>

#include "worker/engine/kernels/cpu/autocast_weight.h"
#include "worker/engine/torch/torch_compat.h"

namespace bertfleet {
namespace {

struct LinearCase {
  torch::Tensor x, weight, bias;
};

// The same inputs, parameters and starting gradients twice over.
LinearCase MakeCase(bool nonzero_gradients) {
  torch::manual_seed(3);
  LinearCase c;
  c.x = torch::randn({20, 32}).requires_grad_(true);
  c.weight = (torch::randn({37, 32}) * 0.1).requires_grad_(true);
  c.bias = torch::randn({37}).requires_grad_(true);
  for (torch::Tensor* p : {&c.weight, &c.bias}) {
    p->mutable_grad() = nonzero_gradients ? torch::randn_like(*p) : torch::zeros_like(*p);
  }
  return c;
}

LinearCase Clone(const LinearCase& c) {
  LinearCase copy;
  copy.x = c.x.detach().clone().requires_grad_(true);
  copy.weight = c.weight.detach().clone().requires_grad_(true);
  copy.bias = c.bias.detach().clone().requires_grad_(true);
  copy.weight.mutable_grad() = c.weight.grad().clone();
  copy.bias.mutable_grad() = c.bias.grad().clone();
  return copy;
}

TEST(AutocastWeight, SameOutputAndGradientsAsAutocastsOwnCast) {
  for (bool nonzero_gradients : {false, true}) {
    SCOPED_TRACE(nonzero_gradients ? "gradients accumulated onto earlier ones" : "zeroed gradients");
    const LinearCase reference = MakeCase(nonzero_gradients);
    const LinearCase ours = Clone(reference);
    const float* weight_gradient_memory = ours.weight.grad().data_ptr<float>();
    torch::Tensor expected, actual;
    {
      AutocastScope autocast(true, at::kBFloat16, false);
      expected = at::linear(reference.x, reference.weight, reference.bias);
      actual = at::linear(ours.x, AutocastWeight(ours.weight), AutocastWeight(ours.bias));
    }
    ASSERT_EQ(actual.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(torch::equal(actual, expected));
    const torch::Tensor upstream = torch::randn(expected.sizes()).to(torch::kBFloat16);
    expected.backward(upstream);
    actual.backward(upstream);
    EXPECT_TRUE(torch::equal(ours.weight.grad(), reference.weight.grad()));
    EXPECT_TRUE(torch::equal(ours.bias.grad(), reference.bias.grad()));
    EXPECT_TRUE(torch::equal(ours.x.grad(), reference.x.grad()));
    EXPECT_EQ(ours.weight.grad().data_ptr<float>(), weight_gradient_memory);  // summed in place
    EXPECT_GT(ours.weight.grad().abs().sum().item<double>(), 0.0);
  }
}

TEST(AutocastWeight, AccumulatorPostHookRunsAfterTheGradientIsIn) {
  // The gradient reducer starts a bucket's all-reduce from this hook.
  const LinearCase c = MakeCase(false);
  int calls = 0;
  torch::Tensor seen;
  auto accumulator = torch::autograd::impl::grad_accumulator(c.weight);
  accumulator->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
      [&](const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) {
        ++calls;
        seen = c.weight.grad().clone();
        return outputs;
      }));
  torch::Tensor y;
  {
    AutocastScope autocast(true, at::kBFloat16, false);
    y = at::linear(c.x, AutocastWeight(c.weight), AutocastWeight(c.bias));
  }
  y.sum().backward();
  EXPECT_EQ(calls, 1);
  ASSERT_TRUE(seen.defined());
  EXPECT_TRUE(torch::equal(seen, c.weight.grad()));
  EXPECT_GT(seen.abs().sum().item<double>(), 0.0);
}

TEST(AutocastWeight, PlainWeightWhereTheCastDoesNotApply) {
  const LinearCase c = MakeCase(false);
  EXPECT_TRUE(AutocastWeight(c.weight).is_same(c.weight));  // autocast off
  AutocastScope autocast(true, at::kBFloat16, false);
  {
    torch::NoGradGuard no_grad;  // evaluation: autocast casts and caches it
    EXPECT_TRUE(AutocastWeight(c.weight).is_same(c.weight));
  }
  const torch::Tensor no_gradient_yet = torch::randn({4, 4}).requires_grad_(true);
  EXPECT_TRUE(AutocastWeight(no_gradient_yet).is_same(no_gradient_yet));
  const torch::Tensor scaled = c.weight * 0.5;  // not a leaf: cast as autocast would
  EXPECT_EQ(AutocastWeight(scaled).scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(AutocastWeight(scaled), scaled.to(torch::kBFloat16)));
  const torch::Tensor ours = AutocastWeight(c.weight);
  EXPECT_EQ(ours.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(ours.requires_grad());
}

}  // namespace
}  // namespace bertfleet
