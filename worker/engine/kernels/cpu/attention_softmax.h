#pragma once
// Attention probabilities in one pass: softmax over the keys of scores [batch, heads, queries,
// keys] with masked keys excluded, then dropout with a given keep mask; the backward pass is one
// pass too. Same result as Hugging Face's `softmax(scores + (1 - mask) * finfo.min)` followed by
// dropout (a row whose keys are all masked is uniform, as there), computed in fp32 whatever the
// storage type, replacing four LibTorch 1.13 ops whose bf16 CPU kernels are slow (mask add,
// softmax, dropout, and their backward passes).
#include <torch/torch.h>

namespace bertfleet {

// `key_mask` [batch, keys]: nonzero = real token. `keep`: undefined for no dropout, else a uint8
// mask shaped like scores (1 = keep; see torch_dropout_draws.h), kept probabilities scaled by
// 1/(1 - p). CPU float/bfloat16 tensors use the fused kernels; anything else falls back to the
// equivalent LibTorch ops.
torch::Tensor MaskedSoftmaxDropout(const torch::Tensor& scores, const torch::Tensor& key_mask, const torch::Tensor& keep,
                                   double p);

}  // namespace bertfleet
