// Batch plans and dynamic padding, matching Hugging Face Trainer's samplers and
// DataCollatorWithPadding so loss curves and padding costs compare one to one.
#include "common/data/batching.h"

#include <algorithm>
#include <string>

#include "common/util/error.h"

namespace bertfleet {
namespace {

// transformers.trainer_pt_utils.get_length_grouped_indices, given the permutation HF would
// draw from torch.randperm: chunks of mega_batch_mult * batch_size indices, each stably sorted
// by length descending (Python's sorted(reverse=True) keeps ties in order), then the first
// element of the megabatch with the overall longest example swapped with the very first
// element, so the largest batch runs first and memory problems surface at step one.
std::vector<int64_t> GroupByLength(const std::vector<int64_t>& order,
                                   const std::vector<int64_t>& lengths, int64_t batch_size) {
  const auto n = static_cast<int64_t>(order.size());
  // HF's default: 50 batches per megabatch, fewer when that would leave under 4 megabatches.
  const int64_t mega_batch_mult = std::max<int64_t>(1, std::min<int64_t>(n / (batch_size * 4), 50));
  const int64_t megabatch_size = mega_batch_mult * batch_size;
  std::vector<int64_t> grouped(order);
  std::vector<size_t> starts;
  for (int64_t start = 0; start < n; start += megabatch_size) {
    const int64_t end = std::min(n, start + megabatch_size);
    std::stable_sort(grouped.begin() + start, grouped.begin() + end,
                     [&](int64_t a, int64_t b) { return lengths[a] > lengths[b]; });
    starts.push_back(static_cast<size_t>(start));
  }
  if (starts.empty()) return grouped;
  size_t longest = 0;  // torch.argmax over megabatch maxima: the first one on ties
  for (size_t m = 1; m < starts.size(); ++m) {
    if (lengths[grouped[starts[m]]] > lengths[grouped[starts[longest]]]) longest = m;
  }
  std::swap(grouped[0], grouped[starts[longest]]);
  return grouped;
}

}  // namespace

std::vector<std::vector<int64_t>> PlanEpochBatches(const std::vector<int64_t>& lengths,
                                                   const BatchPlanOptions& options, int64_t epoch) {
  if (options.batch_size <= 0) {
    throw Error("batch_size must be positive, got " + std::to_string(options.batch_size));
  }
  const auto n = static_cast<int64_t>(lengths.size());
  std::vector<int64_t> order;
  if (options.shuffle) {
    order = EpochPermutation(n, options.seed, epoch);
  } else {
    order.resize(lengths.size());
    for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  }
  // Without shuffle the grouping applies to file order: deterministic, still length-sorted.
  if (options.group_by_length) order = GroupByLength(order, lengths, options.batch_size);

  std::vector<std::vector<int64_t>> batches;
  for (int64_t start = 0; start < n; start += options.batch_size) {
    const int64_t end = std::min(n, start + options.batch_size);
    if (options.drop_last && end - start < options.batch_size) break;
    batches.emplace_back(order.begin() + start, order.begin() + end);
  }
  return batches;
}

PaddedBatch CollateBatch(const std::vector<EncodedExample>& examples,
                         const std::vector<int64_t>& positions, int32_t pad_id) {
  PaddedBatch batch;
  batch.batch_size = static_cast<int64_t>(positions.size());
  for (const int64_t position : positions) {
    if (position < 0 || position >= static_cast<int64_t>(examples.size())) {
      throw Error("CollateBatch: position " + std::to_string(position) + " outside 0.." +
                  std::to_string(examples.size()));
    }
    const Encoding& encoding = examples[static_cast<size_t>(position)].encoding;
    if (encoding.token_type_ids.size() != encoding.input_ids.size()) {
      throw Error("CollateBatch: example idx " +
                  std::to_string(examples[static_cast<size_t>(position)].idx) + " has " +
                  std::to_string(encoding.input_ids.size()) + " input_ids but " +
                  std::to_string(encoding.token_type_ids.size()) + " token_type_ids");
    }
    batch.seq_len = std::max(batch.seq_len, static_cast<int64_t>(encoding.input_ids.size()));
  }
  const auto cells = static_cast<size_t>(batch.batch_size * batch.seq_len);
  batch.input_ids.assign(cells, pad_id);
  batch.token_type_ids.assign(cells, 0);
  batch.attention_mask.assign(cells, 0);
  batch.labels.reserve(positions.size());
  batch.example_idx.reserve(positions.size());
  for (size_t row = 0; row < positions.size(); ++row) {
    const EncodedExample& example = examples[static_cast<size_t>(positions[row])];
    const size_t offset = row * static_cast<size_t>(batch.seq_len);
    const size_t length = example.encoding.input_ids.size();
    for (size_t t = 0; t < length; ++t) {
      batch.input_ids[offset + t] = example.encoding.input_ids[t];
      batch.token_type_ids[offset + t] = example.encoding.token_type_ids[t];
      batch.attention_mask[offset + t] = 1;
    }
    batch.real_tokens += static_cast<int64_t>(length);
    batch.labels.push_back(example.label);
    batch.targets.push_back(example.target);
    batch.example_idx.push_back(example.idx);
  }
  return batch;
}

double PaddingRatio(const std::vector<int64_t>& lengths,
                    const std::vector<std::vector<int64_t>>& batches) {
  int64_t real = 0;
  int64_t total = 0;
  for (const auto& batch : batches) {
    int64_t longest = 0;
    for (const int64_t position : batch) {
      const int64_t length = lengths.at(static_cast<size_t>(position));
      real += length;
      longest = std::max(longest, length);
    }
    total += longest * static_cast<int64_t>(batch.size());
  }
  return total == 0 ? 0.0 : static_cast<double>(total - real) / static_cast<double>(total);
}

}  // namespace bertfleet
