#include "common/text/bert_tokenizer.h"

#include <algorithm>
#include <array>
#include <utility>

#include "common/text/bert_tokenizer_spec.h"
#include "common/text/hf_unicode.h"
#include "common/text/utf8.h"
#include "common/util/error.h"

namespace bertfleet {
namespace {

enum class AsciiKind : uint8_t { kWord, kSpace, kPunct };

constexpr std::array<AsciiKind, 128> MakeAsciiKinds() {
  std::array<AsciiKind, 128> kinds{};
  for (int b = 0; b < 128; ++b) {
    if (b == ' ' || (b >= '\t' && b <= '\r')) {
      kinds[b] = AsciiKind::kSpace;
    } else if ((b >= 33 && b <= 47) || (b >= 58 && b <= 64) || (b >= 91 && b <= 96) ||
               (b >= 123 && b <= 126)) {
      kinds[b] = AsciiKind::kPunct;
    } else {
      kinds[b] = AsciiKind::kWord;
    }
  }
  return kinds;
}

constexpr std::array<AsciiKind, 128> kAsciiKinds = MakeAsciiKinds();

bool IsContinuationByte(char c) { return (static_cast<uint8_t>(c) & 0xC0) == 0x80; }

// tokenizers' LongestFirst for a pair (truncation.rs): the shorter side keeps what it can up to
// half, the longer one gets the rest, and on a tie the second sequence gets the odd token.
// This is not the slow tokenizer's one-token-at-a-time loop, which breaks ties the other way.
void TruncateLongestFirst(size_t& first, size_t& second, size_t budget) {
  if (first + second <= budget) return;
  size_t n1 = first, n2 = second;
  const bool swapped = n1 > n2;
  if (swapped) std::swap(n1, n2);
  n2 = n1 > budget ? n1 : std::max(n1, budget - n1);
  if (n1 + n2 > budget) {
    n1 = budget / 2;
    n2 = n1 + budget % 2;
  }
  if (swapped) std::swap(n1, n2);
  first = std::min(first, n1);
  second = std::min(second, n2);
}

}  // namespace

BertTokenizer::BertTokenizer(BertTokenizerSpec spec)
    : options_(spec.options),
      normalizer_(NormalizerOptions{spec.clean_text, spec.options.tokenize_chinese_chars,
                                    spec.options.strip_accents, spec.options.do_lower_case}),
      id_to_token_(std::move(spec.id_to_token)) {
  const std::string& prefix = spec.continuing_subword_prefix;
  for (const auto& [token, id] : spec.vocab) {
    token_to_id_.Insert(token, id);
    if (token.size() >= prefix.size() && token.compare(0, prefix.size(), prefix) == 0) {
      continuation_to_id_.Insert(std::string_view(token).substr(prefix.size()), id);
    }
  }
  const auto resolve = [&](const std::string& token, int32_t given, const char* role) {
    if (given >= 0) return given;
    const int32_t id = token_to_id_.Find(token);
    if (id != VocabIndex::kNotFound) return id;
    for (const AddedToken& added : spec.added_tokens) {
      if (added.content == token) return added.id;
    }
    throw Error(spec.source + ": the vocabulary has no " + role + " token '" + token + "'");
  };
  unk_id_ = token_to_id_.Find(spec.unk_token);
  if (unk_id_ == VocabIndex::kNotFound) {
    throw Error(spec.source + ": the vocabulary has no unknown token '" + spec.unk_token + "'");
  }
  cls_id_ = resolve(spec.cls_token, spec.cls_id, "classifier");
  sep_id_ = resolve(spec.sep_token, spec.sep_id, "separator");
  pad_id_ = resolve(spec.pad_token, spec.pad_id, "padding");
  for (const int32_t id : {cls_id_, sep_id_, pad_id_}) {
    if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size()) {
      throw Error(spec.source + ": special token id " + std::to_string(id) +
                  " is outside the vocabulary (size " + std::to_string(id_to_token_.size()) + ")");
    }
  }
  if (options_.max_input_chars_per_word < 0) {
    throw Error(spec.source + ": max_input_chars_per_word must be >= 0");
  }

  std::vector<AddedToken> raw, normalized;
  for (AddedToken& token : spec.added_tokens) {
    (token.normalized ? normalized : raw).push_back(std::move(token));
  }
  raw_added_ = AddedTokenMatcher(std::move(raw));
  normalized_added_ = AddedTokenMatcher(std::move(normalized));
}

std::vector<int32_t> BertTokenizer::Tokenize(std::string_view text) const {
  std::vector<int32_t> ids;
  TokenizeInto(text, ids);
  return ids;
}

std::vector<std::string> BertTokenizer::TokenizeToPieces(std::string_view text) const {
  std::vector<std::string> pieces;
  for (const int32_t id : Tokenize(text)) pieces.push_back(id_to_token_.at(id));
  return pieces;
}

void BertTokenizer::TokenizeInto(std::string_view text, std::vector<int32_t>& out) const {
  // Reused per thread: the hot path allocates only when a text outgrows every earlier one.
  thread_local std::string normalized;
  size_t pos = 0;
  while (pos < text.size()) {
    const AddedTokenMatcher::Match match = raw_added_.FindNext(text, pos);
    if (match.begin > pos) {
      normalized.clear();
      normalizer_.Normalize(text.substr(pos, match.begin - pos), normalized);
      SplitNormalized(normalized, out);
    }
    if (match.length == 0) break;
    out.push_back(match.id);
    pos = match.begin + match.length;
  }
}

void BertTokenizer::SplitNormalized(std::string_view normalized, std::vector<int32_t>& out) const {
  size_t pos = 0;
  while (pos < normalized.size()) {
    const AddedTokenMatcher::Match match = normalized_added_.FindNext(normalized, pos);
    if (match.begin > pos) PreTokenize(normalized.substr(pos, match.begin - pos), out);
    if (match.length == 0) break;
    out.push_back(match.id);
    pos = match.begin + match.length;
  }
}

// BertPreTokenizer: whitespace separates words and is dropped; each punctuation character is a
// word of its own. Words are views into the normalized text, never copies.
void BertTokenizer::PreTokenize(std::string_view text, std::vector<int32_t>& out) const {
  size_t word_begin = 0;
  bool in_word = false;
  const auto end_word = [&](size_t at) {
    if (in_word) WordPiece(text.substr(word_begin, at - word_begin), out);
    in_word = false;
  };
  size_t i = 0;
  while (i < text.size()) {
    const size_t begin = i;
    const auto byte = static_cast<uint8_t>(text[i]);
    AsciiKind kind;
    if (byte < 0x80) {
      kind = kAsciiKinds[byte];
      ++i;
    } else {
      const char32_t cp = utf8::Decode(text, i);
      kind = hf_unicode::IsWhitespace(cp)    ? AsciiKind::kSpace
             : hf_unicode::IsPunctuation(cp) ? AsciiKind::kPunct
                                             : AsciiKind::kWord;
    }
    if (kind == AsciiKind::kWord) {
      if (!in_word) word_begin = begin;
      in_word = true;
      continue;
    }
    end_word(begin);
    if (kind == AsciiKind::kPunct) WordPiece(text.substr(begin, i - begin), out);
  }
  end_word(text.size());
}

// Greedy longest-match-first, as tokenizers' WordPiece::tokenize: a word with any piece missing
// from the vocabulary, or longer than max_input_chars_per_word code points, becomes one [UNK].
void BertTokenizer::WordPiece(std::string_view word, std::vector<int32_t>& out) const {
  const auto max_chars = static_cast<size_t>(options_.max_input_chars_per_word);
  if (word.size() > max_chars && utf8::CountCodePoints(word) > max_chars) {
    out.push_back(unk_id_);
    return;
  }
  const size_t first_piece = out.size();
  size_t start = 0;
  while (start < word.size()) {
    const VocabIndex& index = start == 0 ? token_to_id_ : continuation_to_id_;
    // Pieces longer than the longest token cannot match, so start the search there.
    size_t end = std::min(word.size(), start + index.max_key_length());
    while (end > start && end < word.size() && IsContinuationByte(word[end])) --end;
    int32_t id = VocabIndex::kNotFound;
    while (end > start) {
      id = index.Find(word.substr(start, end - start));
      if (id != VocabIndex::kNotFound) break;
      do {
        --end;
      } while (end > start && IsContinuationByte(word[end]));
    }
    if (id == VocabIndex::kNotFound) {
      out.resize(first_piece);
      out.push_back(unk_id_);
      return;
    }
    out.push_back(id);
    start = end;
  }
}

Encoding BertTokenizer::EncodePair(std::string_view first, std::string_view second,
                                   int max_length) const {
  if (max_length < 3) {
    throw Error("EncodePair: max_length " + std::to_string(max_length) +
                " leaves no room for [CLS] a [SEP] b [SEP] (needs at least 3)");
  }
  thread_local std::vector<int32_t> a, b;
  a.clear();
  b.clear();
  TokenizeInto(first, a);
  TokenizeInto(second, b);
  size_t na = a.size(), nb = b.size();
  TruncateLongestFirst(na, nb, static_cast<size_t>(max_length) - 3);

  Encoding encoding;
  encoding.input_ids.reserve(na + nb + 3);
  encoding.input_ids.push_back(cls_id_);
  encoding.input_ids.insert(encoding.input_ids.end(), a.begin(), a.begin() + na);
  encoding.input_ids.push_back(sep_id_);
  encoding.input_ids.insert(encoding.input_ids.end(), b.begin(), b.begin() + nb);
  encoding.input_ids.push_back(sep_id_);
  encoding.token_type_ids.assign(na + nb + 3, 0);
  std::fill(encoding.token_type_ids.begin() + na + 2, encoding.token_type_ids.end(), 1);
  return encoding;
}

Encoding BertTokenizer::EncodeSingle(std::string_view text, int max_length) const {
  if (max_length < 2) {
    throw Error("EncodeSingle: max_length " + std::to_string(max_length) +
                " leaves no room for [CLS] a [SEP] (needs at least 2)");
  }
  Encoding encoding;
  encoding.input_ids.push_back(cls_id_);
  TokenizeInto(text, encoding.input_ids);
  const size_t keep = std::min(encoding.input_ids.size(), static_cast<size_t>(max_length) - 1);
  encoding.input_ids.resize(keep);
  encoding.input_ids.push_back(sep_id_);
  encoding.token_type_ids.assign(encoding.input_ids.size(), 0);
  return encoding;
}

}  // namespace bertfleet
