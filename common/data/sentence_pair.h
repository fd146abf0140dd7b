#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace bertfleet {

// One GLUE sentence-pair example, as Hugging Face `glue/mrpc` holds it. Test rows have label -1.
struct SentencePair {
  int64_t idx = 0;
  int label = -1;
  std::string sentence1;
  std::string sentence2;
};

struct MrpcSplits {
  std::vector<SentencePair> train;       // 3668
  std::vector<SentencePair> validation;  // 408
  std::vector<SentencePair> test;        // 1725
};

}  // namespace bertfleet
