#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "error_of.h"
#include "common/model/safetensors_format.h"
#include "common/util/error.h"
#include "common/util/file_io.h"
#include "worker/engine/kernels/cpu/attention_softmax.h"
#include "worker/engine/model/bert_model.h"
#include "worker/engine/kernels/cpu/dropout.h"
#include "worker/engine/kernels/cpu/torch_dropout_draws.h"
#include "worker/engine/checkpoint/pretrained.h"
#include "worker/engine/checkpoint/safetensors_io.h"
#include "worker/engine/torch/torch_compat.h"

namespace bertfleet {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

BertConfig TinyConfig() {
  BertConfig c;
  c.vocab_size = 99;
  c.hidden_size = 32;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.intermediate_size = 37;
  c.max_position_embeddings = 64;
  c.num_labels = 3;
  return c;
}

// input_ids etc. for rows with the given real lengths, padded to `seq` (id 0, mask 0).
ModelInputs MakeBatch(const std::vector<int64_t>& lengths, int64_t seq, uint64_t seed = 7) {
  std::mt19937_64 rng(seed);
  const int64_t batch = static_cast<int64_t>(lengths.size());
  ModelInputs in;
  in.input_ids = torch::zeros({batch, seq}, torch::kLong);
  in.token_type_ids = torch::zeros({batch, seq}, torch::kLong);
  in.attention_mask = torch::zeros({batch, seq}, torch::kLong);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < lengths[b]; ++t) {
      in.input_ids[b][t] = static_cast<int64_t>(1 + rng() % 98);
      in.token_type_ids[b][t] = t >= lengths[b] / 2 ? 1 : 0;
      in.attention_mask[b][t] = 1;
    }
  }
  return in;
}

class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("bert_model_torch_test." + std::to_string(::getpid()) + "." + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

using testing::ErrorOf;

void ExpectSameParameters(BertForSequenceClassification& a, BertForSequenceClassification& b) {
  auto pa = a->named_parameters();
  auto pb = b->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) {
    const torch::Tensor* other = pb.find(item.key());
    ASSERT_NE(other, nullptr) << item.key();
    EXPECT_TRUE(torch::equal(item.value(), *other)) << item.key();
  }
}

TEST(BertModel, ParameterNamesAndShapesAreHuggingFaces) {
  BertForSequenceClassification model(TinyConfig());
  std::vector<std::string> expected = {
      "bert.embeddings.word_embeddings.weight", "bert.embeddings.position_embeddings.weight",
      "bert.embeddings.token_type_embeddings.weight", "bert.embeddings.LayerNorm.weight",
      "bert.embeddings.LayerNorm.bias"};
  for (int i = 0; i < 2; ++i) {
    const std::string p = "bert.encoder.layer." + std::to_string(i) + ".";
    for (const char* s : {"attention.self.query", "attention.self.key", "attention.self.value",
                          "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",
                          "output.dense", "output.LayerNorm"}) {
      expected.push_back(p + s + ".weight");
      expected.push_back(p + s + ".bias");
    }
  }
  for (const char* s : {"bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias"}) {
    expected.push_back(s);
  }
  std::vector<std::string> names;
  for (const auto& item : model->named_parameters()) names.push_back(item.key());
  EXPECT_EQ(names, expected);

  auto params = model->named_parameters();
  EXPECT_EQ(params["bert.embeddings.word_embeddings.weight"].sizes(), torch::IntArrayRef({99, 32}));
  EXPECT_EQ(params["bert.embeddings.position_embeddings.weight"].sizes(), torch::IntArrayRef({64, 32}));
  EXPECT_EQ(params["bert.encoder.layer.1.intermediate.dense.weight"].sizes(), torch::IntArrayRef({37, 32}));
  EXPECT_EQ(params["bert.encoder.layer.1.output.dense.weight"].sizes(), torch::IntArrayRef({32, 37}));
  EXPECT_EQ(params["classifier.weight"].sizes(), torch::IntArrayRef({3, 32}));
  EXPECT_TRUE(model->named_buffers().is_empty());
}

TEST(BertModel, InitWeightsFollowsHuggingFace) {
  BertConfig config = TinyConfig();
  config.initializer_range = 0.5;
  BertForSequenceClassification model(config);
  model->InitWeights(3);
  auto p = model->named_parameters();
  EXPECT_TRUE(torch::equal(p["bert.embeddings.LayerNorm.weight"], torch::ones({32})));
  EXPECT_TRUE(torch::equal(p["bert.encoder.layer.0.output.LayerNorm.bias"], torch::zeros({32})));
  EXPECT_TRUE(torch::equal(p["classifier.bias"], torch::zeros({3})));
  EXPECT_TRUE(torch::equal(p["bert.embeddings.word_embeddings.weight"][0], torch::zeros({32})));  // pad row
  const torch::Tensor w = p["bert.encoder.layer.0.intermediate.dense.weight"];
  EXPECT_NEAR(w.std().item<double>(), 0.5, 0.05);
  EXPECT_NEAR(w.mean().item<double>(), 0.0, 0.05);
  // Deterministic per seed; different seeds differ.
  BertForSequenceClassification again(config);
  again->InitWeights(3);
  ExpectSameParameters(model, again);
  again->InitWeights(4);
  EXPECT_FALSE(torch::equal(again->named_parameters()["classifier.weight"], p["classifier.weight"]));
  // A fresh head alone takes the first draws of a generator seeded with the seed, as
  // `transformers` does after set_seed(seed) (tests/python/test_trainer_hf_parity.py checks that
  // side); the pooler, listed first here, draws before the classifier as in Hugging Face's module
  // order, whatever order the names come in.
  again->InitWeights(3, {"classifier.weight", "classifier.bias"});
  at::Generator generator = at::detail::createCPUGenerator(3);
  const torch::Tensor first_draws = torch::empty({3, 32}).normal_(0.0, 0.5, generator);
  EXPECT_TRUE(torch::equal(again->named_parameters()["classifier.weight"], first_draws));
  again->InitWeights(3, {"classifier.weight", "bert.pooler.dense.weight"});
  generator = at::detail::createCPUGenerator(3);
  const torch::Tensor pooler = torch::empty({32, 32}).normal_(0.0, 0.5, generator);
  const torch::Tensor classifier = torch::empty({3, 32}).normal_(0.0, 0.5, generator);
  EXPECT_TRUE(torch::equal(again->named_parameters()["bert.pooler.dense.weight"], pooler));
  EXPECT_TRUE(torch::equal(again->named_parameters()["classifier.weight"], classifier));
  EXPECT_THROW(again->InitWeights(3, {"no.such.weight"}), Error);
}

TEST(BertModel, ForwardShapesEvalDeterminismAndTrainDropout) {
  torch::manual_seed(0);
  BertForSequenceClassification model(TinyConfig());
  const ModelInputs in = MakeBatch({5, 9, 2}, 9);
  model->eval();
  const torch::Tensor a = model->forward(in);
  EXPECT_EQ(a.sizes(), torch::IntArrayRef({3, 3}));
  EXPECT_EQ(a.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(a, model->forward(in)));
  EXPECT_TRUE(torch::isfinite(a).all().item<bool>());

  model->train();
  const torch::Tensor b = model->forward(in);
  const torch::Tensor c = model->forward(in);
  EXPECT_FALSE(torch::allclose(b, c)) << "dropout should be active in train()";
  EXPECT_FALSE(torch::allclose(a, b));

  BertConfig no_dropout = TinyConfig();
  no_dropout.hidden_dropout_prob = 0;
  no_dropout.attention_probs_dropout_prob = 0;
  BertForSequenceClassification quiet(no_dropout);
  quiet->train();
  EXPECT_TRUE(torch::equal(quiet->forward(in), quiet->forward(in)));
}

// The bytes of the default CPU generator's state: equal when two sequences of draws left it alike.
torch::Tensor CpuGeneratorState() { return at::detail::getDefaultCPUGenerator().get_state(); }

// Logits and every parameter's gradient of sum(logits^2), with packing on or off.
std::pair<torch::Tensor, std::vector<torch::Tensor>> LogitsAndGradients(BertForSequenceClassification& model,
                                                                       const ModelInputs& in, bool packing) {
  model->set_packing(packing);
  model->zero_grad();
  const torch::Tensor logits = model->forward(in);
  logits.pow(2).sum().backward();
  std::vector<torch::Tensor> grads;
  for (const auto& p : model->parameters()) grads.push_back(p.grad().clone());
  return {logits.detach(), grads};
}

TEST(BertModel, PackedEqualsPaddedForwardAndBackward) {
  BertForSequenceClassification model(TinyConfig());
  model->InitWeights(11);
  model->eval();
  const ModelInputs in = MakeBatch({5, 9, 2, 1}, 12);
  const auto packed = LogitsAndGradients(model, in, /*packing=*/true);
  const auto padded = LogitsAndGradients(model, in, /*packing=*/false);
  EXPECT_TRUE(torch::allclose(packed.first, padded.first, 1e-5, 1e-6));
  for (size_t i = 0; i < packed.second.size(); ++i) {
    EXPECT_TRUE(torch::allclose(packed.second[i], padded.second[i], 1e-4, 1e-6)) << i;
  }
  // A sequence's logits do not depend on the batch's padding length.
  const ModelInputs longer = MakeBatch({5, 9, 2, 1}, 20);
  EXPECT_TRUE(torch::allclose(model->forward(longer), packed.first, 1e-5, 1e-6));
  // Left padding (first token masked): packed still equals the padded computation.
  ModelInputs left = in;
  left.attention_mask = in.attention_mask.clone();
  left.attention_mask.index_put_({1, 0}, 0);
  model->set_packing(true);
  const torch::Tensor l1 = model->forward(left);
  model->set_packing(false);
  EXPECT_TRUE(torch::allclose(model->forward(left), l1, 1e-5, 1e-6));

  // In training the packed rows take their dropout masks from masks drawn over the padded
  // tensors, as Hugging Face's modules draw them: with the same seed, packed and padded give the
  // same logits and gradients and leave the generator in the same state.
  model->train();
  torch::manual_seed(4);
  const auto packed_train = LogitsAndGradients(model, in, /*packing=*/true);
  const torch::Tensor packed_state = CpuGeneratorState();
  torch::manual_seed(4);
  const auto padded_train = LogitsAndGradients(model, in, /*packing=*/false);
  EXPECT_TRUE(torch::equal(CpuGeneratorState(), packed_state));
  EXPECT_FALSE(torch::allclose(packed_train.first, packed.first, 1e-3, 1e-3)) << "dropout should be active";
  EXPECT_TRUE(torch::allclose(packed_train.first, padded_train.first, 1e-5, 1e-6));
  for (size_t i = 0; i < packed_train.second.size(); ++i) {
    EXPECT_TRUE(torch::allclose(packed_train.second[i], padded_train.second[i], 1e-4, 1e-6)) << i;
  }
}

TEST(BertModel, PackedRowCountsRoundedUpToSixtyFourEqualPadded) {
  // The packed layout fills its rows up to a multiple of 64 (oneDNN's slow row counts). Every
  // case must still equal the padded computation: filler rows that fit inside batch * seq, none
  // needed (64 real tokens), filler past batch * seq, and a full batch (no packing at all).
  BertForSequenceClassification model(TinyConfig());
  model->InitWeights(23);
  model->eval();
  const std::vector<std::pair<std::vector<int64_t>, int64_t>> cases = {
      {{5, 9, 2, 1}, 40}, {{40, 24}, 50}, {{3, 7}, 10}, {{16, 16, 16, 16}, 16}};
  for (const auto& [lengths, seq] : cases) {
    const ModelInputs in = MakeBatch(lengths, seq, 29);
    const auto packed = LogitsAndGradients(model, in, /*packing=*/true);
    const auto padded = LogitsAndGradients(model, in, /*packing=*/false);
    EXPECT_TRUE(torch::allclose(packed.first, padded.first, 1e-5, 1e-6)) << "seq " << seq;
    for (size_t i = 0; i < packed.second.size(); ++i) {
      EXPECT_TRUE(torch::allclose(packed.second[i], padded.second[i], 1e-4, 1e-6)) << "seq " << seq << " parameter " << i;
    }
  }
}

TEST(BertModel, SparseWordEmbeddingGradientAccumulatesLikeDense) {
  // With a dense .grad already present (the trainer's flat buffer) the word embeddings take a
  // sparse gradient that is added into it; the result must equal the dense path's.
  BertForSequenceClassification model(TinyConfig());
  model->InitWeights(17);
  model->eval();
  const ModelInputs in = MakeBatch({5, 9, 2, 1}, 12);
  torch::Tensor weight = model->named_parameters()["bert.embeddings.word_embeddings.weight"];
  model->forward(in).pow(2).sum().backward();  // no grad yet: dense path
  const torch::Tensor dense = weight.grad().clone();
  EXPECT_FALSE(weight.grad().is_sparse());
  weight.mutable_grad() = torch::full_like(weight, 0.5);  // pre-existing dense gradient
  const torch::Tensor before = weight.grad();
  model->forward(in).pow(2).sum().backward();
  EXPECT_FALSE(weight.grad().is_sparse());
  EXPECT_EQ(weight.grad().data_ptr(), before.data_ptr()) << "accumulated in place";
  EXPECT_TRUE(torch::allclose(weight.grad() - 0.5, dense, 1e-5, 1e-7));
  EXPECT_TRUE(torch::equal(weight.grad()[0], torch::full({32}, 0.5)));  // padding row: no gradient
}

TEST(BertModel, AutocastBf16IsCloseToFp32) {
  BertForSequenceClassification model(TinyConfig());
  model->InitWeights(5);
  model->eval();
  const ModelInputs in = MakeBatch({5, 9, 2}, 9);
  const torch::Tensor fp32 = model->forward(in);
  torch::Tensor bf16;
  {
    AutocastScope autocast(true, at::kBFloat16, false);
    bf16 = model->forward(in);
  }
  EXPECT_EQ(bf16.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::allclose(bf16, fp32, 0.05, 0.02)) << (bf16 - fp32).abs().max().item<float>();
  bf16.sum().backward();  // backward through the autocast graph works
  EXPECT_TRUE(model->named_parameters()["bert.encoder.layer.0.attention.self.query.weight"].grad().defined());
}

TEST(TorchDropoutDraws, SameBitsAndGeneratorStateAsBernoulli) {
  if (!DropoutDrawsMatchThisTorch()) GTEST_SKIP() << "this LibTorch's CPU bernoulli_ uses MKL's generator";
  // Several calls, so draws start part-way through MT19937's 624-word blocks and span several.
  for (const double p : {0.1, 0.3, 0.5}) {
    torch::manual_seed(5);
    std::vector<torch::Tensor> expected;
    for (const int64_t n : {3, 1000, 311, 20000}) {
      expected.push_back(torch::empty({n}, torch::kFloat).bernoulli_(1.0 - p).to(torch::kByte));
    }
    const torch::Tensor expected_state = CpuGeneratorState();
    torch::manual_seed(5);
    for (const torch::Tensor& e : expected) {
      EXPECT_TRUE(torch::equal(DrawDropoutKeepMask(e.numel(), p), e)) << "p " << p << ", " << e.numel() << " elements";
    }
    EXPECT_TRUE(torch::equal(CpuGeneratorState(), expected_state)) << "p " << p;
  }
  torch::manual_seed(8);
  torch::empty({}, torch::kLong).random_();  // what a DataLoader iterator draws
  const torch::Tensor expected_state = CpuGeneratorState();
  torch::manual_seed(8);
  DrawLikeDataLoaderIterator();
  EXPECT_TRUE(torch::equal(CpuGeneratorState(), expected_state));
}

TEST(Dropout, SameValuesAndGradientsAsTorchDropout) {
  // bf16 keeps torch's scale rounded to bf16: 1/0.9 becomes 1.109375.
  EXPECT_EQ(DropoutScale(0.1, torch::kBFloat16), 1.109375f);
  EXPECT_EQ(DropoutScale(0.1, torch::kFloat), static_cast<float>(1.0 / 0.9));
  for (const auto type : {torch::kFloat, torch::kBFloat16}) {
    const torch::Tensor x = (torch::rand({1000, 999}) + 0.5).to(type);  // odd sizes exercise the tails
    const torch::Tensor g = torch::randn({1000, 999}).to(type);
    torch::Tensor ours_input = x.clone().requires_grad_(true);
    torch::manual_seed(1);
    const torch::Tensor ours = Dropout(ours_input, 0.1);
    ours.backward(g);
    const torch::Tensor kept = ours.ne(0);
    EXPECT_NEAR(1.0 - kept.to(torch::kFloat).mean().item<double>(), 0.1, 0.002);
    const float scale = DropoutScale(0.1, type);
    EXPECT_TRUE(torch::equal(ours, torch::where(kept, x * scale, torch::zeros_like(x))));
    EXPECT_TRUE(torch::equal(ours_input.grad(), torch::where(kept, g * scale, torch::zeros_like(g))));
    EXPECT_FALSE(torch::equal(kept[0], kept[1]));  // rows are not copies of each other
    EXPECT_FALSE(torch::equal(Dropout(x, 0.1), ours.detach()));  // the generator advanced
    if (DropoutDrawsMatchThisTorch()) {
      torch::Tensor torch_input = x.clone().requires_grad_(true);
      torch::manual_seed(1);
      const torch::Tensor reference = at::dropout(torch_input, 0.1, true);
      reference.backward(g);
      EXPECT_TRUE(torch::equal(ours, reference)) << c10::toString(type);
      EXPECT_TRUE(torch::equal(ours_input.grad(), torch_input.grad())) << c10::toString(type);
    }
  }
  const torch::Tensor x = torch::rand({7, 5});
  EXPECT_TRUE(torch::equal(Dropout(x, 0.0), x));
}

// Reference: Hugging Face's additive mask + softmax.
torch::Tensor ReferenceSoftmax(const torch::Tensor& scores, const torch::Tensor& mask) {
  const auto bias = (1 - mask.to(torch::kFloat)).mul(std::numeric_limits<float>::lowest());
  return torch::softmax(scores + bias.view({scores.size(0), 1, 1, scores.size(3)}), -1);
}

TEST(MaskedSoftmaxDropout, MatchesMaskedSoftmaxAndItsGradient) {
  torch::manual_seed(3);
  const torch::Tensor scores = torch::randn({3, 2, 5, 21}) * 4;
  torch::Tensor mask = torch::ones({3, 21}, torch::kLong);
  mask.index_put_({0, torch::indexing::Slice(13, torch::indexing::None)}, 0);
  mask.index_put_({1, 4}, 0);
  mask[2] = 0;  // no real key: uniform, as Hugging Face's finfo.min bias gives
  const torch::Tensor a = scores.clone().requires_grad_(true);
  const torch::Tensor b = scores.clone().requires_grad_(true);
  const torch::Tensor fused = MaskedSoftmaxDropout(a, mask, torch::Tensor(), 0.1);
  const torch::Tensor reference = ReferenceSoftmax(b, mask);
  EXPECT_TRUE(torch::allclose(fused, reference, 1e-6, 1e-7)) << (fused - reference).abs().max();
  EXPECT_TRUE(torch::allclose(fused[2], torch::full({2, 5, 21}, 1.0 / 21), 1e-6, 1e-7));
  EXPECT_TRUE(torch::equal(fused[0].narrow(-1, 13, 8), torch::zeros({2, 5, 8})));
  const torch::Tensor g = torch::randn_like(scores);
  fused.backward(g);
  reference.backward(g);
  EXPECT_TRUE(torch::allclose(a.grad(), b.grad(), 1e-5, 1e-6)) << (a.grad() - b.grad()).abs().max();

  // bf16 storage, fp32 math.
  const torch::Tensor fused16 = MaskedSoftmaxDropout(scores.to(torch::kBFloat16), mask, torch::Tensor(), 0.1);
  EXPECT_EQ(fused16.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::allclose(fused16.to(torch::kFloat), ReferenceSoftmax(scores.to(torch::kBFloat16).to(torch::kFloat), mask),
                              1e-2, 1e-3));
}

TEST(MaskedSoftmaxDropout, TrainingDropsAndScalesLikeTorchDropout) {
  const torch::Tensor scores = torch::randn({4, 3, 40, 40});
  torch::Tensor mask = torch::ones({4, 40}, torch::kLong);
  mask.index_put_({1, torch::indexing::Slice(30, torch::indexing::None)}, 0);
  torch::manual_seed(9);
  const torch::Tensor keep = DrawDropoutKeepMask(scores.numel(), 0.2).view(scores.sizes());
  const torch::Tensor a = scores.clone().requires_grad_(true);
  const torch::Tensor out = MaskedSoftmaxDropout(a, mask, keep, 0.2);
  EXPECT_NEAR(1.0 - keep.to(torch::kFloat).mean().item<double>(), 0.2, 0.01);
  // The reference is Hugging Face's: softmax with the additive mask, then torch's dropout drawing
  // from the same generator state.
  const torch::Tensor b = scores.clone().requires_grad_(true);
  torch::manual_seed(9);
  const torch::Tensor reference = DropoutDrawsMatchThisTorch()
                                      ? at::dropout(ReferenceSoftmax(b, mask), 0.2, true)
                                      : ReferenceSoftmax(b, mask) * keep * DropoutScale(0.2, torch::kFloat);
  EXPECT_TRUE(torch::equal(out.ne(0), keep.to(torch::kBool) & mask.ne(0).view({4, 1, 1, 40})));
  EXPECT_TRUE(torch::allclose(out, reference, 1e-6, 1e-7)) << (out - reference).abs().max();
  const torch::Tensor g = torch::randn_like(scores);
  out.backward(g);
  reference.backward(g);
  EXPECT_TRUE(torch::allclose(a.grad(), b.grad(), 1e-5, 1e-6)) << (a.grad() - b.grad()).abs().max();
  // A mask for the first query of each row only, as the last layer uses.
  const torch::Tensor first = MaskedSoftmaxDropout(scores.narrow(2, 0, 1), mask, keep.narrow(2, 0, 1), 0.2);
  EXPECT_TRUE(torch::allclose(first, out.detach().narrow(2, 0, 1), 1e-6, 1e-7));
}

TEST(BertModel, InputErrors) {
  BertForSequenceClassification model(TinyConfig());
  ModelInputs in = MakeBatch({3}, 65);
  EXPECT_THAT(ErrorOf([&] { model->forward(in); }), HasSubstr("exceeds max_position_embeddings 64"));
  in = MakeBatch({3}, 4);
  in.input_ids[0][1] = 99;
  EXPECT_THAT(ErrorOf([&] { model->forward(in); }), HasSubstr("token id out of range [0, 99)"));
  in = MakeBatch({3}, 4);
  in.attention_mask = torch::ones({1, 5}, torch::kLong);
  EXPECT_THAT(ErrorOf([&] { model->forward(in); }), HasSubstr("attention_mask shape"));
}

TEST(BertConfigInModel, ConfigErrorsNameFileAndKey) {
  nlohmann::json j = TinyConfig().ToJson();
  j["num_attention_heads"] = 5;
  EXPECT_THAT(ErrorOf([&] { BertConfig::FromJson(j, "dir/config.json"); }),
              HasSubstr("dir/config.json: hidden_size: hidden_size (32) is not a multiple of num_attention_heads (5)"));
  j = TinyConfig().ToJson();
  j["hidden_act"] = "relu";
  EXPECT_THAT(ErrorOf([&] { BertConfig::FromJson(j, "dir/config.json"); }),
              HasSubstr("dir/config.json: hidden_act: 'relu' is not supported"));
}

void WriteConfig(const fs::path& dir, const BertConfig& config) {
  WriteFileAtomically(dir / "config.json", config.ToJson().dump(2));
}

TEST(Pretrained, SaveLoadRoundTrip) {
  TempDir tmp;
  BertConfig config = TinyConfig();
  config.id2label = {{0, "neg"}, {1, "neutral"}, {2, "pos"}};
  BertForSequenceClassification model(config);
  model->InitWeights(21);
  model->eval();
  WriteFileAtomically(tmp.path() / "vocab.txt", "[PAD]\n[UNK]\n");
  SavePretrained(model, config, tmp.path(), tmp.path() / "out");
  EXPECT_TRUE(fs::exists(tmp.path() / "out" / "vocab.txt"));
  EXPECT_FALSE(fs::exists(tmp.path() / "out" / "tokenizer.json"));

  LoadedModel loaded = LoadPretrained(tmp.path() / "out", 99);
  EXPECT_TRUE(loaded.report.missing_keys.empty());
  EXPECT_TRUE(loaded.report.unexpected_keys.empty());
  EXPECT_EQ(loaded.report.Describe(), "");
  EXPECT_EQ(loaded.config.id2label.at(2), "pos");
  EXPECT_EQ(loaded.config.num_labels, 3);
  ExpectSameParameters(model, loaded.model);
  loaded.model->eval();
  const ModelInputs in = MakeBatch({4, 7}, 7);
  EXPECT_TRUE(torch::equal(model->forward(in), loaded.model->forward(in)));

  // Every tensor is fp32 in the file, in Hugging Face's names.
  const auto contents = LoadSafetensors(tmp.path() / "out" / "model.safetensors");
  EXPECT_EQ(contents.metadata.at("format"), "pt");
  EXPECT_EQ(contents.tensors.size(), model->parameters().size());
  for (const auto& [name, t] : contents.tensors) EXPECT_EQ(t.scalar_type(), torch::kFloat) << name;
  const auto json = nlohmann::json::parse(ReadFileToString(tmp.path() / "out" / "config.json"));
  EXPECT_EQ(json["architectures"][0], "BertForSequenceClassification");
  EXPECT_EQ(json["label2id"]["neutral"], 1);
  EXPECT_FALSE(json.contains("num_labels"));

  // Overrides are applied before the model is built.
  LoadedModel overridden = LoadPretrained(tmp.path() / "out", 1, {{"hidden_dropout_prob", 0.0}});
  EXPECT_EQ(overridden.config.hidden_dropout_prob, 0.0);
  EXPECT_THAT(ErrorOf([&] { LoadPretrained(tmp.path() / "out", 1, {{"hidden_sizes", 3}}); }),
              HasSubstr("model_config_overrides: hidden_sizes: unknown config key"));
}

TEST(Pretrained, BareBertModelCheckpointGetsNewClassifier) {
  TempDir tmp;
  BertConfig config = TinyConfig();
  BertForSequenceClassification model(config);
  model->InitWeights(8);
  // A bare BertModel file: no `bert.` prefix, no classifier, a position_ids buffer (I64), a
  // BertForPreTraining head tensor and an fp16 tensor.
  NamedTensors tensors;
  for (const auto& item : model->named_parameters()) {
    if (item.key().rfind("classifier.", 0) == 0) continue;
    torch::Tensor t = item.value().detach();
    if (item.key() == "bert.pooler.dense.bias") t = t.to(torch::kHalf);
    tensors.emplace_back(item.key().substr(5), t);
  }
  tensors.emplace_back("embeddings.position_ids", torch::arange(64, torch::kLong).unsqueeze(0));
  tensors.emplace_back("cls.predictions.bias", torch::zeros({99}));
  SaveSafetensors(tmp.path() / "model.safetensors", tensors);
  WriteConfig(tmp.path(), config);

  LoadedModel a = LoadPretrained(tmp.path(), 5);
  EXPECT_EQ(a.report.missing_keys, (std::vector<std::string>{"classifier.bias", "classifier.weight"}));
  EXPECT_EQ(a.report.unexpected_keys, (std::vector<std::string>{"cls.predictions.bias"}));
  const std::string text = a.report.Describe();
  EXPECT_THAT(text, HasSubstr("Some weights of BertForSequenceClassification were not initialized from the model "
                              "checkpoint at " + tmp.path().string() +
                              " and are newly initialized: ['classifier.bias', 'classifier.weight']"));
  EXPECT_THAT(text, HasSubstr("were not used when initializing BertForSequenceClassification: "
                              "['cls.predictions.bias']"));
  auto pa = a.model->named_parameters();
  EXPECT_TRUE(torch::equal(pa["bert.encoder.layer.1.attention.self.key.weight"],
                           model->named_parameters()["bert.encoder.layer.1.attention.self.key.weight"]));
  EXPECT_TRUE(torch::allclose(pa["bert.pooler.dense.bias"], model->named_parameters()["bert.pooler.dense.bias"],
                              1e-3, 1e-4));
  EXPECT_TRUE(torch::equal(pa["classifier.bias"], torch::zeros({3})));
  EXPECT_GT(pa["classifier.weight"].abs().sum().item<float>(), 0.0f);
  // The new classifier depends on the seed only.
  LoadedModel b = LoadPretrained(tmp.path(), 5);
  LoadedModel c = LoadPretrained(tmp.path(), 6);
  EXPECT_TRUE(torch::equal(b.model->named_parameters()["classifier.weight"], pa["classifier.weight"]));
  EXPECT_FALSE(torch::equal(c.model->named_parameters()["classifier.weight"], pa["classifier.weight"]));
}

TEST(Pretrained, TruncatedAndCorruptWeightsFileErrors) {
  TempDir tmp;
  BertConfig config = TinyConfig();
  BertForSequenceClassification model(config);
  SavePretrained(model, config, "", tmp.path());
  const fs::path file = tmp.path() / "model.safetensors";
  const std::string bytes = ReadFileToString(file);

  WriteFileAtomically(file, bytes.substr(0, bytes.size() - 100));
  std::string message = ErrorOf([&] { LoadPretrained(tmp.path(), 0); });
  EXPECT_THAT(message, HasSubstr(file.string()));
  EXPECT_THAT(message, HasSubstr("classifier"));  // the last tensor, whose data is cut off
  EXPECT_THAT(message, HasSubstr("truncated"));

  WriteFileAtomically(file, bytes.substr(0, 1000));
  message = ErrorOf([&] { LoadPretrained(tmp.path(), 0); });
  EXPECT_THAT(message, HasSubstr(file.string()));
  EXPECT_THAT(message, HasSubstr("truncated"));

  WriteFileAtomically(file, bytes.substr(0, 5));
  EXPECT_THAT(ErrorOf([&] { LoadPretrained(tmp.path(), 0); }), HasSubstr("less than the 8-byte header length"));

  std::string corrupt = bytes;
  corrupt[8] = '#';  // the header JSON's opening brace
  WriteFileAtomically(file, corrupt);
  message = ErrorOf([&] { LoadPretrained(tmp.path(), 0); });
  EXPECT_THAT(message, HasSubstr(file.string()));
  EXPECT_THAT(message, HasSubstr("not valid JSON"));

  fs::remove(file);
  WriteFileAtomically(tmp.path() / "pytorch_model.bin", "PK\x03\x04garbage");
  message = ErrorOf([&] { LoadPretrained(tmp.path(), 0); });
  EXPECT_THAT(message, HasSubstr((tmp.path() / "pytorch_model.bin").string()));
  EXPECT_THAT(message, HasSubstr("cannot read PyTorch checkpoint"));

  fs::remove(tmp.path() / "pytorch_model.bin");
  EXPECT_THAT(ErrorOf([&] { LoadPretrained(tmp.path(), 0); }), HasSubstr("no weights"));
  fs::remove(tmp.path() / "config.json");
  EXPECT_THAT(ErrorOf([&] { LoadPretrained(tmp.path(), 0); }), HasSubstr("config.json"));
}

TEST(Pretrained, ShapeMismatchNamesTensorShapesAndFile) {
  TempDir tmp;
  BertConfig config = TinyConfig();
  BertForSequenceClassification model(config);
  SavePretrained(model, config, "", tmp.path());
  BertConfig bigger = config;
  bigger.intermediate_size = 40;
  WriteConfig(tmp.path(), bigger);
  const std::string message = ErrorOf([&] { LoadPretrained(tmp.path(), 0); });
  EXPECT_THAT(message, HasSubstr((tmp.path() / "model.safetensors").string()));
  EXPECT_THAT(message, HasSubstr("tensor 'bert.encoder.layer.0.intermediate.dense.weight' has shape [37, 32]"));
  EXPECT_THAT(message, HasSubstr("expects [40, 32]"));
}

TEST(Pretrained, TorchPickleCheckpointLoads) {
  // torch::pickle_save writes the same zip container as Python's torch.save.
  TempDir tmp;
  BertConfig config = TinyConfig();
  BertForSequenceClassification model(config);
  model->InitWeights(13);
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& item : model->named_parameters()) dict.insert(item.key(), item.value().detach());
  const std::vector<char> bytes = torch::pickle_save(dict);
  WriteFileAtomically(tmp.path() / "pytorch_model.bin", std::string(bytes.begin(), bytes.end()));
  WriteConfig(tmp.path(), config);
  LoadedModel loaded = LoadPretrained(tmp.path(), 0);
  EXPECT_TRUE(loaded.report.missing_keys.empty());
  ExpectSameParameters(model, loaded.model);

  // A real checkpoint cut short (an interrupted download) names the file instead of crashing.
  WriteFileAtomically(tmp.path() / "pytorch_model.bin", std::string(bytes.begin(), bytes.begin() + bytes.size() / 2));
  const std::string message = ErrorOf([&] { LoadPretrained(tmp.path(), 0); });
  EXPECT_THAT(message, HasSubstr((tmp.path() / "pytorch_model.bin").string()));
  EXPECT_THAT(message, HasSubstr("cannot read PyTorch checkpoint"));
}

TEST(Pretrained, VocabCheck) {
  BertConfig config = TinyConfig();
  EXPECT_NO_THROW(CheckVocabMatchesModel(99, config, "models/x"));
  EXPECT_NO_THROW(CheckVocabMatchesModel(50, config, "models/x"));
  EXPECT_THAT(ErrorOf([&] { CheckVocabMatchesModel(100, config, "models/x"); }),
              HasSubstr("models/x: the tokenizer has 100 tokens but the model's vocab_size is 99"));
}

TEST(SafetensorsIo, RoundTripsDtypesAndOrder) {
  TempDir tmp;
  NamedTensors tensors = {
      {"z", torch::arange(6, torch::kFloat).reshape({2, 3})},
      {"a", torch::tensor({1.5, -2.25}, torch::kHalf)},
      {"m", torch::tensor({0.5, 3.0, -1.0}, torch::kBFloat16)},
      {"ids", torch::tensor({int64_t{1} << 40, int64_t{-3}})},
      {"t", torch::arange(12, torch::kFloat).reshape({3, 4}).t()},  // non-contiguous
      {"scalar", torch::tensor(2.5)},
      {"empty", torch::zeros({0, 4})},
  };
  SaveSafetensors(tmp.path() / "x.safetensors", tensors, {{"format", "pt"}, {"step", "7"}});
  const auto loaded = LoadSafetensors(tmp.path() / "x.safetensors");
  ASSERT_EQ(loaded.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(loaded.tensors[i].first, tensors[i].first);
    EXPECT_EQ(loaded.tensors[i].second.scalar_type(), tensors[i].second.scalar_type());
    EXPECT_TRUE(torch::equal(loaded.tensors[i].second, tensors[i].second)) << tensors[i].first;
  }
  EXPECT_EQ(loaded.metadata.at("step"), "7");
  EXPECT_THAT(ErrorOf([&] { LoadSafetensors(tmp.path() / "missing.safetensors"); }),
              HasSubstr("missing.safetensors: cannot open"));
}

}  // namespace
}  // namespace bertfleet
