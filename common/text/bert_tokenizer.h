#pragma once
// BERT WordPiece tokenization, identical to Hugging Face BertTokenizerFast with
// do_lower_case=True: clean-up, CJK spacing, lower-casing + accent stripping (NFD, drop Mn),
// punctuation splitting, greedy longest-match-first WordPiece, then [CLS] a [SEP] b [SEP].
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/text/added_tokens.h"
#include "common/text/bert_normalizer.h"
#include "common/text/vocab_index.h"

namespace bertfleet {

struct Encoding {
  std::vector<int32_t> input_ids;
  std::vector<int32_t> token_type_ids;  // 0 for [CLS] a [SEP], 1 for b [SEP]
  // The attention mask of an unpadded encoding is all ones; padding happens in batching.
};

struct TokenizerOptions {
  bool do_lower_case = true;
  bool strip_accents = true;  // follows do_lower_case unless set otherwise
  bool tokenize_chinese_chars = true;
  int max_input_chars_per_word = 100;
};

struct BertTokenizerSpec;  // what a loader read: see bert_tokenizer_spec.h

class BertTokenizer {
 public:
  // Loads tokenizer.json when the directory has one, else vocab.txt (+ tokenizer_config.json
  // for do_lower_case). Throws Error naming the file on a missing or malformed file.
  static BertTokenizer FromModelDir(const std::filesystem::path& dir);
  static BertTokenizer FromVocabFile(const std::filesystem::path& vocab_txt,
                                     TokenizerOptions options = {});

  // WordPiece ids of one text, without special tokens.
  std::vector<int32_t> Tokenize(std::string_view text) const;
  // Word pieces as strings (for tests and debugging).
  std::vector<std::string> TokenizeToPieces(std::string_view text) const;

  // [CLS] a [SEP] b [SEP], truncated longest_first so the total is at most max_length.
  Encoding EncodePair(std::string_view first, std::string_view second, int max_length = 512) const;
  Encoding EncodeSingle(std::string_view text, int max_length = 512) const;

  int32_t cls_id() const { return cls_id_; }
  int32_t sep_id() const { return sep_id_; }
  int32_t pad_id() const { return pad_id_; }
  int32_t unk_id() const { return unk_id_; }
  int64_t vocab_size() const { return static_cast<int64_t>(id_to_token_.size()); }
  const std::vector<std::string>& vocabulary() const { return id_to_token_; }

 private:
  explicit BertTokenizer(BertTokenizerSpec spec);

  void TokenizeInto(std::string_view text, std::vector<int32_t>& out) const;
  void SplitNormalized(std::string_view normalized, std::vector<int32_t>& out) const;
  void PreTokenize(std::string_view normalized, std::vector<int32_t>& out) const;
  void WordPiece(std::string_view word, std::vector<int32_t>& out) const;

  TokenizerOptions options_;
  BertNormalizer normalizer_;
  std::vector<std::string> id_to_token_;
  VocabIndex token_to_id_;              // every token, for the first piece of a word
  VocabIndex continuation_to_id_;       // "##x" tokens keyed by "x", for the following pieces
  AddedTokenMatcher raw_added_;         // special tokens matched before normalization
  AddedTokenMatcher normalized_added_;  // added tokens matched after it
  int32_t cls_id_ = -1, sep_id_ = -1, pad_id_ = -1, unk_id_ = -1;
};

}  // namespace bertfleet
