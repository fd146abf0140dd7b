#pragma once
// A weight for a matmul under CPU autocast, cast to the low-precision type as autocast would,
// but with a backward that adds the low-precision gradient straight into the weight's fp32
// gradient (a view of the flat gradient buffer).
//
// Why: autocast's own cast gives each weight gradient three passes over memory per step: a
// fresh fp32 copy of the bf16 gradient (ToCopyBackward, with the page faults of a new buffer
// every step), then AccumulateGrad adding that copy into the gradient buffer. One in-place
// mixed-type add does the same sum, value for value (the fp32 sum of the same two numbers).
// The parameter's gradient accumulator still runs (with nothing to add), so its post-hooks, such
// as the gradient reducer's, fire at the same point of backward as before.
#include <torch/torch.h>

namespace bertfleet {

// Under CPU autocast, with grad mode on, for an fp32 leaf parameter whose .grad is allocated: the
// cast through the function above. Other non-leaf fp32 tensors (a scaled weight): cast plainly
// (what autocast does to them). Anything else, outside autocast or under no_grad: `weight`
// itself, which autocast then casts (and caches) as usual.
torch::Tensor AutocastWeight(const torch::Tensor& weight);

}  // namespace bertfleet
