#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace bertfleet {

// One GLUE example, as Hugging Face `glue` holds it. Test rows have label -1. Single-sentence
// tasks (cola, sst2) leave sentence2 empty; the regression task (stsb) has its target in score
// and label -1.
struct SentencePair {
  int64_t idx = 0;
  int label = -1;
  std::string sentence1;
  std::string sentence2;
  double score = std::numeric_limits<double>::quiet_NaN();
};

struct MrpcSplits {
  std::vector<SentencePair> train;       // 3668
  std::vector<SentencePair> validation;  // 408
  std::vector<SentencePair> test;        // 1725
};

}  // namespace bertfleet
