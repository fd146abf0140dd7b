#include "common/text/bert_normalizer.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "common/text/hf_unicode.h"
#include "common/text/utf8.h"

namespace bertfleet {

// Output cursor over a pre-sized string (one resize per call instead of one check per append),
// plus the run of combining marks that NFD's canonical reordering may still move.
class BertNormalizer::Writer {
 public:
  Writer(std::string& out, size_t input_size, bool lowercase)
      : out_(out), size_(out.size()), lowercase_(lowercase) {
    out_.resize(size_ + input_size + kSlack);
  }

  void PutByte(char c) {
    Reserve(1);
    out_[size_++] = c;
  }

  // ASCII maps byte to byte (or drops it), so a run of n bytes needs at most n bytes.
  void PutAsciiRun(std::string_view run, const std::array<int16_t, 128>& table) {
    Reserve(run.size());
    char* out = &out_[size_];
    for (const char c : run) {
      const int16_t value = table[static_cast<uint8_t>(c)];
      *out = static_cast<char>(value);
      out += value >= 0;
    }
    size_ = static_cast<size_t>(out - out_.data());
  }

  // The last steps of the pipeline for one code point that survived accent stripping.
  void PutFinal(char32_t cp) {
    if (!lowercase_) return PutCodePoint(cp);
    char32_t lowered[2];
    const size_t n = hf_unicode::ToLower(cp, lowered);
    for (size_t k = 0; k < n; ++k) PutCodePoint(lowered[k]);
  }

  // Only marks that survive stripping are kept: dropping Mn and stable-sorting by combining
  // class commute inside one run, so the dropped ones never need to be buffered.
  void PushMark(int combining_class, char32_t cp) { marks_.emplace_back(combining_class, cp); }

  void FlushMarks() {
    if (!marks_.empty()) SortAndPutMarks();
  }

  void Finish() {
    FlushMarks();
    out_.resize(size_);
  }

 private:
  static constexpr size_t kSlack = 32;

  void SortAndPutMarks() {
    std::stable_sort(marks_.begin(), marks_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& mark : marks_) PutFinal(mark.second);
    marks_.clear();
  }

  void PutCodePoint(char32_t cp) {
    Reserve(4);
    size_ += utf8::Encode(cp, &out_[size_]);
  }

  void Reserve(size_t bytes) {
    if (size_ + bytes > out_.size()) out_.resize(std::max(out_.size() * 2, size_ + bytes + kSlack));
  }

  std::string& out_;
  size_t size_;
  bool lowercase_;
  std::vector<std::pair<int, char32_t>> marks_;  // allocates only for rare surviving marks
};

BertNormalizer::BertNormalizer(NormalizerOptions options) : options_(options) {
  for (int b = 0; b < 128; ++b) {
    int16_t value = static_cast<int16_t>(b);
    if (options_.clean_text) {
      if (b == '\t' || b == '\n' || b == '\r') {
        value = ' ';
      } else if (b < 32 || b == 127) {
        value = -1;  // NUL and the other C0 controls (also \v \f) are dropped before mapping
      }
    }
    if (options_.lowercase && b >= 'A' && b <= 'Z') value = static_cast<int16_t>(b + 32);
    ascii_[b] = value;
  }
}

void BertNormalizer::Normalize(std::string_view text, std::string& out) const {
  Writer writer(out, text.size(), options_.lowercase);
  size_t i = 0;
  while (i < text.size()) {
    if (static_cast<uint8_t>(text[i]) < 0x80) {
      writer.FlushMarks();
      size_t end = i + 1;
      while (end < text.size() && static_cast<uint8_t>(text[end]) < 0x80) ++end;
      writer.PutAsciiRun(text.substr(i, end - i), ascii_);
      i = end;
      continue;
    }
    NormalizeCodePoint(utf8::Decode(text, i), writer);
  }
  writer.Finish();
}

void BertNormalizer::NormalizeCodePoint(char32_t cp, Writer& writer) const {
  if (options_.clean_text) {
    if (cp == utf8::kReplacement || hf_unicode::IsOther(cp)) return;
    if (hf_unicode::IsWhitespace(cp)) {
      writer.FlushMarks();
      writer.PutByte(' ');
      return;
    }
  }
  if (options_.handle_chinese_chars && hf_unicode::IsChineseChar(cp)) {
    writer.FlushMarks();
    writer.PutByte(' ');
    EmitDecomposed(cp, writer);
    writer.FlushMarks();
    writer.PutByte(' ');
    return;
  }
  EmitDecomposed(cp, writer);
}

void BertNormalizer::EmitDecomposed(char32_t cp, Writer& writer) const {
  if (!options_.strip_accents) return writer.PutFinal(cp);
  char32_t parts[hf_unicode::kMaxDecomposition];
  const size_t n = hf_unicode::Decompose(cp, parts);
  for (size_t k = 0; k < n; ++k) {
    const char32_t part = parts[k];
    const int combining_class = hf_unicode::CombiningClass(part);
    const bool dropped = hf_unicode::IsMarkNonspacing(part);
    if (combining_class == 0) {
      writer.FlushMarks();  // a starter ends the run that reordering may permute
      if (!dropped) writer.PutFinal(part);
    } else if (!dropped) {
      writer.PushMark(combining_class, part);
    }
  }
}

}  // namespace bertfleet
