#pragma once
// A split encoded once up front: tokenizing all of MRPC takes well under a second, and the
// lengths drive batching (group_by_length) and the padding statistics.
#include <vector>

#include "common/data/batching.h"
#include "common/data/sentence_pair.h"
#include "common/text/bert_tokenizer.h"

namespace bertfleet {

struct TokenizedDataset {
  std::vector<EncodedExample> examples;
  std::vector<int64_t> lengths;  // tokens per example, [CLS]/[SEP] included
};

enum class TextInputs { kPairs, kSingleSentences };  // a task's one or two text columns

// Encodes every example (pairs truncated longest_first to max_length; single sentences, as
// Hugging Face encodes text with no text_pair, from sentence1 only) with `threads` workers (0:
// hardware concurrency); output order equals input order.
TokenizedDataset TokenizePairs(const BertTokenizer& tokenizer, const std::vector<SentencePair>& pairs,
                               int max_length, int threads = 0, TextInputs inputs = TextInputs::kPairs);

}  // namespace bertfleet
