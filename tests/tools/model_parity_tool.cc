// Test helper for tests/python/test_model_parity.py (and a quick speed check). Not part of the
// product. Usage:
//   model_parity_tool grad  MODEL_DIR BATCH.safetensors OUT.safetensors [--seed N] [--bf16] [--train] [--no-pack]
//       loads MODEL_DIR, runs the batch (input_ids, token_type_ids, attention_mask, labels; int64)
//       in eval mode (dropout off) unless --train, the model's loss (mean; MSE for a regression head,
//       float labels), backward, and writes
//       logits, loss and grad.<parameter name> (fp32) to OUT.
//   model_parity_tool save  MODEL_DIR OUT_DIR [--seed N]
//       LoadPretrained + SavePretrained (tokenizer files copied from MODEL_DIR).
//   model_parity_tool bench CONFIG.json BATCH.safetensors [--iters N] [--threads N] [--fp32] [--no-pack]
//       times forward + backward (train mode, bf16 autocast unless --fp32), prints milliseconds;
//       --profile TRACE.json also writes a chrome trace of one more step.
#include <torch/csrc/autograd/profiler.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "common/util/error.h"
#include "worker/engine/kernels/cpu/attention_softmax.h"
#include "worker/engine/model/bert_model.h"
#include "worker/engine/model/sequence_classification_loss.h"
#include "worker/engine/kernels/cpu/dropout.h"
#include "worker/engine/kernels/cpu/torch_dropout_draws.h"
#include "worker/engine/checkpoint/pretrained.h"
#include "worker/engine/checkpoint/safetensors_io.h"
#include "worker/engine/torch/torch_compat.h"

namespace bertfleet {
namespace {

struct Flags {
  std::vector<std::string> positional;
  uint64_t seed = 42;
  bool bf16 = false;
  bool fp32 = false;
  bool train = false;
  bool pack = true;
  int iters = 10;
  int threads = 0;
  std::string profile;  // bench: chrome trace of one extra step
};

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw Error(a + ": missing value");
      return argv[++i];
    };
    if (a == "--seed") f.seed = std::stoull(next());
    else if (a == "--bf16") f.bf16 = true;
    else if (a == "--fp32") f.fp32 = true;
    else if (a == "--train") f.train = true;
    else if (a == "--no-pack") f.pack = false;
    else if (a == "--iters") f.iters = std::stoi(next());
    else if (a == "--threads") f.threads = std::stoi(next());
    else if (a == "--profile") f.profile = next();
    else if (a.rfind("--", 0) == 0) throw Error("unknown flag " + a);
    else f.positional.push_back(a);
  }
  if (f.threads > 0) torch::set_num_threads(f.threads);
  return f;
}

torch::Tensor Require(const SafetensorsContents& batch, const std::string& name, const std::string& file) {
  const torch::Tensor* t = batch.Find(name);
  if (t == nullptr) throw Error(file + ": missing tensor '" + name + "'");
  return t->to(torch::kLong);
}

// Class ids as int64; regression targets keep their float type.
torch::Tensor RequireLabels(const SafetensorsContents& batch, const std::string& file) {
  const torch::Tensor* t = batch.Find("labels");
  if (t == nullptr) throw Error(file + ": missing tensor 'labels'");
  return t->is_floating_point() ? t->to(torch::kFloat32) : t->to(torch::kLong);
}

ModelInputs ReadInputs(const SafetensorsContents& batch, const std::string& file) {
  ModelInputs in;
  in.input_ids = Require(batch, "input_ids", file);
  in.token_type_ids = Require(batch, "token_type_ids", file);
  in.attention_mask = Require(batch, "attention_mask", file);
  return in;
}

int Grad(const Flags& f) {
  if (f.positional.size() != 3) throw Error("grad MODEL_DIR BATCH OUT");
  LoadedModel loaded = LoadPretrained(f.positional[0], f.seed);
  if (const std::string warning = loaded.report.Describe(); !warning.empty()) std::cerr << warning << "\n";
  auto& model = loaded.model;
  model->set_packing(f.pack);
  if (f.train) model->train(); else model->eval();
  const SafetensorsContents batch = LoadSafetensors(f.positional[1]);
  const ModelInputs in = ReadInputs(batch, f.positional[1]);
  const torch::Tensor labels = RequireLabels(batch, f.positional[1]);
  torch::Tensor logits;
  {
    AutocastScope autocast(f.bf16, at::kBFloat16, false);
    logits = model->forward(in);
  }
  // The mean, as Hugging Face's model computes it with labels given.
  const torch::Tensor loss =
      SequenceClassificationLossSum(logits, labels, ProblemTypeOf(loaded.config)) / static_cast<double>(labels.size(0));
  loss.backward();
  NamedTensors out = {{"logits", logits.detach()}, {"loss", loss.detach()}};
  for (const auto& item : model->named_parameters()) {
    out.emplace_back("grad." + item.key(), item.value().grad().detach().to(torch::kFloat));
  }
  SaveSafetensors(f.positional[2], out);
  return 0;
}

int Save(const Flags& f) {
  if (f.positional.size() != 2) throw Error("save MODEL_DIR OUT_DIR");
  LoadedModel loaded = LoadPretrained(f.positional[0], f.seed);
  if (const std::string warning = loaded.report.Describe(); !warning.empty()) std::cerr << warning << "\n";
  SavePretrained(loaded.model, loaded.config, f.positional[0], f.positional[1]);
  return 0;
}

int Bench(const Flags& f) {
  if (f.positional.size() != 2) throw Error("bench CONFIG BATCH");
  const BertConfig config = BertConfig::FromFile(f.positional[0]);
  BertForSequenceClassification model(config);
  model->InitWeights(f.seed);
  model->set_packing(f.pack);
  model->train();
  const SafetensorsContents batch = LoadSafetensors(f.positional[1]);
  const ModelInputs in = ReadInputs(batch, f.positional[1]);
  const torch::Tensor labels = RequireLabels(batch, f.positional[1]);
  torch::manual_seed(0);
  std::vector<double> times, cpu_times;
  for (int i = 0; i < f.iters + 2 + (f.profile.empty() ? 0 : 1); ++i) {
    std::unique_ptr<torch::autograd::profiler::RecordProfile> profiler;
    if (i == f.iters + 2) profiler = std::make_unique<torch::autograd::profiler::RecordProfile>(f.profile);
    const auto start = std::chrono::steady_clock::now();
    const std::clock_t cpu_start = std::clock();
    // Gradients live in persistent buffers zeroed in place, as in bertfleet's trainer (flat
    // gradient buffer) and transformers' Trainer on torch 1.13 (zero_grad(set_to_none=False)).
    for (auto& p : model->parameters()) {
      if (p.grad().defined()) p.mutable_grad().zero_(); else p.mutable_grad() = torch::zeros_like(p);
    }
    torch::Tensor logits;
    {
      AutocastScope autocast(!f.fp32, at::kBFloat16, false);
      logits = model->forward(in);
    }
    (SequenceClassificationLossSum(logits, labels, ProblemTypeOf(config)) / static_cast<double>(labels.size(0)))
        .backward();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    const double cpu_ms = 1000.0 * static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    if (i >= 2 && i < f.iters + 2) {
      times.push_back(ms);
      cpu_times.push_back(cpu_ms);
    }
  }
  std::sort(times.begin(), times.end());
  std::sort(cpu_times.begin(), cpu_times.end());
  const int64_t real = in.attention_mask.sum().item<int64_t>();
  std::cout << "threads=" << torch::get_num_threads() << " batch=" << in.input_ids.size(0) << "x"
            << in.input_ids.size(1) << " real_tokens=" << real << " mode=" << (f.pack ? "packed" : "padded")
            << " precision=" << (f.fp32 ? "fp32" : "bf16") << " median_ms=" << times[times.size() / 2]
            << " min_ms=" << times.front() << " median_cpu_ms=" << cpu_times[cpu_times.size() / 2] << " min_cpu_ms=" << cpu_times.front() << "\n";
  return 0;
}

// Micro-benchmark of Dropout (torch's masks, fused) vs at::dropout (forward + backward) on attention-probs-sized
// bf16 and hidden-sized tensors.
int DropoutBench(const Flags& f) {
  for (auto dtype : {torch::kBFloat16, torch::kFloat}) {
    for (auto shape : {std::vector<int64_t>{16, 12, 90, 90}, std::vector<int64_t>{972, 384}}) {
      const torch::Tensor x = torch::randn(shape).to(dtype).requires_grad_(true);
      for (int fast = 0; fast < 2; ++fast) {
        std::vector<double> fwd, bwd;
        for (int i = 0; i < f.iters + 2; ++i) {
          auto t0 = std::chrono::steady_clock::now();
          torch::Tensor y = fast ? Dropout(x, 0.1) : at::dropout(x, 0.1, true);
          auto t1 = std::chrono::steady_clock::now();
          y.backward(torch::ones_like(y));
          auto t2 = std::chrono::steady_clock::now();
          x.mutable_grad() = torch::Tensor();
          if (i >= 2) {
            fwd.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
            bwd.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
          }
        }
        std::sort(fwd.begin(), fwd.end());
        std::sort(bwd.begin(), bwd.end());
        std::cout << (fast ? "Dropout " : "at::dropout ") << c10::toString(dtype) << " " << c10::str(x.sizes())
                  << " forward_ms=" << fwd[fwd.size() / 2] << " backward_ms=" << bwd[bwd.size() / 2] << "\n";
      }
    }
  }
  return 0;
}

// Micro-benchmark of MaskedSoftmaxDropout vs the unfused ops (mask add, softmax, dropout).
int SoftmaxBench(const Flags& f) {
  const torch::Tensor mask = (torch::arange(90).unsqueeze(0) < torch::randint(30, 91, {16, 1})).to(torch::kLong);
  const double lowest = static_cast<double>(std::numeric_limits<c10::BFloat16>::lowest());
  for (auto dtype : {torch::kBFloat16, torch::kFloat}) {
    const torch::Tensor x = torch::randn({16, 12, 90, 90}).to(dtype).requires_grad_(true);
    const torch::Tensor bias = torch::zeros({16, 1, 1, 90}, x.options().requires_grad(false))
                                   .masked_fill_(mask.eq(0).view({16, 1, 1, 90}), lowest);
    for (int fused = 0; fused < 2; ++fused) {
      std::vector<double> fwd, bwd;
      for (int i = 0; i < f.iters + 2; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        torch::Tensor y = fused ? MaskedSoftmaxDropout(x, mask, DrawDropoutKeepMask(x.numel(), 0.1).view(x.sizes()), 0.1)
                                : Dropout(at::softmax(x + bias, -1), 0.1);
        auto t1 = std::chrono::steady_clock::now();
        y.backward(torch::ones_like(y));
        auto t2 = std::chrono::steady_clock::now();
        x.mutable_grad() = torch::Tensor();
        if (i >= 2) {
          fwd.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
          bwd.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
        }
      }
      std::sort(fwd.begin(), fwd.end());
      std::sort(bwd.begin(), bwd.end());
      std::cout << (fused ? "MaskedSoftmaxDropout " : "add+softmax+Dropout ") << c10::toString(dtype)
                << " forward_ms=" << fwd[fwd.size() / 2] << " backward_ms=" << bwd[bwd.size() / 2] << "\n";
    }
  }
  return 0;
}

}  // namespace
}  // namespace bertfleet

int main(int argc, char** argv) {
  using namespace bertfleet;
  if (argc < 2) {
    std::cerr << "usage: model_parity_tool grad|save|bench ...\n";
    return 2;
  }
  try {
    const Flags flags = ParseFlags(argc, argv);
    const std::string mode = argv[1];
    if (mode == "grad") return Grad(flags);
    if (mode == "save") return Save(flags);
    if (mode == "bench") return Bench(flags);
    if (mode == "dropout") return DropoutBench(flags);
    if (mode == "softmax") return SoftmaxBench(flags);
    std::cerr << "unknown mode " << mode << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
