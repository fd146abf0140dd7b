#include "worker/engine/kernels/cpu/packed_attention.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "worker/engine/kernels/cpu/attention_softmax_rows.h"
#include "worker/engine/kernels/cpu/dropout.h"

#ifndef BERTFLEET_HAVE_BLAS
#define BERTFLEET_HAVE_BLAS 0
#endif
#if BERTFLEET_HAVE_BLAS
// The Fortran BLAS LibTorch itself calls (Debian: OpenBLAS's OpenMP build, which keeps a call
// made inside a parallel region on the calling thread).
extern "C" void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
                       const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
                       const float* beta, float* c, const int* ldc);
#endif

namespace bertfleet {
namespace {

using namespace kernels::softmax;  // NOLINT: the row loops and their storage types

// Row-major C [m, n] = op(A) op(B), op(A) [m, k]; a transposed operand is stored as its
// transpose, row-major. BLAS is column-major: there C^T = op(B)^T op(A)^T.
void Gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float* c, int64_t ldc) {
#if BERTFLEET_HAVE_BLAS
  const char first = transpose_b ? 'T' : 'N', second = transpose_a ? 'T' : 'N';
  const int rows = static_cast<int>(n), cols = static_cast<int>(m), inner = static_cast<int>(k);
  const int ld_first = static_cast<int>(ldb), ld_second = static_cast<int>(lda), ld_out = static_cast<int>(ldc);
  const float one = 1.0f, zero = 0.0f;
  sgemm_(&first, &second, &rows, &cols, &inner, &one, b, &ld_first, a, &ld_second, &zero, c, &ld_out);
#else
  TORCH_CHECK(false, "PackedAttention: built without BLAS");
#endif
}

// Raw views of the operands: row r, column c of a tensor is data[r * ld + c].
struct Operands {
  const float* queries;
  int64_t query_ld, query_column;
  const float* keys_values;
  int64_t key_value_ld, key_column, value_column;
  int64_t heads, dim, seq;  // seq: the dropout mask's [seq, seq] block
  const uint8_t* keep;      // null: no dropout
  float scale;
};

struct Sizes {
  int64_t batch = 0, max_block = 0, max_keys = 0;
  std::vector<int64_t> prob_offsets;  // per sequence, into the saved probabilities (heads blocks)
};

Sizes SizesOf(const PackedSequences& s, int64_t heads) {
  Sizes sizes;
  sizes.batch = static_cast<int64_t>(s.query_counts.size());
  int64_t offset = 0;
  for (int64_t b = 0; b < sizes.batch; ++b) {
    const int64_t block = s.query_counts[b] * s.key_counts[b];
    sizes.prob_offsets.push_back(offset);
    offset += heads * block;
    sizes.max_block = std::max(sizes.max_block, block);
    sizes.max_keys = std::max(sizes.max_keys, s.key_counts[b]);
  }
  sizes.prob_offsets.push_back(offset);
  return sizes;
}

// Per-thread buffers for one (sequence, head) block.
struct Scratch {
  explicit Scratch(const Sizes& sizes)
      : a(sizes.max_block), b(sizes.max_block), keep(sizes.max_block), ones(sizes.max_keys, 1),
        row_a((sizes.max_keys + kLanes - 1) / kLanes * kLanes), row_b(row_a.size()) {}
  std::vector<float> a, b;
  std::vector<uint8_t> keep, ones;
  std::vector<float> row_a, row_b;
};

// The block's dropout mask rows (queries 0..m-1, keys 0..n-1 of [seq, seq]), contiguous.
const uint8_t* KeepBlock(const Operands& o, int64_t b, int64_t h, int64_t m, int64_t n, Scratch& scratch) {
  if (o.keep == nullptr) return nullptr;
  const uint8_t* base = o.keep + (b * o.heads + h) * o.seq * o.seq;
  for (int64_t i = 0; i < m; ++i) std::memcpy(scratch.keep.data() + i * n, base + i * o.seq, n);
  return scratch.keep.data();
}

Shape BlockShape(int64_t m, int64_t n) { return {m, n, (n + kLanes - 1) / kLanes * kLanes}; }

// (sequence, head) pairs in parallel, heads outermost: each thread's share spans every sequence,
// so long and short sequences even out.
template <typename Body>
void ForEachBlock(const Sizes& sizes, int64_t heads, const Body& body) {
  at::parallel_for(0, sizes.batch * heads, 1, [&](int64_t begin, int64_t end) {
    Scratch scratch(sizes);
    for (int64_t t = begin; t < end; ++t) body(t % sizes.batch, t / sizes.batch, scratch);
  });
}

void Forward(const Operands& o, const PackedSequences& s, const Sizes& sizes, float* probs, float* context,
             int64_t context_ld) {
  const int64_t dim = o.dim;
  ForEachBlock(sizes, o.heads, [&](int64_t b, int64_t h, Scratch& scratch) {
    const int64_t m = s.query_counts[b], n = s.key_counts[b];
    const float* q = o.queries + s.query_starts[b] * o.query_ld + o.query_column + h * dim;
    const float* k = o.keys_values + s.key_starts[b] * o.key_value_ld + o.key_column + h * dim;
    const float* v = o.keys_values + s.key_starts[b] * o.key_value_ld + o.value_column + h * dim;
    float* p = probs + sizes.prob_offsets[b] + h * m * n;
    float* scores = scratch.a.data();
    Gemm(false, true, m, n, dim, q, o.query_ld, k, o.key_value_ld, scores, n);
    const uint8_t* keep = KeepBlock(o, b, h, m, n, scratch);
    float* dropped = keep != nullptr ? scratch.b.data() : nullptr;
    SoftmaxForward<F32>(scores, scratch.ones.data(), p, dropped, keep, o.scale, BlockShape(m, n), 0, m,
                        scratch.row_a.data());
    Gemm(false, false, m, dim, n, keep != nullptr ? dropped : p, n, v, o.key_value_ld,
         context + s.query_starts[b] * context_ld + h * dim, context_ld);
  });
}

struct Gradients {
  float* queries;
  int64_t query_ld;
  float* keys_values;
  int64_t key_value_ld;
};

void Backward(const Operands& o, const PackedSequences& s, const Sizes& sizes, const float* probs,
              const float* grad_context, int64_t grad_ld, const Gradients& g) {
  const int64_t dim = o.dim;
  ForEachBlock(sizes, o.heads, [&](int64_t b, int64_t h, Scratch& scratch) {
    const int64_t m = s.query_counts[b], n = s.key_counts[b];
    const int64_t q_offset = s.query_starts[b], k_offset = s.key_starts[b];
    const float* q = o.queries + q_offset * o.query_ld + o.query_column + h * dim;
    const float* k = o.keys_values + k_offset * o.key_value_ld + o.key_column + h * dim;
    const float* v = o.keys_values + k_offset * o.key_value_ld + o.value_column + h * dim;
    const float* dc = grad_context + q_offset * grad_ld + h * dim;
    const float* p = probs + sizes.prob_offsets[b] + h * m * n;
    const uint8_t* keep = KeepBlock(o, b, h, m, n, scratch);
    // The dropped probabilities, as the forward pass multiplied them with the values.
    const float* dropped = p;
    if (keep != nullptr) {
      float* d = scratch.b.data();
      for (int64_t i = 0; i < m * n; ++i) d[i] = keep[i] ? p[i] * o.scale : 0.0f;
      dropped = d;
    }
    Gemm(true, false, n, dim, m, dropped, n, dc, grad_ld,
         g.keys_values + k_offset * g.key_value_ld + o.value_column + h * dim, g.key_value_ld);
    float* grad_probs = scratch.a.data();
    Gemm(false, true, m, n, dim, dc, grad_ld, v, o.key_value_ld, grad_probs, n);
    float* grad_scores = scratch.b.data();  // the dropped probabilities are no longer needed
    SoftmaxBackward<F32>(grad_probs, p, grad_scores, keep, o.scale, BlockShape(m, n), 0, m, scratch.row_a.data(),
                         scratch.row_b.data());
    Gemm(false, false, m, dim, n, grad_scores, n, k, o.key_value_ld,
         g.queries + q_offset * g.query_ld + o.query_column + h * dim, g.query_ld);
    Gemm(true, false, n, dim, m, grad_scores, n, q, o.query_ld,
         g.keys_values + k_offset * g.key_value_ld + o.key_column + h * dim, g.key_value_ld);
  });
}

// Zeroes the rows of `t` that no [starts[b], + counts[b]) covers (the packed layout's filler).
void ZeroUncovered(torch::Tensor& t, const std::vector<int64_t>& starts, const std::vector<int64_t>& counts) {
  std::vector<char> covered(t.size(0), 0);
  for (size_t b = 0; b < starts.size(); ++b) std::fill_n(covered.begin() + starts[b], counts[b], 1);
  for (int64_t r = 0; r < t.size(0);) {
    int64_t end = r;
    while (end < t.size(0) && !covered[end]) ++end;
    if (end > r) t.narrow(0, r, end - r).zero_();
    r = end + 1;
  }
}

// A gradient shaped like `input`: every element the backward pass does not write is zero.
torch::Tensor GradientBuffer(const torch::Tensor& input, bool columns_covered, const std::vector<int64_t>& starts,
                             const std::vector<int64_t>& counts) {
  if (!columns_covered) return torch::zeros_like(input, at::MemoryFormat::Contiguous);
  torch::Tensor out = torch::empty_like(input, at::MemoryFormat::Contiguous);
  ZeroUncovered(out, starts, counts);
  return out;
}

PackedSequences SequencesOf(torch::autograd::AutogradContext* ctx) {
  return {ctx->saved_data["query_starts"].toIntVector(), ctx->saved_data["query_counts"].toIntVector(),
          ctx->saved_data["key_starts"].toIntVector(), ctx->saved_data["key_counts"].toIntVector()};
}

// keys_values is an empty tensor when it is the queries tensor (self-attention over one fused
// projection).
class PackedAttentionFunction : public torch::autograd::Function<PackedAttentionFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& queries,
                               const torch::Tensor& separate_keys_values, int64_t query_column, int64_t key_column,
                               int64_t value_column, int64_t heads, int64_t head_dim, PackedSequences sequences,
                               const torch::Tensor& keep, double p) {
    const bool shared = separate_keys_values.numel() == 0;
    const torch::Tensor& kv = shared ? queries : separate_keys_values;
    const bool dropout = keep.numel() > 0;
    const Operands o = OperandsOf(queries, query_column, kv, key_column, value_column, heads, head_dim, keep,
                                  dropout ? DropoutScale(p, at::kFloat) : 1.0f);
    const Sizes sizes = SizesOf(sequences, heads);
    torch::Tensor probs = torch::empty({sizes.prob_offsets.back()}, queries.options());
    torch::Tensor context = torch::empty({queries.size(0), heads * head_dim}, queries.options());
    ZeroUncovered(context, sequences.query_starts, sequences.query_counts);
    Forward(o, sequences, sizes, probs.data_ptr<float>(), context.data_ptr<float>(), context.stride(0));

    ctx->save_for_backward({queries, separate_keys_values, probs, keep});
    ctx->saved_data["columns"] = std::vector<int64_t>{query_column, key_column, value_column, heads, head_dim};
    ctx->saved_data["scale"] = static_cast<double>(o.scale);
    ctx->saved_data["query_starts"] = sequences.query_starts;
    ctx->saved_data["query_counts"] = sequences.query_counts;
    ctx->saved_data["key_starts"] = sequences.key_starts;
    ctx->saved_data["key_counts"] = sequences.key_counts;
    return context;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& queries = saved[0];
    const bool shared = saved[1].numel() == 0;
    const torch::Tensor& kv = shared ? queries : saved[1];
    const auto columns = ctx->saved_data["columns"].toIntVector();
    const int64_t query_column = columns[0], key_column = columns[1], value_column = columns[2];
    const int64_t heads = columns[3], head_dim = columns[4], width = heads * head_dim;
    const PackedSequences sequences = SequencesOf(ctx);
    const Operands o = OperandsOf(queries, query_column, kv, key_column, value_column, heads, head_dim, saved[3],
                                  static_cast<float>(ctx->saved_data["scale"].toDouble()));
    const Sizes sizes = SizesOf(sequences, heads);
    const torch::Tensor grad_context = grad_outputs[0].contiguous();

    // Columns the pass writes: [query_column, + width) of the queries; keys and values of theirs.
    auto tiles = [&](const torch::Tensor& t, std::vector<int64_t> starts) {
      std::sort(starts.begin(), starts.end());
      int64_t end = 0;
      for (int64_t start : starts) end = start == end ? end + width : -1;
      return end == t.size(1);
    };
    torch::Tensor grad_queries, grad_kv;
    if (shared) {
      grad_queries = GradientBuffer(queries, tiles(queries, {query_column, key_column, value_column}),
                                    sequences.query_starts, sequences.query_counts);
      grad_kv = grad_queries;
    } else {
      grad_queries = GradientBuffer(queries, tiles(queries, {query_column}), sequences.query_starts,
                                    sequences.query_counts);
      grad_kv = GradientBuffer(kv, tiles(kv, {key_column, value_column}), sequences.key_starts, sequences.key_counts);
    }
    Backward(o, sequences, sizes, saved[2].data_ptr<float>(), grad_context.data_ptr<float>(),
             grad_context.stride(0),
             {grad_queries.data_ptr<float>(), grad_queries.stride(0), grad_kv.data_ptr<float>(), grad_kv.stride(0)});
    torch::Tensor none;
    return {grad_queries, shared ? none : grad_kv, none, none, none, none, none, none, none, none};
  }

 private:
  static Operands OperandsOf(const torch::Tensor& queries, int64_t query_column, const torch::Tensor& kv,
                             int64_t key_column, int64_t value_column, int64_t heads, int64_t head_dim,
                             const torch::Tensor& keep, float scale) {
    return {queries.data_ptr<float>(), queries.stride(0), query_column, kv.data_ptr<float>(), kv.stride(0),
            key_column, value_column, heads, head_dim, keep.numel() > 0 ? keep.size(2) : 0,
            keep.numel() > 0 ? keep.data_ptr<uint8_t>() : nullptr, scale};
  }
};

void CheckSequences(const PackedSequences& s, int64_t query_rows, int64_t key_rows, int64_t seq) {
  const size_t batch = s.query_counts.size();
  TORCH_CHECK(s.query_starts.size() == batch && s.key_starts.size() == batch && s.key_counts.size() == batch,
              "PackedAttention: query_starts, query_counts, key_starts and key_counts need one entry per sequence");
  for (size_t b = 0; b < batch; ++b) {
    TORCH_CHECK(s.query_counts[b] > 0 && s.key_counts[b] > 0 && s.query_starts[b] >= 0 && s.key_starts[b] >= 0 &&
                    s.query_starts[b] + s.query_counts[b] <= query_rows &&
                    s.key_starts[b] + s.key_counts[b] <= key_rows,
                "PackedAttention: sequence ", b, " reaches past its rows");
    TORCH_CHECK(seq == 0 || (s.query_counts[b] <= seq && s.key_counts[b] <= seq), "PackedAttention: sequence ", b,
                " is longer than the dropout mask's ", seq, " positions");
  }
}

}  // namespace

bool PackedAttentionSupported(const torch::Tensor& projected) {
  return BERTFLEET_HAVE_BLAS && projected.device().is_cpu() && projected.scalar_type() == at::kFloat;
}

torch::Tensor PackedAttention(const torch::Tensor& queries, int64_t query_column, const torch::Tensor& keys_values,
                              int64_t key_column, int64_t value_column, int64_t heads, int64_t head_dim,
                              const PackedSequences& sequences, const torch::Tensor& keep, double p) {
  TORCH_CHECK(PackedAttentionSupported(queries) && PackedAttentionSupported(keys_values),
              "PackedAttention: CPU float tensors expected (and a build with BLAS)");
  TORCH_CHECK(queries.dim() == 2 && keys_values.dim() == 2, "PackedAttention: [rows, columns] tensors expected");
  const int64_t width = heads * head_dim;
  TORCH_CHECK(heads > 0 && head_dim > 0 && query_column >= 0 && query_column + width <= queries.size(1) &&
                  key_column >= 0 && key_column + width <= keys_values.size(1) && value_column >= 0 &&
                  value_column + width <= keys_values.size(1),
              "PackedAttention: query, key or value columns outside their tensor");
  TORCH_CHECK(!keep.defined() || (keep.scalar_type() == at::kByte && keep.dim() == 4 &&
                                  keep.size(0) == static_cast<int64_t>(sequences.query_counts.size()) &&
                                  keep.size(1) == heads && keep.size(2) == keep.size(3)),
              "PackedAttention: keep must be a uint8 mask [batch, heads, seq, seq]");
  const int64_t seq = keep.defined() ? keep.size(2) : 0;
  CheckSequences(sequences, queries.size(0), keys_values.size(0), seq);
  auto rows = [](const torch::Tensor& t) { return t.stride(1) == 1 ? t : t.contiguous(); };
  const torch::Tensor q = rows(queries);
  const bool shared = keys_values.is_same(queries);
  return PackedAttentionFunction::apply(q, shared ? torch::empty({0}, q.options()) : rows(keys_values), query_column,
                                        key_column, value_column, heads, head_dim, sequences,
                                        keep.defined() ? keep.contiguous() : torch::empty({0}, at::kByte), p);
}

}  // namespace bertfleet
