#pragma once
// Everything a loader (tokenizer.json, or vocab.txt + tokenizer_config.json) reads, before the
// tokenizer builds its lookup structures from it. Internal to common/text.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/text/added_tokens.h"
#include "common/text/bert_tokenizer.h"

namespace bertfleet {

struct BertTokenizerSpec {
  std::string source;  // the file the vocabulary came from, named in errors
  std::vector<std::string> id_to_token;
  // token -> id in file order; a repeated token takes the later id, as in Hugging Face.
  std::vector<std::pair<std::string, int32_t>> vocab;
  TokenizerOptions options;
  bool clean_text = true;
  std::string unk_token = "[UNK]";
  std::string continuing_subword_prefix = "##";
  std::vector<AddedToken> added_tokens;
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
  // Set when the file names the ids directly (tokenizer.json post_processor and padding).
  int32_t cls_id = -1;
  int32_t sep_id = -1;
  int32_t pad_id = -1;
};

}  // namespace bertfleet
