#pragma once
// tokenizers' BertNormalizer: clean_text, then CJK spacing, then strip_accents (NFD, drop Mn),
// then lowercase (char-wise, may expand). The order matters: accents go before lower-casing,
// so U+0130 'İ' becomes "i", yet "i\u0307" when accents are kept.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace bertfleet {

struct NormalizerOptions {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool strip_accents = true;
  bool lowercase = true;
};

class BertNormalizer {
 public:
  explicit BertNormalizer(NormalizerOptions options = {});

  // Appends the normalized form of text to out (valid UTF-8 even if text is not).
  void Normalize(std::string_view text, std::string& out) const;

  const NormalizerOptions& options() const { return options_; }

 private:
  class Writer;
  void NormalizeCodePoint(char32_t cp, Writer& writer) const;
  void EmitDecomposed(char32_t cp, Writer& writer) const;

  NormalizerOptions options_;
  // What each ASCII byte becomes: -1 dropped, else the output byte. ASCII never decomposes,
  // has no combining marks and no CJK, so text that is all ASCII never leaves this table.
  std::array<int16_t, 128> ascii_{};
};

}  // namespace bertfleet
