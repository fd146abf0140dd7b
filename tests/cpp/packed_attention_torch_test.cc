#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "worker/engine/kernels/cpu/dropout.h"
#include "worker/engine/kernels/cpu/packed_attention.h"
#include "worker/engine/kernels/cpu/torch_dropout_draws.h"

namespace bertfleet {
namespace {

using ::testing::HasSubstr;
using torch::indexing::Slice;

constexpr int64_t kHeads = 3, kDim = 4, kWidth = kHeads * kDim;

// Sequences of these lengths packed one after another, then `filler` rows no sequence owns.
PackedSequences Packed(const std::vector<int64_t>& lengths) {
  PackedSequences s;
  int64_t start = 0;
  for (int64_t n : lengths) {
    s.key_starts.push_back(start);
    s.key_counts.push_back(n);
    start += n;
  }
  s.query_starts = s.key_starts;
  s.query_counts = s.key_counts;
  return s;
}

// Hugging Face's attention for sequence b, one head at a time with LibTorch ops: [m, width].
torch::Tensor Reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& keep, int64_t b, double p) {
  auto heads = [](const torch::Tensor& x) { return x.view({x.size(0), kHeads, kDim}).transpose(0, 1); };
  torch::Tensor probs = at::softmax(at::matmul(heads(q), heads(k).transpose(-1, -2)), -1);
  if (keep.defined()) {
    probs = probs * keep[b].narrow(1, 0, q.size(0)).narrow(2, 0, k.size(0)).to(torch::kFloat) *
            DropoutScale(p, torch::kFloat);
  }
  return at::matmul(probs, heads(v)).transpose(0, 1).reshape({q.size(0), kWidth});
}

void ExpectClose(const torch::Tensor& a, const torch::Tensor& b, const std::string& what) {
  EXPECT_TRUE(torch::allclose(a, b, 1e-5, 1e-6)) << what << ": " << (a - b).abs().max().item<float>();
}

class PackedAttentionTest : public ::testing::TestWithParam<bool> {};  // with dropout or not

TEST_P(PackedAttentionTest, SelfAttentionOverOneProjectionMatchesPaddedReference) {
  if (!PackedAttentionSupported(torch::zeros({1}))) GTEST_SKIP() << "built without BLAS";
  torch::manual_seed(5);
  const std::vector<int64_t> lengths = {7, 3, 12, 1};
  const PackedSequences s = Packed(lengths);
  const int64_t rows = 23 + 5, seq = 12;  // 5 filler rows
  const double p = 0.25;
  const torch::Tensor keep =
      GetParam() ? DrawDropoutKeepMask(4 * kHeads * seq * seq, p).view({4, kHeads, seq, seq}) : torch::Tensor();
  const torch::Tensor qkv = torch::randn({rows, 3 * kWidth}).requires_grad_(true);
  const torch::Tensor out = PackedAttention(qkv, 0, qkv, kWidth, 2 * kWidth, kHeads, kDim, s, keep, p);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{rows, kWidth}));
  EXPECT_TRUE(torch::equal(out.detach().narrow(0, 23, 5), torch::zeros({5, kWidth}))) << "filler rows";
  const torch::Tensor grad = torch::randn_like(out);
  out.backward(grad);

  const torch::Tensor ref_qkv = qkv.detach().clone().requires_grad_(true);
  std::vector<torch::Tensor> parts;
  for (size_t b = 0; b < lengths.size(); ++b) {
    const torch::Tensor x = ref_qkv.narrow(0, s.key_starts[b], lengths[b]);
    parts.push_back(Reference(x.narrow(1, 0, kWidth), x.narrow(1, kWidth, kWidth), x.narrow(1, 2 * kWidth, kWidth),
                              keep, static_cast<int64_t>(b), p));
  }
  const torch::Tensor reference = torch::cat(parts);
  ExpectClose(out.detach().narrow(0, 0, 23), reference.detach(), "context");
  reference.backward(grad.narrow(0, 0, 23));
  ExpectClose(qkv.grad().narrow(0, 0, 23), ref_qkv.grad().narrow(0, 0, 23), "query/key/value gradient");
  EXPECT_TRUE(torch::equal(qkv.grad().narrow(0, 23, 5), torch::zeros({5, 3 * kWidth}))) << "filler gradient";
}

TEST_P(PackedAttentionTest, FirstQueriesAgainstPackedKeysMatchReference) {
  // The last layer's form: one query row per sequence, keys and values in their own tensor.
  if (!PackedAttentionSupported(torch::zeros({1}))) GTEST_SKIP() << "built without BLAS";
  torch::manual_seed(6);
  const std::vector<int64_t> lengths = {4, 9, 2};
  PackedSequences s = Packed(lengths);
  s.query_starts = {0, 1, 2};
  s.query_counts = {1, 1, 1};
  const int64_t seq = 9;
  const double p = 0.1;
  const torch::Tensor keep =
      GetParam() ? DrawDropoutKeepMask(3 * kHeads * seq * seq, p).view({3, kHeads, seq, seq}) : torch::Tensor();
  const torch::Tensor q = torch::randn({3, kWidth}).requires_grad_(true);
  const torch::Tensor kv = torch::randn({15 + 1, 2 * kWidth}).requires_grad_(true);
  const torch::Tensor out = PackedAttention(q, 0, kv, 0, kWidth, kHeads, kDim, s, keep, p);
  const torch::Tensor grad = torch::randn_like(out);
  out.backward(grad);

  const torch::Tensor rq = q.detach().clone().requires_grad_(true);
  const torch::Tensor rkv = kv.detach().clone().requires_grad_(true);
  std::vector<torch::Tensor> parts;
  for (int64_t b = 0; b < 3; ++b) {
    const torch::Tensor x = rkv.narrow(0, s.key_starts[b], lengths[b]);
    parts.push_back(Reference(rq.narrow(0, b, 1), x.narrow(1, 0, kWidth), x.narrow(1, kWidth, kWidth), keep, b, p));
  }
  const torch::Tensor reference = torch::cat(parts);
  ExpectClose(out.detach(), reference.detach(), "context");
  reference.backward(grad);
  ExpectClose(q.grad(), rq.grad(), "query gradient");
  ExpectClose(kv.grad(), rkv.grad(), "key/value gradient");
  EXPECT_TRUE(torch::equal(kv.grad()[15], torch::zeros({2 * kWidth}))) << "filler gradient";
}

INSTANTIATE_TEST_SUITE_P(Dropout, PackedAttentionTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "WithDropout" : "NoDropout"; });

TEST(PackedAttention, BadShapesAndRowsAreRefusedByName) {
  if (!PackedAttentionSupported(torch::zeros({1}))) GTEST_SKIP() << "built without BLAS";
  const torch::Tensor qkv = torch::randn({10, 3 * kWidth});
  const PackedSequences s = Packed({6, 4});
  auto error = [&](const torch::Tensor& x, int64_t value_column, const PackedSequences& seqs,
                   const torch::Tensor& keep) -> std::string {
    try {
      PackedAttention(x, 0, x, kWidth, value_column, kHeads, kDim, seqs, keep, 0.1);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_THAT(error(qkv, 2 * kWidth + 1, s, {}), HasSubstr("columns outside their tensor"));
  EXPECT_THAT(error(qkv, 2 * kWidth, Packed({6, 5}), {}), HasSubstr("sequence 1 reaches past its rows"));
  EXPECT_THAT(error(qkv, 2 * kWidth, s, torch::ones({2, kHeads, 5, 5}, torch::kByte)),
              HasSubstr("sequence 0 is longer than the dropout mask's 5 positions"));
  EXPECT_THAT(error(qkv, 2 * kWidth, s, torch::ones({2, kHeads, 6}, torch::kByte)),
              HasSubstr("keep must be a uint8 mask [batch, heads, seq, seq]"));
  EXPECT_THAT(error(qkv.to(torch::kBFloat16), 2 * kWidth, s, {}), HasSubstr("CPU float tensors expected"));
  EXPECT_FALSE(PackedAttentionSupported(qkv.to(torch::kBFloat16)));
}

}  // namespace
}  // namespace bertfleet
