#pragma once
// All trainable parameters live in one contiguous fp32 buffer, and so do their gradients
// (autograd accumulates in place into the views). One buffer means one all-reduce, one norm
// and an optimizer step of a few large vector ops instead of hundreds of small ones.
// Parameters are laid out decay-first, so each Hugging Face parameter group is one range.
#include <string>
#include <vector>

#include <torch/torch.h>

namespace bertfleet {

class FlatParameters {
 public:
  // Takes ownership of `module`'s parameter storage. Hugging Face's grouping: biases and
  // LayerNorm weights get no weight decay.
  explicit FlatParameters(torch::nn::Module& module);

  torch::Tensor& values() { return values_; }
  torch::Tensor& gradients() { return gradients_; }
  int64_t decay_count() const { return decay_count_; }  // values_[0, decay_count) decays
  int64_t size() const { return values_.numel(); }
  const std::vector<std::string>& names() const { return names_; }  // layout order

  void ZeroGradients() { gradients_.zero_(); }

  static bool IsNoDecayParameter(const std::string& name);

 private:
  torch::Tensor values_;
  torch::Tensor gradients_;
  int64_t decay_count_ = 0;
  std::vector<std::string> names_;
};

}  // namespace bertfleet
