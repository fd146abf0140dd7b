#pragma once
// BertModel + BertForSequenceClassification in LibTorch, with Hugging Face parameter names
// (bert.embeddings.*, bert.encoder.layer.N.*, bert.pooler.dense.*, classifier.*), so weights load
// and save by name. The encoder runs on packed (unpadded) tokens: linear layers, LayerNorm and
// GELU see only real tokens (plus filler rows up to a multiple of 64, a row count oneDNN's AMX
// matmul handles at full speed), attention alone sees the padded [batch, heads, len, len] layout.
// The last layer computes only each sequence's first token, the one its pooler reads. The logits
// and gradients equal Hugging Face's padded computation.
#include <torch/torch.h>

#include "common/model/bert_config.h"

namespace bertfleet {

struct ModelInputs {
  torch::Tensor input_ids;       // [batch, seq] int64
  torch::Tensor token_type_ids;  // [batch, seq] int64
  torch::Tensor attention_mask;  // [batch, seq] int64, 1 = real token
};

class BertForSequenceClassificationImpl : public torch::nn::Module {
 public:
  // `initialize` false leaves the parameters uninitialised (for loaders that fill all of them).
  explicit BertForSequenceClassificationImpl(const BertConfig& config, bool initialize = true);

  // Logits [batch, num_labels] (fp32 even under autocast).
  torch::Tensor forward(const ModelInputs& inputs);

  // Hugging Face initialisation: normal(0, initializer_range) for linear/embedding weights,
  // zero biases (and the padding embedding row), LayerNorm weight 1 / bias 0.
  // The weights draw, in the model's parameter order, from one CPU generator seeded with `seed`:
  // the draws `transformers` makes after `set_seed(seed)` when it initialises the same parameters
  // (run_glue sets the seed before loading, so a fresh classifier head equals Hugging Face's).
  void InitWeights(uint64_t seed);
  // Initialises only the named parameters (Hugging Face names, any order), drawing as above for
  // just those; throws Error on an unknown name.
  void InitWeights(uint64_t seed, const std::vector<std::string>& names);

  // Packing (running linear layers, LayerNorm and GELU on real tokens only) is on by default;
  // off runs the padded computation, for benchmarks and tests.
  void set_packing(bool enabled);

  const BertConfig& config() const { return config_; }

 private:
  BertConfig config_;
  // Submodules are registered under Hugging Face names; see bert_model.cc.
  struct Layers;
  std::shared_ptr<Layers> layers_;
};
TORCH_MODULE(BertForSequenceClassification);

}  // namespace bertfleet
