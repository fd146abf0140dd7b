#pragma once
// Dropout for CPU tensors with a counter-based random stream: one fused vectorised pass (random bits,
// compare, scale) that runs in parallel, instead of LibTorch 1.13's CPU dropout (a serial
// Mersenne-Twister bernoulli_ pass, then a divide and a multiply), which took a third of a BERT
// train step. Same distribution and scaling (kept values * 1/(1-p)); the random stream differs
// from torch's. Seeded from the default CPU generator (one draw per call), so torch::manual_seed
// and saved generator state make it reproducible, independent of the thread count. The mask is
// recomputed from the seed in the backward pass, so nothing but the seed is stored.
#include <torch/torch.h>

namespace bertfleet {

// Returns dropout(x, p) for training (x unchanged when p <= 0). Differentiable: the backward pass
// applies the same mask. Float, double, bfloat16 and half; other devices fall back to at::dropout.
torch::Tensor FastDropout(const torch::Tensor& x, double p);

// One draw from the default CPU generator, the key of one dropout mask.
uint64_t NextDropoutSeed();

}  // namespace bertfleet
