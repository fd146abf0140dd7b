#pragma once
// AdamW over FlatParameters, element for element the update of torch.optim.AdamW
// (single-tensor path) with Hugging Face's two parameter groups. On CPU it is one fused pass
// (adamw_cpu_kernel.h); on other devices a sequence of tensor ops.
#include <torch/torch.h>

#include "worker/engine/optim/flat_parameters.h"

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

  // One update with learning rate `lr` from parameters.gradients() x gradient_scale. Consumes the
  // gradients: they are zero afterwards, ready for the next step's accumulation.
  void Step(double lr, double gradient_scale = 1.0);

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
  torch::Tensor denominator_;  // scratch of the tensor-op path, made on first use
  int64_t step_count_ = 0;
};

// The trainer accumulates per-example gradient sums; the optimizer step applies their mean over
// `examples`, clipped to a global L2 norm of at most max_norm (torch's clip_grad_norm_ with its
// 1e-6 guard; max_norm <= 0: no clipping), as one factor.
struct GradientScaling {
  double norm = 0;    // of the mean gradient, before clipping
  double factor = 1;  // what AdamWOptimizer::Step multiplies the sums by
};
GradientScaling ScaleForMeanAndClip(const torch::Tensor& gradient_sums, double examples, double max_norm);

}  // namespace bertfleet
