#include "common/text/hf_unicode.h"

#include <utf8proc.h>

#include <algorithm>
#include <iterator>

namespace bertfleet::hf_unicode {
namespace {

struct CodePointRange {
  char32_t first;
  char32_t last;
};

#include "common/text/hf_unicode_overrides.inc"

template <size_t N>
bool InRanges(const CodePointRange (&ranges)[N], char32_t cp) {
  // Every override lies above Latin-1, so most text never reaches the binary search.
  if (cp < ranges[0].first) return false;
  const auto it = std::upper_bound(std::begin(ranges), std::end(ranges), cp,
                                   [](char32_t c, const CodePointRange& r) { return c < r.first; });
  return it != std::begin(ranges) && cp <= std::prev(it)->last;
}

utf8proc_category_t Category(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

}  // namespace

bool IsOther(char32_t cp) {
  const utf8proc_category_t c = Category(cp);
  const bool other = c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF ||
                     c == UTF8PROC_CATEGORY_CO || c == UTF8PROC_CATEGORY_CS;
  return other != InRanges(kOtherFlips, cp);
}

bool IsWhitespace(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= '\t' && cp <= '\r');
  if (cp == 0x85) return true;
  const utf8proc_category_t c = Category(cp);
  return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

bool IsMarkNonspacing(char32_t cp) {
  return (Category(cp) == UTF8PROC_CATEGORY_MN) != InRanges(kMarkNonspacingFlips, cp);
}

bool IsPunctuation(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
           (cp >= 123 && cp <= 126);
  }
  const utf8proc_category_t c = Category(cp);
  const bool punct = c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
  return punct != InRanges(kPunctuationFlips, cp);
}

bool IsChineseChar(char32_t cp) {
  // tokenizers' ranges; unlike transformers' Python _is_chinese_char they skip 0x2B820-0x2B91F.
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

int CombiningClass(char32_t cp) {
  if (cp < 0x300) return 0;
  if (InRanges(kZeroCombiningClass, cp)) return 0;
  return utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->combining_class;
}

size_t Decompose(char32_t cp, char32_t (&out)[kMaxDecomposition]) {
  if (InRanges(kNoDecomposition, cp)) {
    out[0] = cp;
    return 1;
  }
  utf8proc_int32_t buffer[kMaxDecomposition];
  int last_boundclass = 0;
  const utf8proc_ssize_t n =
      utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buffer, kMaxDecomposition,
                              UTF8PROC_DECOMPOSE, &last_boundclass);
  if (n <= 0 || static_cast<size_t>(n) > kMaxDecomposition) {
    out[0] = cp;  // cannot happen for canonical decompositions (at most 4 code points)
    return 1;
  }
  for (utf8proc_ssize_t k = 0; k < n; ++k) out[k] = static_cast<char32_t>(buffer[k]);
  return static_cast<size_t>(n);
}

size_t ToLower(char32_t cp, char32_t (&out)[2]) {
  // The only unconditional multi-character lowercase mapping in SpecialCasing.txt.
  if (cp == 0x130) {
    out[0] = 'i';
    out[1] = 0x307;
    return 2;
  }
  out[0] = static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
  return 1;
}

}  // namespace bertfleet::hf_unicode
