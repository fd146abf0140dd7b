// Runs bertfleet's AdamW + learning-rate schedule + gradient clipping on parameters and per-step
// gradients given in a safetensors file, for comparison with torch.optim.AdamW and
// transformers' schedulers (tests/python/test_optimizer_parity.py).
//
//   optimizer_oracle_tool IN.safetensors OUT.safetensors
// IN: tensors "param/<name>" and "grad/<step>/<name>"; metadata lr, weight_decay, warmup_steps,
//     total_steps, steps, schedule, max_grad_norm.
// OUT: "param/<name>" after the last step and "lr" (the rate used at each step).
#include <iostream>

#include "common/train/lr_schedule.h"
#include "worker/engine/optim/adamw_optimizer.h"
#include "worker/engine/optim/flat_parameters.h"
#include "worker/engine/checkpoint/safetensors_io.h"

using namespace bertfleet;

namespace {
struct ParameterHolder : torch::nn::Module {};
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: optimizer_oracle_tool IN.safetensors OUT.safetensors\n";
    return 2;
  }
  const SafetensorsContents input = LoadSafetensors(argv[1]);
  auto meta = [&](const std::string& key) { return std::stod(input.metadata.at(key)); };
  ParameterHolder holder;
  std::vector<std::string> names;
  for (const auto& [name, tensor] : input.tensors) {
    if (name.rfind("param/", 0) == 0) {
      // Module parameter names cannot contain '.', which is why the holder uses '_' and we keep
      // the original name for lookups.
      names.push_back(name.substr(6));
      holder.register_parameter(names.back(), tensor.clone().to(torch::kFloat32));
    }
  }
  FlatParameters parameters(holder);
  AdamWOptimizer optimizer(parameters, AdamWOptions{0.9, 0.999, 1e-8, meta("weight_decay")});
  const int64_t steps = static_cast<int64_t>(meta("steps"));
  LearningRateSchedule schedule(input.metadata.at("schedule"), static_cast<int64_t>(meta("warmup_steps")),
                                static_cast<int64_t>(meta("total_steps")));
  std::vector<double> rates;
  for (int64_t step = 0; step < steps; ++step) {
    torch::NoGradGuard no_grad;
    for (auto& item : holder.named_parameters()) {
      item.value().mutable_grad().copy_(*input.Find("grad/" + std::to_string(step) + "/" + item.key()));
    }
    const GradientScaling scaling = ScaleForMeanAndClip(parameters.gradients(), 1.0, meta("max_grad_norm"));
    const double lr = meta("lr") * schedule.Multiplier(step);
    rates.push_back(lr);
    optimizer.Step(lr, scaling.factor);
  }
  NamedTensors output;
  for (auto& item : holder.named_parameters()) output.emplace_back("param/" + item.key(), item.value().detach().clone());
  output.emplace_back("lr", torch::tensor(rates, torch::kFloat64));
  SaveSafetensors(argv[2], output);
  return 0;
}
