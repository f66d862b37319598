#pragma once
// GPT-2's pre-tokenisation: the split of text into the pieces ("words") that BPE then encodes
// one by one, as the regular expression
//
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// finds them, written out as a scanner over UTF-8 units (no regex engine: std::regex is slow
// and knows nothing of Unicode classes). At each position the first alternative that matches
// wins, as in the regex:
//   1. an apostrophe followed by s, t, re, ve, m, ll or d (lower case only) is a piece;
//   2. a run of letters, of numbers, or of "other" units (not letter, number or space), with
//      one optional leading ASCII space;
//   3. a run of whitespace: all of it at the end of the text; otherwise all but its last unit
//      (`\s+(?!\S)`), so that the last one can lead the next word (" world"); a single
//      whitespace unit before a non-space is a piece of its own (`\s+`).
// Text need not be valid UTF-8: an invalid byte is a unit of class other, so it joins runs of
// punctuation like any symbol. Encoding therefore never fails and no byte is lost. (Hugging
// Face's tokenizers never see invalid UTF-8: they take Rust strings.)
#include <cstddef>
#include <string_view>

#include "rlhf/data/unicode.hpp"

namespace rlhf::data {

namespace pretokenizer_detail {

// Length of the contraction ('s 't 're 've 'm 'll 'd) at text[pos] == '\'', or 0.
inline std::size_t contraction_length(std::string_view text, std::size_t pos) {
  const std::string_view rest = text.substr(pos + 1);
  if (rest.empty()) return 0;
  switch (rest[0]) {
    case 's':
    case 't':
    case 'm':
    case 'd': return 2;
    case 'r':
    case 'v': return rest.size() >= 2 && rest[1] == 'e' ? 3 : 0;
    case 'l': return rest.size() >= 2 && rest[1] == 'l' ? 3 : 0;
    default: return 0;
  }
}

// End of the run of units of class cls that starts at pos.
inline std::size_t run_end(std::string_view text, std::size_t pos, CharClass cls) {
  while (pos < text.size()) {
    const Utf8Unit u = decode_utf8(text, pos);
    if (char_class(u) != cls) break;
    pos += u.bytes;
  }
  return pos;
}

}  // namespace pretokenizer_detail

// End (a byte offset) of the piece that starts at text[pos], pos < text.size().
inline std::size_t gpt2_piece_end(std::string_view text, std::size_t pos) {
  using namespace pretokenizer_detail;
  const Utf8Unit u = decode_utf8(text, pos);
  const CharClass cls = char_class(u);
  if (u.cp == '\'') {
    if (const std::size_t k = contraction_length(text, pos)) return pos + k;
  }
  if (u.cp == ' ' && pos + 1 < text.size()) {  // " ?X+": a space leads a following run
    const CharClass next = char_class(decode_utf8(text, pos + 1));
    if (next != CharClass::space) return run_end(text, pos + 1, next);
  }
  if (cls != CharClass::space) return run_end(text, pos, cls);
  std::size_t end = pos, last = pos;  // the whitespace run [pos, end); `last` starts its last unit
  while (end < text.size()) {
    const Utf8Unit w = decode_utf8(text, end);
    if (char_class(w) != CharClass::space) break;
    last = end;
    end += w.bytes;
  }
  if (end == text.size()) return end;  // \s+(?!\S) at the end of the text
  return last > pos ? last : end;      // \s+(?!\S) backs off one unit; else \s+ takes the one unit
}

// Calls on_piece(std::string_view) for each piece of text, in order; the pieces concatenate to
// the text.
template <class OnPiece>
void for_each_gpt2_piece(std::string_view text, OnPiece&& on_piece) {
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t end = gpt2_piece_end(text, pos);
    on_piece(text.substr(pos, end - pos));
    pos = end;
  }
}

}  // namespace rlhf::data
