// libFuzzer target for the tokenizer loaders: the tokenizer.json, vocab.txt and
// tokenizer_config.json of a model directory, which come from the hub or from users.
// Input starting with '{': a tokenizer.json. Otherwise: a vocab.txt, optionally followed by a NUL
// byte and a tokenizer_config.json.
// Every input must load or throw bertfleet::Error naming the file; a tokenizer that loads must only produce ids
// inside its vocabulary, since they index the model's embedding table.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/text/bert_tokenizer.h"
#include "common/util/error.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace fs = std::filesystem;

// Text that reaches every tokenizer stage: specials, punctuation, accents, CJK, long words.
constexpr std::string_view kProbe =
    "[CLS] Hello, WORLD! [MASK] caf\xC3\xA9 na\xC3\xAFve \xE4\xB8\xAD\xE6\x96\x87 unaffable "
    "[SEP] [PAD] ## a##b xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

fs::path WriteModelDir(std::string_view input) {
  if (!input.empty() && input[0] == '{') {
    fs::create_directories(bertfleet::fuzz::ScratchDir() / "json");
    return bertfleet::fuzz::WriteScratchFile("json/tokenizer.json", input).parent_path();
  }
  fs::create_directories(bertfleet::fuzz::ScratchDir() / "vocab");
  const size_t nul = input.find('\0');
  const fs::path dir =
      bertfleet::fuzz::WriteScratchFile("vocab/vocab.txt", input.substr(0, nul)).parent_path();
  if (nul == std::string_view::npos) {
    fs::remove(dir / "tokenizer_config.json");
  } else {
    bertfleet::fuzz::WriteScratchFile("vocab/tokenizer_config.json", input.substr(nul + 1));
  }
  return dir;
}

void CheckIds(const bertfleet::BertTokenizer& tokenizer, const std::vector<int32_t>& ids) {
  for (const int32_t id : ids) {
    if (id < 0 || id >= tokenizer.vocab_size()) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const fs::path dir = WriteModelDir(input);
  try {
    const bertfleet::BertTokenizer tokenizer = bertfleet::BertTokenizer::FromModelDir(dir);
    CheckIds(tokenizer, {tokenizer.cls_id(), tokenizer.sep_id(), tokenizer.pad_id(),
                         tokenizer.unk_id()});
    CheckIds(tokenizer, tokenizer.EncodePair(kProbe, kProbe, 64).input_ids);
    // Each vocabulary entry as text: hits added tokens and the longest WordPiece matches.
    const std::vector<std::string>& vocabulary = tokenizer.vocabulary();
    for (size_t i = 0; i < vocabulary.size() && i < 64; ++i) {
      CheckIds(tokenizer, tokenizer.Tokenize(vocabulary[i]));
    }
  } catch (const bertfleet::Error& error) {
    bertfleet::fuzz::CheckError(error, dir.string());
  }
  return 0;
}
