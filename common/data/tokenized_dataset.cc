#include "common/data/tokenized_dataset.h"

#include <algorithm>
#include <thread>

#include "common/util/usable_cores.h"

namespace bertfleet {

TokenizedDataset TokenizePairs(const BertTokenizer& tokenizer, const std::vector<SentencePair>& pairs,
                               int max_length, int threads, TextInputs inputs) {
  TokenizedDataset dataset;
  const size_t n = pairs.size();
  dataset.examples.resize(n);
  dataset.lengths.resize(n);
  if (threads <= 0) threads = UsableCores();
  threads = static_cast<int>(std::min<size_t>(static_cast<size_t>(threads), std::max<size_t>(1, n / 64)));
  auto encode_range = [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      EncodedExample& example = dataset.examples[i];
      example.idx = pairs[i].idx;
      example.label = pairs[i].label;
      example.target = static_cast<float>(pairs[i].score);
      example.encoding = inputs == TextInputs::kSingleSentences
                             ? tokenizer.EncodeSingle(pairs[i].sentence1, max_length)
                             : tokenizer.EncodePair(pairs[i].sentence1, pairs[i].sentence2, max_length);
      dataset.lengths[i] = static_cast<int64_t>(example.encoding.input_ids.size());
    }
  };
  if (threads <= 1) {
    encode_range(0, n);
    return dataset;
  }
  std::vector<std::thread> workers;
  const size_t chunk = (n + static_cast<size_t>(threads) - 1) / static_cast<size_t>(threads);
  for (size_t begin = 0; begin < n; begin += chunk) {
    workers.emplace_back(encode_range, begin, std::min(n, begin + chunk));
  }
  for (auto& worker : workers) worker.join();
  return dataset;
}

}  // namespace bertfleet
