#pragma once
// Epoch order, batching and dynamic padding (Hugging Face DataCollatorWithPadding: each batch is
// padded to its own longest sequence, with pad id 0 and attention mask 0 on padding).
#include <cstdint>
#include <limits>
#include <vector>

#include "common/text/bert_tokenizer.h"

namespace bertfleet {

struct EncodedExample {
  int64_t idx = 0;
  int label = -1;
  float target = std::numeric_limits<float>::quiet_NaN();  // regression (stsb): the score
  Encoding encoding;
};

// Row-major [batch_size, seq_len] int64 arrays, ready to wrap as tensors without copying.
struct PaddedBatch {
  int64_t batch_size = 0;
  int64_t seq_len = 0;
  std::vector<int64_t> input_ids;
  std::vector<int64_t> token_type_ids;
  std::vector<int64_t> attention_mask;
  std::vector<int64_t> labels;      // -1 where unknown (test split)
  std::vector<float> targets;       // regression targets; NaN where unknown
  std::vector<int64_t> example_idx;
  int64_t real_tokens = 0;          // sum of attention_mask
};

// The permutation of [0, n) that Hugging Face Trainer uses for epoch `epoch` of a run with this
// seed (torch.randperm(n) from a generator seeded with seed + epoch), on every platform.
std::vector<int64_t> EpochPermutation(int64_t n, uint64_t seed, int64_t epoch);

struct BatchPlanOptions {
  int64_t batch_size = 16;
  bool shuffle = true;
  bool group_by_length = false;  // Hugging Face LengthGroupedSampler: megabatches of 50 batches
  bool drop_last = false;
  uint64_t seed = 42;
};

// The epoch's batches as lists of example positions. Without shuffle: in order.
std::vector<std::vector<int64_t>> PlanEpochBatches(const std::vector<int64_t>& lengths,
                                                   const BatchPlanOptions& options, int64_t epoch);

PaddedBatch CollateBatch(const std::vector<EncodedExample>& examples,
                         const std::vector<int64_t>& positions, int32_t pad_id = 0);

// Fraction of padded positions over all positions for a batch plan (0 = no padding).
double PaddingRatio(const std::vector<int64_t>& lengths,
                    const std::vector<std::vector<int64_t>>& batches);

}  // namespace bertfleet
