#pragma once
// Dropout masks drawn as LibTorch's own CPU dropout draws them, so that a bertfleet run and a
// Hugging Face run seeded alike drop the same units at every step (docs/job-spec.md, "seed").
//
// torch's CPU dropout is `input * bernoulli_(1 - p) / (1 - p)`. In a LibTorch built without MKL
// (Debian's, the reference here) bernoulli_ draws, element by element in memory order, one double
// from the default CPU generator's MT19937: two consecutive 32-bit words w0, w1 make
// u = ((w0 mod 2^21) * 2^32 + w1) * 2^-53, and the element is kept when u < 1 - p. The draws below
// produce the same bits in bulk and leave the generator where torch would leave it.
#include <torch/torch.h>

#include <cstdint>

namespace bertfleet {

// A [count] uint8 keep mask (1 = keep) for a dropout of probability p over a tensor of `count`
// elements, advancing the default CPU generator by 2 * count words, as torch's dropout would.
torch::Tensor DrawDropoutKeepMask(int64_t count, double p);

// The one int64 that every torch.utils.data.DataLoader iterator draws from the default generator
// (its workers' base seed) when it is created: Trainer makes one per training epoch and one per
// evaluation, and the dropout masks that follow depend on it.
void DrawLikeDataLoaderIterator();

// Whether DrawDropoutKeepMask's masks are the ones this LibTorch's at::dropout would draw: not in
// builds with MKL (the PyPI wheels), whose CPU bernoulli_ uses MKL's own generator instead.
bool DropoutDrawsMatchThisTorch();

}  // namespace bertfleet
