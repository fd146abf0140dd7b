#include "worker/engine/model/bert_model.h"

#include <cmath>
#include <optional>
#include <set>

#include "common/util/error.h"
#include "worker/engine/kernels/cpu/attention_softmax.h"
#include "worker/engine/kernels/cpu/autocast_weight.h"
#include "worker/engine/kernels/cpu/dropout.h"
#include "worker/engine/kernels/cpu/packed_attention.h"
#include "worker/engine/kernels/cpu/torch_dropout_draws.h"

namespace bertfleet {

namespace {

constexpr int64_t kPackedRowMultiple = 64;

struct Affine {
  torch::Tensor weight, bias;
};

torch::nn::Module& Child(torch::nn::Module& parent, const std::string& name) {
  return *parent.register_module(name, std::make_shared<torch::nn::Module>());
}

torch::Tensor Param(torch::nn::Module& module, const std::string& name, std::vector<int64_t> shape) {
  return module.register_parameter(name, torch::empty(shape));
}

// Registers `name` with weight `weight_shape` and bias [bias_size] under `parent`.
Affine RegisterAffine(torch::nn::Module& parent, const std::string& name, std::vector<int64_t> weight_shape,
                      int64_t bias_size) {
  torch::nn::Module& m = Child(parent, name);
  Affine a;
  a.weight = Param(m, "weight", std::move(weight_shape));
  a.bias = Param(m, "bias", {bias_size});
  return a;
}

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

torch::Tensor Linear(const torch::Tensor& x, const Affine& a) {
  return at::linear(x, AutocastWeight(a.weight), AutocastWeight(a.bias));
}

// Several projections of one input as one matmul: [tokens, sum of their output sizes].
torch::Tensor FusedLinear(const torch::Tensor& x, std::initializer_list<Affine> parts) {
  std::vector<torch::Tensor> weights, biases;
  for (const Affine& a : parts) {
    weights.push_back(AutocastWeight(a.weight));
    biases.push_back(AutocastWeight(a.bias));
  }
  return at::linear(x, torch::cat(weights), torch::cat(biases));
}

torch::Tensor Norm(const torch::Tensor& x, const Affine& a, double eps) {
  return at::layer_norm(x, {a.weight.size(0)}, a.weight, a.bias, eps);
}

// Dropout in train mode only, of x's rows of the padded tensor Hugging Face's module sees (see
// DropoutOfRows), so the generator stays in step with Hugging Face's.
torch::Tensor DropRows(const torch::Tensor& x, double p, bool training, const torch::Tensor& rows, int64_t padded_rows) {
  return training ? DropoutOfRows(x, p, rows, padded_rows) : x;
}

// x + residual, in place on x (a fresh activation) when the dtypes agree; under autocast x is
// bf16 and the residual fp32, and the sum is fp32 as in Hugging Face.
torch::Tensor AddResidual(torch::Tensor x, const torch::Tensor& residual) {
  if (x.scalar_type() == residual.scalar_type()) return x.add_(residual);
  return at::add(x, residual);
}

torch::Tensor AsLong(const torch::Tensor& t) {
  return t.scalar_type() == torch::kLong ? t : t.to(torch::kLong);
}

}  // namespace

// Parameters are registered on a tree of plain modules named as Hugging Face's, so
// named_parameters() yields bert.embeddings.word_embeddings.weight, ..., classifier.bias in
// Hugging Face's order. The handles below alias the registered tensors (same TensorImpl, so
// Module::to() and in-place optimizer updates are seen here).
struct BertForSequenceClassificationImpl::Layers {
  struct EncoderLayer {
    Affine query, key, value, attention_output, attention_norm, intermediate, output, output_norm;
  };
  torch::Tensor word_embeddings, position_embeddings, token_type_embeddings;
  Affine embeddings_norm;
  std::vector<EncoderLayer> layers;
  Affine pooler, classifier;
  bool packing = true;
};

BertForSequenceClassificationImpl::BertForSequenceClassificationImpl(const BertConfig& config, bool initialize)
    : config_(config), layers_(std::make_shared<Layers>()) {
  const int64_t h = config.hidden_size;
  auto& L = *layers_;
  torch::nn::Module& bert = Child(*this, "bert");

  torch::nn::Module& embeddings = Child(bert, "embeddings");
  L.word_embeddings = Param(Child(embeddings, "word_embeddings"), "weight", {config.vocab_size, h});
  L.position_embeddings =
      Param(Child(embeddings, "position_embeddings"), "weight", {config.max_position_embeddings, h});
  L.token_type_embeddings =
      Param(Child(embeddings, "token_type_embeddings"), "weight", {config.type_vocab_size, h});
  L.embeddings_norm = RegisterAffine(embeddings, "LayerNorm", {h}, h);

  torch::nn::Module& layer_list = Child(Child(bert, "encoder"), "layer");
  L.layers.resize(config.num_hidden_layers);
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    auto& layer = L.layers[i];
    torch::nn::Module& block = Child(layer_list, std::to_string(i));
    torch::nn::Module& attention = Child(block, "attention");
    torch::nn::Module& self = Child(attention, "self");
    layer.query = RegisterAffine(self, "query", {h, h}, h);
    layer.key = RegisterAffine(self, "key", {h, h}, h);
    layer.value = RegisterAffine(self, "value", {h, h}, h);
    torch::nn::Module& attention_output = Child(attention, "output");
    layer.attention_output = RegisterAffine(attention_output, "dense", {h, h}, h);
    layer.attention_norm = RegisterAffine(attention_output, "LayerNorm", {h}, h);
    layer.intermediate =
        RegisterAffine(Child(block, "intermediate"), "dense", {config.intermediate_size, h}, config.intermediate_size);
    torch::nn::Module& output = Child(block, "output");
    layer.output = RegisterAffine(output, "dense", {h, config.intermediate_size}, h);
    layer.output_norm = RegisterAffine(output, "LayerNorm", {h}, h);
  }
  L.pooler = RegisterAffine(Child(bert, "pooler"), "dense", {h, h}, h);
  L.classifier = RegisterAffine(*this, "classifier", {config.num_labels, h}, config.num_labels);
  if (initialize) InitWeights(0);
}

void BertForSequenceClassificationImpl::set_packing(bool enabled) { layers_->packing = enabled; }

void BertForSequenceClassificationImpl::InitWeights(uint64_t seed) {
  std::vector<std::string> names;
  for (const auto& item : named_parameters()) names.push_back(item.key());
  InitWeights(seed, names);
}

void BertForSequenceClassificationImpl::InitWeights(uint64_t seed, const std::vector<std::string>& names) {
  torch::NoGradGuard no_grad;
  auto parameters = named_parameters();
  std::set<std::string> wanted;
  for (const auto& name : names) {
    if (parameters.find(name) == nullptr) throw Error("InitWeights: the model has no parameter '" + name + "'");
    wanted.insert(name);
  }
  at::Generator generator = at::detail::createCPUGenerator(seed);
  for (auto& item : parameters) {
    const std::string& name = item.key();
    if (wanted.count(name) == 0) continue;
    torch::Tensor& p = item.value();
    if (EndsWith(name, "LayerNorm.weight")) {
      p.fill_(1.0);
    } else if (EndsWith(name, ".bias")) {
      p.zero_();
    } else {
      if (p.is_cpu()) {
        p.normal_(0.0, config_.initializer_range, generator);
      } else {  // a CPU generator fills CPU tensors only; same values on any device
        p.copy_(torch::empty(p.sizes(), p.options().device(torch::kCPU)).normal_(0.0, config_.initializer_range, generator));
      }
      if (name == "bert.embeddings.word_embeddings.weight" && config_.pad_token_id >= 0) {
        p.select(0, config_.pad_token_id).zero_();
      }
    }
  }
}

torch::Tensor BertForSequenceClassificationImpl::forward(const ModelInputs& inputs) {
  const auto& L = *layers_;
  const BertConfig& c = config_;
  const bool training = is_training();

  if (!inputs.input_ids.defined() || inputs.input_ids.dim() != 2) {
    throw Error("BertForSequenceClassification: input_ids must be [batch, seq]");
  }
  const torch::Tensor ids = AsLong(inputs.input_ids);
  const int64_t batch = ids.size(0), seq = ids.size(1), total = batch * seq;
  if (batch == 0 || seq == 0) throw Error("BertForSequenceClassification: empty batch");
  if (seq > c.max_position_embeddings) {
    throw Error("BertForSequenceClassification: sequence length " + std::to_string(seq) +
                " exceeds max_position_embeddings " + std::to_string(c.max_position_embeddings));
  }
  auto check_shape = [&](const torch::Tensor& t, const char* what) {
    if (t.defined() && t.sizes() != ids.sizes()) {
      throw Error(std::string("BertForSequenceClassification: ") + what + " shape " + c10::str(t.sizes()) +
                  " differs from input_ids " + c10::str(ids.sizes()));
    }
  };
  check_shape(inputs.token_type_ids, "token_type_ids");
  check_shape(inputs.attention_mask, "attention_mask");
  {
    const auto [lo, hi] = at::aminmax(ids);
    if (lo.item<int64_t>() < 0 || hi.item<int64_t>() >= c.vocab_size) {
      throw Error("BertForSequenceClassification: token id out of range [0, " + std::to_string(c.vocab_size) +
                  "): min " + std::to_string(lo.item<int64_t>()) + ", max " + std::to_string(hi.item<int64_t>()));
    }
  }
  torch::Tensor types;
  if (inputs.token_type_ids.defined()) {
    types = AsLong(inputs.token_type_ids);
    const auto [lo, hi] = at::aminmax(types);
    if (lo.item<int64_t>() < 0 || hi.item<int64_t>() >= c.type_vocab_size) {
      throw Error("BertForSequenceClassification: token_type_id out of range [0, " +
                  std::to_string(c.type_vocab_size) + ")");
    }
  }
  const torch::Tensor mask = inputs.attention_mask.defined()
                                 ? inputs.attention_mask
                                 : torch::ones({batch, seq}, ids.options());

  // Rows of the packed layout: real tokens plus each sequence's first token (read by the pooler,
  // computed by Hugging Face even when masked), then filler rows up to a multiple of
  // kPackedRowMultiple. The filler is not for alignment: oneDNN 2.6's AMX matmul runs some row
  // counts 5-9x slower than their neighbours (848 or 944 rows x 768 x 3072: ~50 GFLOP/s against
  // ~400), and the multiples of 64 are free of that; see docs/benchmarks.md. Filler rows sit at
  // flattened positions past batch * seq: attention never sees them and nothing reads their
  // outputs, so they change no real token and receive zero gradient.
  torch::Tensor keep = mask.ne(0);
  keep.select(1, 0).fill_(true);
  const torch::Tensor counts = keep.sum(1);  // [batch] kept tokens per sequence
  const int64_t kept = counts.sum().item<int64_t>();
  const int64_t rows = (kept + kPackedRowMultiple - 1) / kPackedRowMultiple * kPackedRowMultiple;
  const bool packed = L.packing && rows != total;
  const int64_t filler = packed ? rows - kept : 0;

  torch::Tensor index;  // [rows] positions in the flattened [batch * seq (+ filler)] layout
  torch::Tensor first_rows;  // [batch] row of each sequence's first token in the packed layout
  if (packed) {
    index = keep.reshape({total}).nonzero().squeeze(1);
    if (filler > 0) index = torch::cat({index, torch::arange(total, total + filler, index.options())});
    first_rows = counts.cumsum(0).sub_(counts);
  } else {
    index = torch::arange(total, ids.options());
    first_rows = torch::arange(0, total, seq, ids.options());
  }
  // Attention straight over the rows (kernels/cpu/packed_attention.h) where each sequence's rows
  // are consecutive and its kept tokens a prefix whose first token is real (right padding, as the
  // tokenizer pads): its keys are then exactly the real ones. Anything else stays padded.
  std::optional<PackedSequences> sequences;
  if (ids.device().is_cpu() && (packed || kept == total) && mask.select(1, 0).ne(0).all().item<bool>() &&
      keep.equal(torch::arange(seq, counts.options()).unsqueeze(0) < counts.unsqueeze(1))) {
    const torch::Tensor starts = first_rows.contiguous(), lengths = counts.to(torch::kLong).contiguous();
    const int64_t* start = starts.data_ptr<int64_t>();
    const int64_t* length = lengths.data_ptr<int64_t>();
    std::vector<int64_t> key_starts(start, start + batch), key_counts(length, length + batch);
    sequences = PackedSequences{key_starts, key_counts, key_starts, key_counts};
  }
  // The padded row each packed row's dropout mask comes from (filler rows: any row).
  const torch::Tensor padded_rows_of_packed = packed ? index.clamp_max(total - 1) : torch::Tensor();
  // Rows of a [batch * seq, ...] tensor in the packed layout; filler rows hold `fill`.
  auto pack_rows = [&](const torch::Tensor& flat, double fill) {
    if (!packed) return flat;
    std::vector<int64_t> pad(2 * flat.dim(), 0);
    pad.back() = filler;  // constant_pad_nd lists the last dimension first
    return (filler > 0 ? at::constant_pad_nd(flat, pad, fill) : flat).index_select(0, index);
  };
  // Embeddings (fp32, as Hugging Face: embedding and LayerNorm inputs are fp32 under autocast).
  // When the word embeddings already hold a dense gradient (the trainer's flat gradient buffer),
  // a sparse gradient is accumulated into its rows: no dense [vocab, hidden] temporary to zero,
  // fill and add (as large as the whole encoder layer stack for MiniLM).
  const torch::Tensor& word_grad = L.word_embeddings.grad();
  const bool sparse_word_grad = torch::GradMode::is_enabled() && L.word_embeddings.requires_grad() &&
                                word_grad.defined() && !word_grad.is_sparse();
  // Filler rows read the padding embedding, which never receives a gradient.
  const torch::Tensor flat_ids = pack_rows(ids.reshape({total}), std::max<int64_t>(c.pad_token_id, 0));
  const torch::Tensor positions = index.remainder(seq);
  torch::Tensor hidden = at::embedding(L.word_embeddings, flat_ids, c.pad_token_id, false, sparse_word_grad);
  if (types.defined()) {
    hidden = hidden + at::embedding(L.token_type_embeddings, pack_rows(types.reshape({total}), 0));
  } else {
    hidden = hidden + L.token_type_embeddings.select(0, 0);
  }
  hidden.add_(at::embedding(L.position_embeddings, positions));
  hidden = DropRows(Norm(hidden, L.embeddings_norm, c.layer_norm_eps), c.hidden_dropout_prob, training,
                    padded_rows_of_packed, total);

  const int64_t h = c.hidden_size, heads = c.num_attention_heads, head_dim = h / heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  const double attention_dropout = c.attention_probs_dropout_prob;

  // 1/sqrt(head_dim) folded into the query weights.
  auto scaled_query = [&](const Affine& query) { return Affine{query.weight * scale, query.bias * scale}; };
  // [tokens, parts * h] projections in the padded [parts, batch, heads, seq, head_dim] layout, as
  // parts tensors. unbind, not select: its backward is one stack, where each select's backward
  // would build a zero tensor the size of all of them.
  auto to_heads = [&](torch::Tensor projected) {
    const int64_t parts = projected.size(1) / h;
    if (packed) {
      projected = torch::zeros({total + filler, parts * h}, projected.options())
                      .index_copy_(0, index, projected)
                      .narrow(0, 0, total);
    }
    return projected.view({batch, seq, parts, heads, head_dim}).permute({2, 0, 3, 1, 4}).contiguous().unbind(0);
  };
  // Attention dropout's keep mask over Hugging Face's [batch, heads, seq, seq] (undefined: none);
  // each layer draws one, whichever attention runs.
  auto draw_attention_keep = [&] {
    if (!training || attention_dropout <= 0) return torch::Tensor();
    return DrawDropoutKeepMask(batch * heads * seq * seq, attention_dropout).view({batch, heads, seq, seq});
  };
  // Where packed attention does not run (other devices, bf16, masks that are not right padding):
  // attention in the padded [batch, heads, queries, seq] layout with Hugging Face's additive mask,
  // fused with dropout (per-sequence attention out of LibTorch ops measured no faster: many small
  // ops; packed_attention.cc does it in one kernel). The dropout mask is cut to the queries
  // computed here. Returns the context as [batch * queries, h].
  auto attend = [&](const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value) {
    const torch::Tensor scores = at::matmul(query, key.transpose(-1, -2));
    const bool drop = training && attention_dropout > 0;
    torch::Tensor probs;
    if (drop && !scores.device().is_cpu()) {
      probs = at::dropout(MaskedSoftmaxDropout(scores, mask, torch::Tensor(), 0.0), attention_dropout, true);
    } else {
      torch::Tensor keep = draw_attention_keep();
      if (keep.defined()) keep = keep.narrow(2, 0, scores.size(2));
      probs = MaskedSoftmaxDropout(scores, mask, keep, attention_dropout);
    }
    return at::matmul(probs, value).transpose(1, 2).reshape({-1, h});
  };
  // The padded rows of the last layer's rows (each sequence's first token).
  const torch::Tensor first_padded_rows = torch::arange(0, total, seq, ids.options());

  // The last layer computes only each sequence's first token, the one row the pooler reads: its
  // keys and values still span every token, but its query, attention output and feed-forward
  // run on `batch` rows instead of every token (a twelfth of bert-base's matmuls saved). Hugging
  // Face computes every row and discards all but these, so logits and gradients are the same.
  const int64_t layer_count = static_cast<int64_t>(L.layers.size());
  for (int64_t i = 0; i < layer_count; ++i) {
    const auto& layer = L.layers[i];
    torch::Tensor context, residual, rows = padded_rows_of_packed;
    if (i + 1 < layer_count) {
      const torch::Tensor projected = FusedLinear(hidden, {scaled_query(layer.query), layer.key, layer.value});
      if (sequences && PackedAttentionSupported(projected)) {
        context = PackedAttention(projected, 0, projected, h, 2 * h, heads, head_dim, *sequences,
                                  draw_attention_keep(), attention_dropout);
      } else {
        const std::vector<torch::Tensor> q_k_v = to_heads(projected);
        context = pack_rows(attend(q_k_v[0], q_k_v[1], q_k_v[2]), 0);
      }
      residual = hidden;
    } else {
      const torch::Tensor projected = FusedLinear(hidden, {layer.key, layer.value});
      residual = hidden.index_select(0, first_rows);  // [batch, h]
      const torch::Tensor query_rows = Linear(residual, scaled_query(layer.query));
      if (sequences && PackedAttentionSupported(projected) && PackedAttentionSupported(query_rows)) {
        PackedSequences first_queries = *sequences;
        first_queries.query_counts.assign(batch, 1);
        for (int64_t b = 0; b < batch; ++b) first_queries.query_starts[b] = b;
        context = PackedAttention(query_rows, 0, projected, 0, h, heads, head_dim, first_queries,
                                  draw_attention_keep(), attention_dropout);
      } else {
        const std::vector<torch::Tensor> k_v = to_heads(projected);
        context = attend(query_rows.view({batch, 1, heads, head_dim}).transpose(1, 2), k_v[0], k_v[1]);
      }
      rows = first_padded_rows;
    }
    torch::Tensor attention =
        DropRows(Linear(context, layer.attention_output), c.hidden_dropout_prob, training, rows, total);
    hidden = Norm(AddResidual(attention, residual), layer.attention_norm, c.layer_norm_eps);
    const torch::Tensor intermediate = at::gelu(Linear(hidden, layer.intermediate));
    torch::Tensor output = DropRows(Linear(intermediate, layer.output), c.hidden_dropout_prob, training, rows, total);
    hidden = Norm(AddResidual(output, hidden), layer.output_norm, c.layer_norm_eps);
  }

  // [batch, h]: the last layer already left only the first tokens.
  const torch::Tensor first = layer_count > 0 ? hidden : hidden.index_select(0, first_rows);
  const torch::Tensor pooled = at::tanh(Linear(first, L.pooler));
  const torch::Tensor logits =
      Linear(DropRows(pooled, c.EffectiveClassifierDropout(), training, torch::Tensor(), batch), L.classifier);
  return logits.scalar_type() == torch::kFloat ? logits : logits.to(torch::kFloat);
}

}  // namespace bertfleet
