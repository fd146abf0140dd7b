#pragma once
// Minimal UTF-8 decoding and encoding for the tokenizer's hot loops (no allocation, no locale).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bertfleet::utf8 {

constexpr char32_t kReplacement = 0xFFFD;

// Decodes the code point starting at text[i] (i < text.size()) and advances i past it.
// Invalid or truncated sequences decode as U+FFFD and consume one byte, so malformed input
// can never stall a loop; clean_text then drops U+FFFD just as it drops Python's replacement.
inline char32_t Decode(std::string_view text, size_t& i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  const size_t left = text.size() - i;
  const auto cont = [&](size_t k) { return (byte(i + k) & 0xC0) == 0x80; };
  if (b0 >= 0xC2 && b0 < 0xE0 && left >= 2 && cont(1)) {
    const char32_t cp = (char32_t{b0 & 0x1Fu} << 6) | (byte(i + 1) & 0x3Fu);
    i += 2;
    return cp;
  }
  if (b0 >= 0xE0 && b0 < 0xF0 && left >= 3 && cont(1) && cont(2)) {
    const char32_t cp =
        (char32_t{b0 & 0x0Fu} << 12) | (char32_t{byte(i + 1) & 0x3Fu} << 6) | (byte(i + 2) & 0x3Fu);
    if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) {
      i += 3;
      return cp;
    }
  } else if (b0 >= 0xF0 && b0 < 0xF5 && left >= 4 && cont(1) && cont(2) && cont(3)) {
    const char32_t cp = (char32_t{b0 & 0x07u} << 18) | (char32_t{byte(i + 1) & 0x3Fu} << 12) |
                        (char32_t{byte(i + 2) & 0x3Fu} << 6) | (byte(i + 3) & 0x3Fu);
    if (cp >= 0x10000 && cp <= 0x10FFFF) {
      i += 4;
      return cp;
    }
  }
  ++i;
  return kReplacement;
}

// Writes cp as UTF-8 at out (room for 4 bytes) and returns the number of bytes written.
inline size_t Encode(char32_t cp, char* out) {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (cp >> 18));
  out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

// True when text is well-formed UTF-8 (a literal U+FFFD is fine; malformed bytes are not).
inline bool IsValid(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t at = i;
    if (Decode(text, i) == kReplacement && text.substr(at, i - at) != "\xEF\xBF\xBD") return false;
  }
  return true;
}

// The longest prefix of text with at most max_bytes bytes that does not end inside a character.
inline std::string_view TruncateAtCharBoundary(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  while (end > 0 && (static_cast<uint8_t>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

// text with every byte that is not part of a well-formed character replaced by `replacement`:
// error messages quote untrusted bytes, and the JSON and gRPC they travel in need valid UTF-8.
inline std::string ReplaceMalformed(std::string_view text, char replacement = '?') {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t at = i;
    const bool malformed =
        Decode(text, i) == kReplacement && text.substr(at, i - at) != "\xEF\xBF\xBD";
    if (malformed) {
      out += replacement;
    } else {
      out.append(text.data() + at, i - at);
    }
  }
  return out;
}

// Code points in text (continuation bytes are not counted).
inline size_t CountCodePoints(std::string_view text) {
  size_t count = 0;
  for (const char c : text) count += (static_cast<uint8_t>(c) & 0xC0) != 0x80;
  return count;
}

}  // namespace bertfleet::utf8
