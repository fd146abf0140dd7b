// Loading a BertTokenizer from Hugging Face files: tokenizer.json (what BertTokenizerFast reads
// first), else vocab.txt plus tokenizer_config.json (what its slow-to-fast converter reads).
// Anything these files can express that bertfleet does not implement is an error naming the
// file and field, never a silent difference from Hugging Face.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/text/bert_tokenizer.h"
#include "common/text/bert_tokenizer_spec.h"
#include "common/text/utf8.h"
#include "common/util/error.h"
#include "common/util/file_io.h"

namespace bertfleet {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

Json ParseJsonFile(const fs::path& path) {
  const std::string text = ReadFileToString(path);
  try {
    Json json = Json::parse(text);
    if (!json.is_object()) throw Error(path.string() + ": expected a JSON object at the top level");
    return json;
  } catch (const Json::parse_error& error) {
    // The parser quotes the bytes it stopped at, which need not be valid UTF-8.
    throw Error(path.string() + ": invalid JSON: " + utf8::ReplaceMalformed(error.what()));
  }
}

// Typed field access; `where` names the file and the enclosing field for error messages.
class Fields {
 public:
  // Field paths read "FILE: model.vocab": the root passes separator ": ", nested objects ".".
  Fields(const Json& object, std::string where, std::string separator = ".")
      : object_(object), where_(std::move(where)), separator_(std::move(separator)) {}

  bool Has(const char* key) const { return object_.contains(key) && !object_[key].is_null(); }
  const Json& Get(const char* key) const {
    static const Json kNull;
    return object_.contains(key) ? object_[key] : kNull;
  }

  bool Bool(const char* key, bool fallback) const {
    if (!Has(key)) return fallback;
    if (!object_[key].is_boolean()) Fail(key, "a boolean");
    return object_[key].get<bool>();
  }
  int64_t Int(const char* key, int64_t fallback) const {
    if (!Has(key)) return fallback;
    if (!object_[key].is_number_integer()) Fail(key, "an integer");
    return object_[key].get<int64_t>();
  }
  std::string String(const char* key, const std::string& fallback) const {
    if (!Has(key)) return fallback;
    if (!object_[key].is_string()) Fail(key, "a string");
    return object_[key].get<std::string>();
  }
  // transformers writes special tokens either as "[CLS]" or as {"content": "[CLS]", ...}.
  std::string TokenName(const char* key, const std::string& fallback) const {
    if (Has(key) && object_[key].is_object()) {
      return Fields(object_[key], Path(key)).String("content", fallback);
    }
    return String(key, fallback);
  }
  const Json& Object(const char* key) const {
    if (!Has(key) || !object_[key].is_object()) Fail(key, "an object");
    return object_[key];
  }
  std::string Path(const std::string& key) const { return where_ + separator_ + key; }
  [[noreturn]] void Fail(const std::string& key, const std::string& expected) const {
    throw Error(Path(key) + ": expected " + expected);
  }

 private:
  const Json& object_;
  std::string where_;
  std::string separator_;
};

AddedToken ReadAddedToken(const Json& json, const std::string& where, int64_t id) {
  if (!json.is_object()) throw Error(where + ": expected an object");
  const Fields token(json, where);
  for (const char* unsupported : {"lstrip", "rstrip", "single_word"}) {
    if (token.Bool(unsupported, false)) {
      throw Error(token.Path(unsupported) + ": true is not supported by bertfleet's tokenizer");
    }
  }
  if (id < 0 || id > INT32_MAX) throw Error(where + ": bad token id " + std::to_string(id));
  AddedToken added;
  added.id = static_cast<int32_t>(id);
  added.content = token.String("content", "");
  if (added.content.empty()) token.Fail("content", "a non-empty string");
  // tokenizers' AddedToken defaults: special tokens are matched on the raw text.
  added.normalized = token.Bool("normalized", !token.Bool("special", false));
  return added;
}

void ReadPostProcessor(const Fields& root, const std::string& file, BertTokenizerSpec& spec) {
  if (!root.Has("post_processor")) return;  // ids come from the [CLS] and [SEP] vocabulary entries
  const Fields processor(root.Object("post_processor"), file + ": post_processor");
  const std::string type = processor.String("type", "");
  if (type == "BertProcessing") {
    for (auto [key, id] : {std::pair{"cls", &spec.cls_id}, std::pair{"sep", &spec.sep_id}}) {
      const Json& pair = processor.Get(key);
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() ||
          !pair[1].is_number_integer()) {
        processor.Fail(key, "[token, id]");
      }
      *id = pair[1].get<int32_t>();
    }
    return;
  }
  if (type != "TemplateProcessing") processor.Fail("type", "BertProcessing or TemplateProcessing");
  // Only BERT's pair template is implemented: [CLS]:0 A:0 [SEP]:0 B:1 [SEP]:1.
  const Json& pair = processor.Get("pair");
  const auto piece = [&](size_t i, const char* kind, int type_id) -> std::string {
    if (!pair.is_array() || pair.size() != 5 || !pair[i].contains(kind)) return "";
    const Json& body = pair[i][kind];
    if (!body.is_object() || !body.contains("id") || !body["id"].is_string() ||
        !body.contains("type_id") || body["type_id"] != type_id) {
      return "";
    }
    return body["id"].get<std::string>();
  };
  const std::string cls = piece(0, "SpecialToken", 0), sep = piece(2, "SpecialToken", 0);
  if (cls.empty() || sep.empty() || piece(1, "Sequence", 0) != "A" ||
      piece(3, "Sequence", 1) != "B" || piece(4, "SpecialToken", 1) != sep) {
    processor.Fail("pair", "the BERT template [CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1");
  }
  const Fields specials(processor.Object("special_tokens"), processor.Path("special_tokens"));
  for (auto [name, id] : {std::pair{cls, &spec.cls_id}, std::pair{sep, &spec.sep_id}}) {
    const Json& ids = Fields(specials.Object(name.c_str()), specials.Path(name)).Get("ids");
    if (!ids.is_array() || ids.size() != 1 || !ids[0].is_number_integer()) {
      throw Error(specials.Path(name) + ".ids: expected exactly one integer id");
    }
    *id = ids[0].get<int32_t>();
  }
  spec.cls_token = cls;
  spec.sep_token = sep;
}

BertTokenizerSpec ReadTokenizerJsonFields(const fs::path& path) {
  const std::string file = path.string();
  const Json json = ParseJsonFile(path);
  const Fields root(json, file, ": ");
  BertTokenizerSpec spec;
  spec.source = file;

  const Fields model(root.Object("model"), file + ": model");
  if (model.String("type", "WordPiece") != "WordPiece") model.Fail("type", "\"WordPiece\"");
  spec.unk_token = model.String("unk_token", "[UNK]");
  spec.continuing_subword_prefix = model.String("continuing_subword_prefix", "##");
  const int64_t max_chars = model.Int("max_input_chars_per_word", 100);
  if (max_chars < 0 || max_chars > INT32_MAX) model.Fail("max_input_chars_per_word", "an int >= 0");
  spec.options.max_input_chars_per_word = static_cast<int>(max_chars);
  const Json& vocab = model.Object("vocab");
  if (vocab.empty()) throw Error(model.Path("vocab") + ": empty vocabulary");
  int64_t max_id = -1;
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      throw Error(model.Path("vocab") + "[\"" + token + "\"]: expected an integer id >= 0");
    }
    spec.vocab.emplace_back(token, id.get<int32_t>());
    max_id = std::max(max_id, id.get<int64_t>());
  }

  if (root.Has("added_tokens")) {
    const Json& added = root.Get("added_tokens");
    if (!added.is_array()) root.Fail("added_tokens", "an array");
    for (size_t i = 0; i < added.size(); ++i) {
      const std::string where = file + ": added_tokens[" + std::to_string(i) + "]";
      if (!added[i].is_object() || !added[i].contains("id") ||
          !added[i]["id"].is_number_integer()) {
        throw Error(where + ".id: expected an integer");
      }
      spec.added_tokens.push_back(ReadAddedToken(added[i], where, added[i]["id"].get<int64_t>()));
      max_id = std::max<int64_t>(max_id, spec.added_tokens.back().id);
    }
  }
  // Ids index id_to_token and the model's embedding table: one far beyond the number of tokens
  // the file defines is a corrupt file, not a reason to allocate gigabytes.
  const size_t defined = spec.vocab.size() + spec.added_tokens.size();
  if (static_cast<uint64_t>(max_id) >= defined) {
    throw Error(file + ": token id " + std::to_string(max_id) + " is beyond the " +
                std::to_string(defined) + " tokens the file defines");
  }
  spec.id_to_token.resize(static_cast<size_t>(max_id) + 1);
  for (const auto& [token, id] : spec.vocab) spec.id_to_token[id] = token;
  for (const AddedToken& token : spec.added_tokens) spec.id_to_token[token.id] = token.content;

  if (!root.Has("normalizer")) {
    spec.clean_text = false;  // no normalizer: the text reaches the pre-tokenizer unchanged
    spec.options.do_lower_case = spec.options.strip_accents = false;
    spec.options.tokenize_chinese_chars = false;
  } else {
    const Fields normalizer(root.Object("normalizer"), file + ": normalizer");
    if (normalizer.String("type", "") != "BertNormalizer") {
      normalizer.Fail("type", "\"BertNormalizer\"");
    }
    spec.clean_text = normalizer.Bool("clean_text", true);
    spec.options.tokenize_chinese_chars = normalizer.Bool("handle_chinese_chars", true);
    spec.options.do_lower_case = normalizer.Bool("lowercase", true);
    spec.options.strip_accents = normalizer.Bool("strip_accents", spec.options.do_lower_case);
  }
  const Fields pre_tokenizer(root.Object("pre_tokenizer"), file + ": pre_tokenizer");
  if (pre_tokenizer.String("type", "") != "BertPreTokenizer") {
    pre_tokenizer.Fail("type", "\"BertPreTokenizer\"");
  }
  ReadPostProcessor(root, file, spec);
  if (root.Has("padding")) {
    const Fields padding(root.Object("padding"), file + ": padding");
    spec.pad_id = static_cast<int32_t>(padding.Int("pad_id", -1));
    spec.pad_token = padding.String("pad_token", spec.pad_token);
  }
  return spec;
}

BertTokenizerSpec ReadTokenizerJson(const fs::path& path) {
  try {
    return ReadTokenizerJsonFields(path);
  } catch (const Json::exception& error) {  // a field of an unexpected type deep inside
    throw Error(path.string() + ": " + error.what());
  }
}

// vocab.txt as transformers' load_vocab reads it: one token per line (universal newlines, so
// "\r\n" and "\r" end lines too), the id is the line number, blank lines are tokens.
BertTokenizerSpec ReadVocabTxt(const fs::path& path) {
  const std::string text = ReadFileToString(path);
  BertTokenizerSpec spec;
  spec.source = path.string();
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find_first_of("\r\n", begin);
    if (end == std::string::npos) end = text.size();
    const std::string_view token = std::string_view(text).substr(begin, end - begin);
    if (!utf8::IsValid(token)) {
      throw Error(spec.source + ":" + std::to_string(spec.id_to_token.size() + 1) +
                  ": not valid UTF-8");
    }
    spec.vocab.emplace_back(token, static_cast<int32_t>(spec.id_to_token.size()));
    spec.id_to_token.emplace_back(token);
    begin = end + (end + 1 < text.size() && text[end] == '\r' && text[end + 1] == '\n' ? 2 : 1);
  }
  if (spec.id_to_token.empty()) throw Error(spec.source + ": empty vocabulary");
  return spec;
}

// The slow tokenizer's special tokens become added tokens matched on the raw text.
void AddSpecialTokens(const std::vector<std::string>& names, BertTokenizerSpec& spec) {
  for (const std::string& name : names) {
    const auto it = std::find_if(spec.vocab.rbegin(), spec.vocab.rend(),
                                 [&](const auto& entry) { return entry.first == name; });
    if (it != spec.vocab.rend()) spec.added_tokens.push_back(AddedToken{name, it->second, false});
  }
}

// tokenizer_config.json as BertTokenizer's constructor reads it; returns the mask token's name.
std::string ReadTokenizerConfigFields(const fs::path& path, BertTokenizerSpec& spec) {
  const Json json = ParseJsonFile(path);
  const Fields config(json, path.string(), ": ");
  spec.options.do_lower_case = config.Bool("do_lower_case", true);
  spec.options.strip_accents = config.Bool("strip_accents", spec.options.do_lower_case);
  spec.options.tokenize_chinese_chars = config.Bool("tokenize_chinese_chars", true);
  spec.unk_token = config.TokenName("unk_token", spec.unk_token);
  spec.cls_token = config.TokenName("cls_token", spec.cls_token);
  spec.sep_token = config.TokenName("sep_token", spec.sep_token);
  spec.pad_token = config.TokenName("pad_token", spec.pad_token);
  if (config.Has("added_tokens_decoder")) {
    const Fields decoder(config.Object("added_tokens_decoder"),
                         config.Path("added_tokens_decoder"));
    for (const auto& [id, token] : config.Get("added_tokens_decoder").items()) {
      int64_t value = -1;
      try {
        value = std::stoll(id);
      } catch (const std::exception&) {
        throw Error(decoder.Path(id) + ": the key is not a token id");
      }
      spec.added_tokens.push_back(ReadAddedToken(token, decoder.Path(id), value));
    }
  }
  return config.TokenName("mask_token", "[MASK]");
}

BertTokenizerSpec ReadVocabWithConfig(const fs::path& vocab_txt, const fs::path& config_path) {
  BertTokenizerSpec spec = ReadVocabTxt(vocab_txt);
  std::string mask_token = "[MASK]";
  if (fs::exists(config_path)) {
    try {
      mask_token = ReadTokenizerConfigFields(config_path, spec);
    } catch (const Json::exception& error) {  // a field of an unexpected type deep inside
      throw Error(config_path.string() + ": " + error.what());
    }
    // The ids must name vocab.txt lines: tokens beyond it would index past the embeddings.
    for (const AddedToken& token : spec.added_tokens) {
      if (static_cast<size_t>(token.id) >= spec.id_to_token.size()) {
        throw Error(config_path.string() + ": added token '" + token.content + "' has id " +
                    std::to_string(token.id) + ", outside " + vocab_txt.string() + " (" +
                    std::to_string(spec.id_to_token.size()) + " tokens)");
      }
    }
  }
  AddSpecialTokens({spec.unk_token, spec.sep_token, spec.pad_token, spec.cls_token, mask_token},
                   spec);
  return spec;
}

}  // namespace

BertTokenizer BertTokenizer::FromModelDir(const std::filesystem::path& dir) {
  if (!fs::is_directory(dir)) throw Error(dir.string() + ": not a model directory");
  if (fs::exists(dir / "tokenizer.json")) {
    return BertTokenizer(ReadTokenizerJson(dir / "tokenizer.json"));
  }
  if (!fs::exists(dir / "vocab.txt")) {
    throw Error(dir.string() + ": has neither tokenizer.json nor vocab.txt");
  }
  return BertTokenizer(ReadVocabWithConfig(dir / "vocab.txt", dir / "tokenizer_config.json"));
}

BertTokenizer BertTokenizer::FromVocabFile(const std::filesystem::path& vocab_txt,
                                           TokenizerOptions options) {
  BertTokenizerSpec spec = ReadVocabTxt(vocab_txt);
  spec.options = options;
  AddSpecialTokens({spec.unk_token, spec.sep_token, spec.pad_token, spec.cls_token, "[MASK]"},
                   spec);
  return BertTokenizer(std::move(spec));
}

}  // namespace bertfleet
