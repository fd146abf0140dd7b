// How much of a batch is padding on the real MRPC train split, tokenized with bert-base-uncased
// WordPiece, with and without Hugging Face-style length grouping. Prints the ratios so the
// numbers behind the group_by_length default stay visible in test logs.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "common/data/batching.h"
#include "common/data/mrpc_dataset.h"
#include "common/text/bert_tokenizer.h"

namespace bertfleet {
namespace {

TEST(MrpcPaddingTest, GroupByLengthCutsPaddingOnTokenizedTrain) {
  const std::filesystem::path shared =
      std::filesystem::path(BERTFLEET_SOURCE_DIR).parent_path() / "shared/data";
  const BertTokenizer tokenizer = BertTokenizer::FromModelDir(shared / "bert-base-uncased");
  const auto train = LoadMrpcSplit((shared / "mrpc").string(), "train", "");
  std::vector<int64_t> lengths;
  int64_t longest = 0;
  for (const SentencePair& row : train) {
    lengths.push_back(static_cast<int64_t>(
        tokenizer.EncodePair(row.sentence1, row.sentence2, 128).input_ids.size()));
    longest = std::max(longest, lengths.back());
  }
  ASSERT_EQ(lengths.size(), 3668u);
  EXPECT_LE(longest, 128);

  for (const int64_t batch_size : {16, 32}) {
    double random = 0.0, grouped = 0.0;
    constexpr int kEpochs = 3;
    for (int64_t epoch = 0; epoch < kEpochs; ++epoch) {
      BatchPlanOptions options;
      options.batch_size = batch_size;
      random += PaddingRatio(lengths, PlanEpochBatches(lengths, options, epoch)) / kEpochs;
      options.group_by_length = true;
      grouped += PaddingRatio(lengths, PlanEpochBatches(lengths, options, epoch)) / kEpochs;
    }
    std::printf(
        "MRPC train (bert-base-uncased, max_length 128) batch_size=%ld padding_ratio "
        "shuffled=%.4f group_by_length=%.4f\n",
        static_cast<long>(batch_size), random, grouped);
    EXPECT_GT(random, 0.2);
    EXPECT_LT(grouped, 0.05);
  }
}

}  // namespace
}  // namespace bertfleet
