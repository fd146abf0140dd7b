#pragma once
// AdamW over FlatParameters, element for element the update of torch.optim.AdamW
// (single-tensor path) with Hugging Face's two parameter groups.
#include <torch/torch.h>

#include "worker/engine/flat_parameters.h"

namespace bertfleet {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  double weight_decay = 0.0;
};

class AdamWOptimizer {
 public:
  AdamWOptimizer(FlatParameters& parameters, AdamWOptions options);

  // One update with learning rate `lr` using parameters.gradients().
  void Step(double lr);

  int64_t step_count() const { return step_count_; }
  torch::Tensor& exp_avg() { return exp_avg_; }
  torch::Tensor& exp_avg_sq() { return exp_avg_sq_; }
  // For checkpoint restore.
  void Restore(int64_t step_count, const torch::Tensor& exp_avg, const torch::Tensor& exp_avg_sq);

 private:
  FlatParameters& parameters_;
  AdamWOptions options_;
  torch::Tensor exp_avg_;
  torch::Tensor exp_avg_sq_;
  torch::Tensor denominator_;  // reused scratch
  int64_t step_count_ = 0;
};

// Scales gradients so their global L2 norm is at most max_norm (torch's clip_grad_norm_ with
// its 1e-6 guard). Returns the norm before clipping.
double ClipGradientNorm(torch::Tensor& gradients, double max_norm);

}  // namespace bertfleet
