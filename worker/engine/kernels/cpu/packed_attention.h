#pragma once
// Multi-head attention over packed rows, the layout bert_model.cc runs its linears in: each
// sequence's tokens are consecutive rows and no padding is stored, so no scatter to a padded
// [batch, heads, seq, head_dim] layout, no masked keys and no padded queries. Per (sequence,
// head): scores = Q K^T, softmax with dropout (the row loops of attention_softmax.cc), context =
// P V, written straight into the [rows, heads * head_dim] result; the backward pass writes the
// query, key and value gradients in place in their input's columns. The (sequence, head) pairs
// run in parallel, each matrix product one single-threaded BLAS call: LibTorch 1.13's bmm without
// MKL runs one matrix after another on one thread (OpenBLAS keeps products this small on one
// thread), with a select and a dispatch per matrix.
//
// Equal to Hugging Face's padded attention for the real tokens: a padded key's probability is
// exactly zero there, and a padded query's output is never read.
#include <torch/torch.h>

#include <vector>

namespace bertfleet {

// Where each sequence's rows are: queries [query_starts[b], + query_counts[b]) of the queries
// tensor, keys and values [key_starts[b], + key_counts[b]) of the keys_values tensor. The first
// query of a sequence is its position 0 (the dropout mask's query index).
struct PackedSequences {
  std::vector<int64_t> query_starts, query_counts, key_starts, key_counts;
};

// Whether PackedAttention runs these tensors (CPU fp32, built with BLAS); otherwise the caller
// keeps the padded path.
bool PackedAttentionSupported(const torch::Tensor& projected);

// queries: [query_rows, >= query_column + heads * head_dim]; keys_values: [key_rows, ...] holding
// keys at key_column and values at value_column (the same tensor as queries for self-attention
// over one fused projection: one gradient for it). keep: undefined (no dropout) or the uint8
// mask [batch, heads, seq, seq] that attention_softmax.h's dropout reads, kept probabilities
// scaled by 1/(1 - p). Returns the context [query_rows, heads * head_dim]; rows no sequence
// covers are zero.
torch::Tensor PackedAttention(const torch::Tensor& queries, int64_t query_column, const torch::Tensor& keys_values,
                              int64_t key_column, int64_t value_column, int64_t heads, int64_t head_dim,
                              const PackedSequences& sequences, const torch::Tensor& keep, double p);

}  // namespace bertfleet
