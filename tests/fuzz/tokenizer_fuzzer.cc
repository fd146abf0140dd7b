// libFuzzer target for BERT tokenization of arbitrary text (the sentences of user data sets):
// normalization, pre-tokenization, WordPiece, added tokens and pair truncation, with the real
// bert-base-uncased vocabulary ($BERTFLEET_FUZZ_TOKENIZER_DIR, default ../shared/data/
// bert-base-uncased next to the repository, as the tokenizer unit tests use) under three
// normalizer settings. Input: sentence1 TAB sentence2 (no TAB: one sentence).
// Every id must lie inside the vocabulary and every encoding must respect max_length.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string_view>
#include <vector>

#include "common/text/bert_tokenizer.h"

namespace {

namespace fs = std::filesystem;

fs::path TokenizerDir() {
  if (const char* dir = std::getenv("BERTFLEET_FUZZ_TOKENIZER_DIR")) return dir;
  return fs::path(BERTFLEET_SOURCE_DIR).parent_path() / "shared" / "data" / "bert-base-uncased";
}

// tokenizer.json (lower-casing, accent stripping, CJK spacing) and vocab.txt with the settings
// that switch those steps off, so every normalizer branch sees fuzzed text.
const std::vector<bertfleet::BertTokenizer>& Tokenizers() {
  static const auto* tokenizers = [] {
    const fs::path dir = TokenizerDir();
    auto* list = new std::vector<bertfleet::BertTokenizer>;
    list->push_back(bertfleet::BertTokenizer::FromModelDir(dir));
    bertfleet::TokenizerOptions cased;
    cased.do_lower_case = cased.strip_accents = cased.tokenize_chinese_chars = false;
    list->push_back(bertfleet::BertTokenizer::FromVocabFile(dir / "vocab.txt", cased));
    bertfleet::TokenizerOptions keep_accents;
    keep_accents.strip_accents = false;
    keep_accents.max_input_chars_per_word = 4;
    list->push_back(bertfleet::BertTokenizer::FromVocabFile(dir / "vocab.txt", keep_accents));
    return list;
  }();
  return *tokenizers;
}

void CheckIds(const bertfleet::BertTokenizer& tokenizer, const std::vector<int32_t>& ids) {
  for (const int32_t id : ids) {
    if (id < 0 || id >= tokenizer.vocab_size()) __builtin_trap();
  }
}

void CheckEncoding(const bertfleet::BertTokenizer& tokenizer, const bertfleet::Encoding& encoding,
                   size_t max_length, size_t separators) {
  const std::vector<int32_t>& ids = encoding.input_ids;
  if (ids.size() > max_length || ids.size() < 1 + separators ||
      encoding.token_type_ids.size() != ids.size() || ids.front() != tokenizer.cls_id() ||
      ids.back() != tokenizer.sep_id()) {
    __builtin_trap();
  }
  CheckIds(tokenizer, ids);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  Tokenizers();  // load once, outside the timed and coverage-tracked runs
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t tab = input.find('\t');
  const std::string_view first = input.substr(0, tab);
  const std::string_view second = tab == std::string_view::npos ? "" : input.substr(tab + 1);
  // A short budget makes truncation happen on most inputs, 128 is run_glue's default.
  const int max_length = size > 0 ? 3 + data[0] % 126 : 128;
  for (const bertfleet::BertTokenizer& tokenizer : Tokenizers()) {
    CheckIds(tokenizer, tokenizer.Tokenize(input));
    CheckEncoding(tokenizer, tokenizer.EncodePair(first, second, max_length), max_length, 2);
    CheckEncoding(tokenizer, tokenizer.EncodeSingle(input, max_length), max_length, 1);
  }
  return 0;
}
