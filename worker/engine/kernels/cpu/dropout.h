#pragma once
// Dropout with torch's own masks and scaling, applied in one fused parallel pass.
//
// The keep masks are the bits torch's CPU dropout draws from the same generator state
// (torch_dropout_draws.h), so a run seeded like a Hugging Face run drops the same units. Kept
// values are multiplied by 1/(1 - p) rounded to the tensor's dtype, as torch's
// `input * (bernoulli_(1 - p) / (1 - p))` does in that dtype (1.109375 in bf16 for p = 0.1). The
// mask is saved for the backward pass (one byte per element); LibTorch 1.13's own CPU dropout
// (a serial pass, then a divide and a multiply) took a third of a BERT train step.
#include <torch/torch.h>

namespace bertfleet {

// x with the keep mask `keep` ([x.numel()] or x's shape, uint8, 1 = keep) applied and kept values
// scaled; differentiable (the backward applies the same mask and scale). Float and bfloat16 CPU
// tensors take the fused kernel; others the equivalent LibTorch ops.
torch::Tensor ApplyDropoutMask(const torch::Tensor& x, const torch::Tensor& keep, double p);

// Dropout in training over all of x (x unchanged when p <= 0): on CPU the mask torch would draw
// for x, elsewhere at::dropout.
torch::Tensor Dropout(const torch::Tensor& x, double p);

// The same for x holding only the rows `rows` of a [padded_rows, x.size(-1)] tensor (the padded
// tensor Hugging Face's dropout module sees, when x is packed): the mask is drawn over the whole
// padded tensor, as torch would draw it there, then cut to those rows. Undefined `rows`: x is the
// whole tensor.
torch::Tensor DropoutOfRows(const torch::Tensor& x, double p, const torch::Tensor& rows, int64_t padded_rows);

// The factor torch's dropout multiplies kept elements by in dtype `type`.
float DropoutScale(double p, at::ScalarType type);

}  // namespace bertfleet
