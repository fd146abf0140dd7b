#pragma once
// Hugging Face "added tokens" ([CLS], [SEP], [MASK], ...): a special token written literally in
// the input is kept whole with its own id instead of being normalized and split into "[", "cls",
// "]". Tokens with normalized=false match the raw text; normalized=true ones match the text after
// normalization. Matching is leftmost-longest, like tokenizers' Aho-Corasick automaton.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bertfleet {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool normalized = false;
};

class AddedTokenMatcher {
 public:
  struct Match {
    size_t begin;
    size_t length;
    int32_t id;
  };

  AddedTokenMatcher() = default;
  explicit AddedTokenMatcher(std::vector<AddedToken> tokens);

  bool empty() const { return tokens_.empty(); }
  // Leftmost-longest match starting at or after `from`; length 0 when there is none.
  Match FindNext(std::string_view text, size_t from) const;

 private:
  std::vector<AddedToken> tokens_;  // longest first, so the first hit at a position is longest
  std::array<bool, 256> first_byte_{};
};

}  // namespace bertfleet
