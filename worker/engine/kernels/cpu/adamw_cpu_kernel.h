#pragma once
// The optimizer step's two passes on CPU: the gradient norm (for clipping), and the AdamW update
// as one fused pass over weights, gradients and both moments. The
// tensor-op form reads and writes the 110M-element buffers of a bert-base model about a dozen
// times per step (~0.45 s here); one pass is bound by a single sweep of memory. Element for
// element it is the fp32 arithmetic of torch.optim.AdamW's single-tensor path.
#include <cstdint>

namespace bertfleet {

struct AdamWStepScalars {
  float gradient_scale = 1.0f;  // applied to each gradient first (1 / examples x clip factor)
  float decay_factor = 1.0f;    // 1 - lr * weight_decay, for elements [0, decay_count)
  float beta1 = 0.9f, one_minus_beta1 = 0.1f;
  float beta2 = 0.999f, one_minus_beta2 = 0.001f;
  float step_size = 0.0f;  // lr / bias_correction1
  float bias_correction2_sqrt = 1.0f;
  float epsilon = 1e-8f;
};

// Updates values, exp_avg and exp_avg_sq in place and leaves gradients zero, ready for the next
// step's accumulation.
void FusedAdamWStepCpu(float* values, float* gradients, float* exp_avg, float* exp_avg_sq, int64_t count,
                       int64_t decay_count, const AdamWStepScalars& scalars);

// Sum of squares in double, one parallel vectorised pass (~3x LibTorch 1.13's norm here).
double SquaredNormCpu(const float* values, int64_t count);

}  // namespace bertfleet
