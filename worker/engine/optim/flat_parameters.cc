#include "worker/engine/optim/flat_parameters.h"

namespace bertfleet {

bool FlatParameters::IsNoDecayParameter(const std::string& name) {
  // transformers' Trainer.get_decay_parameter_names: every parameter of a LayerNorm module and
  // every bias.
  const bool bias = name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0;
  return bias || name.find("LayerNorm") != std::string::npos;
}

FlatParameters::FlatParameters(torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> decay, no_decay;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    if (!item.value().requires_grad()) continue;
    (IsNoDecayParameter(item.key()) ? no_decay : decay).emplace_back(item.key(), item.value());
  }
  int64_t total = 0;
  for (const auto* group : {&decay, &no_decay}) {
    for (const auto& [name, tensor] : *group) total += tensor.numel();
  }
  const auto options = torch::TensorOptions().dtype(torch::kFloat32);
  const torch::Device device = decay.empty() ? torch::kCPU : decay.front().second.device();
  values_ = torch::empty({total}, options.device(device));
  gradients_ = torch::zeros({total}, options.device(device));

  torch::NoGradGuard no_grad;
  int64_t offset = 0;
  for (const auto* group : {&decay, &no_decay}) {
    for (const auto& [name, tensor] : *group) {
      const int64_t n = tensor.numel();
      auto value_view = values_.narrow(0, offset, n).view(tensor.sizes());
      value_view.copy_(tensor);
      // set_data keeps the Parameter (and its autograd identity) but moves its storage.
      torch::Tensor parameter = tensor;
      parameter.set_data(value_view);
      parameter.mutable_grad() = gradients_.narrow(0, offset, n).view(tensor.sizes());
      names_.push_back(name);
      offset += n;
    }
    if (group == &decay) decay_count_ = offset;
  }
}

}  // namespace bertfleet
