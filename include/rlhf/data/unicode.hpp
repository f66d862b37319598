#pragma once
// UTF-8 decoding and the code-point classes (letter, number, space, other) of GPT-2's
// pre-tokenisation pattern. Text is a byte string that need not be valid UTF-8: an invalid byte
// decodes as a unit of its own, of class other, so every byte string can be scanned and nothing
// is lost or replaced.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rlhf/data/unicode_tables.hpp"

namespace rlhf::data {

// One unit of text: a code point, or a single byte that does not start valid UTF-8.
struct Utf8Unit {
  char32_t cp;         // the code point; for an invalid byte, the byte's value
  std::uint8_t bytes;  // 1..4
  bool valid;          // false: an invalid byte (overlong form, surrogate, > U+10FFFF, truncated, stray)
};

// Decodes the unit that starts at text[pos] (pos < text.size()). Valid means well-formed UTF-8 as
// in Unicode's Table 3-7: shortest form, no surrogates, at most U+10FFFF.
inline Utf8Unit decode_utf8(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[i]); };
  const std::uint8_t b0 = byte(pos);
  if (b0 < 0x80) return {b0, 1, true};
  const Utf8Unit invalid{b0, 1, false};
  int len;
  char32_t cp;
  std::uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;  // no overlong forms
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;  // no overlong forms
    if (b0 == 0xF4) hi = 0x8F;  // at most U+10FFFF
  } else {
    return invalid;  // a continuation byte, C0, C1 or F5..FF
  }
  if (pos + len > text.size()) return invalid;
  for (int i = 1; i < len; ++i) {
    const std::uint8_t b = byte(pos + i);
    if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return invalid;
    cp = (cp << 6) | (b & 0x3F);
  }
  return {cp, static_cast<std::uint8_t>(len), true};
}

// Appends the UTF-8 encoding of a code point (cp <= U+10FFFF).
inline void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

namespace unicode_detail {
// Classes of the ASCII code points, so that English text never searches the range table.
inline constexpr std::array<CharClass, 128> ascii_classes = [] {
  std::array<CharClass, 128> t{};
  for (const CharRange& r : char_ranges) {
    if (r.first >= 128) break;
    for (char32_t c = r.first; c <= r.last && c < 128; ++c) t[c] = r.cls;
  }
  return t;
}();
}  // namespace unicode_detail

inline CharClass char_class(char32_t cp) {
  if (cp < 128) return unicode_detail::ascii_classes[cp];
  const auto* ranges = unicode_detail::char_ranges;
  const auto* end = ranges + std::size(unicode_detail::char_ranges);
  // The first range whose last code point is >= cp; cp is in it if it starts at or before cp.
  const auto* r = std::lower_bound(ranges, end, cp, [](const CharRange& x, char32_t c) { return x.last < c; });
  return (r != end && r->first <= cp) ? r->cls : CharClass::other;
}

// The class of a decoded unit: an invalid byte is other (never letter, number or space).
inline CharClass char_class(const Utf8Unit& u) { return u.valid ? char_class(u.cp) : CharClass::other; }

}  // namespace rlhf::data
