#pragma once
// The Unicode character properties as Hugging Face `tokenizers` sees them. utf8proc answers every
// question; a generated table (hf_unicode_overrides.inc) flips the few code points where HF's
// frozen Unicode 8.0 category data and older NFD data disagree with utf8proc, because parity with
// HF matters more here than being right about characters added since 2015.
#include <cstddef>

namespace bertfleet::hf_unicode {

// Longest canonical decomposition of a single code point, with room to spare.
constexpr size_t kMaxDecomposition = 8;

// BertNormalizer clean_text: Cc, Cf, Co or Cs (callers special-case \t \n \r, NUL and U+FFFD).
bool IsOther(char32_t cp);
// Rust char::is_whitespace (White_Space): Z* plus \t \n \v \f \r and U+0085.
bool IsWhitespace(char32_t cp);
// BertNormalizer strip_accents drops Mn after NFD.
bool IsMarkNonspacing(char32_t cp);
// BertPreTokenizer: ASCII punctuation or any P* category.
bool IsPunctuation(char32_t cp);
// BertNormalizer handle_chinese_chars ranges (tokenizers' is_chinese_char).
bool IsChineseChar(char32_t cp);
// Canonical combining class used by NFD's reordering.
int CombiningClass(char32_t cp);
// Full canonical decomposition of one code point (no reordering); returns the count written.
size_t Decompose(char32_t cp, char32_t (&out)[kMaxDecomposition]);
// Rust char::to_lowercase: one code point, except U+0130 which becomes "i\u0307".
size_t ToLower(char32_t cp, char32_t (&out)[2]);

}  // namespace bertfleet::hf_unicode
