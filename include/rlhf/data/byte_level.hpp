#pragma once
// GPT-2's byte-to-character mapping (bytes_to_unicode in OpenAI's encoder.py): the 188 printable
// bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves and the other 68 (controls, space,
// DEL, NBSP, soft hyphen, ...) are shifted to U+0100..U+0143, in byte order. vocab.json and
// merges.txt spell every token in these characters (a leading space is 'Ġ' = U+0120); the
// tokenizer itself works on raw bytes and uses the mapping only to read those files.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rlhf/data/unicode.hpp"

namespace rlhf::data {

namespace byte_level_detail {
constexpr bool printable(int b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}
}  // namespace byte_level_detail

// byte -> the character that spells it.
inline constexpr std::array<char32_t, 256> byte_to_char = [] {
  std::array<char32_t, 256> t{};
  char32_t shifted = 256;
  for (int b = 0; b < 256; ++b) t[b] = byte_level_detail::printable(b) ? char32_t(b) : shifted++;
  return t;
}();

// The byte a character spells, or nothing for a character outside the mapping.
inline std::optional<std::uint8_t> char_to_byte(char32_t c) {
  static constexpr std::array<std::int16_t, 256 + 68> table = [] {
    std::array<std::int16_t, 256 + 68> t{};
    t.fill(-1);
    for (int b = 0; b < 256; ++b) t[byte_to_char[b]] = static_cast<std::int16_t>(b);
    return t;
  }();
  if (c >= table.size() || table[c] < 0) return std::nullopt;
  return static_cast<std::uint8_t>(table[c]);
}

// Raw bytes -> their spelling (UTF-8), e.g. " hi\n" -> "ĠhiĊ".
inline std::string bytes_to_spelling(std::string_view bytes) {
  std::string out;
  for (const char b : bytes) append_utf8(out, byte_to_char[static_cast<std::uint8_t>(b)]);
  return out;
}

// A spelling -> the raw bytes, or nothing if it holds invalid UTF-8 or a character outside the
// mapping.
inline std::optional<std::string> spelling_to_bytes(std::string_view spelling) {
  std::string out;
  for (std::size_t pos = 0; pos < spelling.size();) {
    const Utf8Unit u = decode_utf8(spelling, pos);
    const auto b = u.valid ? char_to_byte(u.cp) : std::nullopt;
    if (!b) return std::nullopt;
    out += static_cast<char>(*b);
    pos += u.bytes;
  }
  return out;
}

}  // namespace rlhf::data
