#pragma once
// The byte-level tokenizer: token ids 0..255 are the bytes of the text, and the special tokens
// follow from 256 on (by default just <|endoftext|> = 256, so the vocabulary has 257 tokens).
// Any byte string round-trips: decode(encode(s)) == s.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rlhf/core/error.hpp"
#include "rlhf/data/special_tokens.hpp"

namespace rlhf::data {

class ByteTokenizer {
 public:
  static constexpr std::int32_t n_bytes = 256;

  // special_tokens get ids 256, 257, ...; the first one is the end-of-text (EOS) token.
  explicit ByteTokenizer(std::vector<std::string> special_tokens = {"<|endoftext|>"}) {
    if (special_tokens.empty()) fail("ByteTokenizer: needs at least one special token (the first is EOS)");
    std::vector<SpecialTokenSplitter::Token> tokens;
    tokens.reserve(special_tokens.size());
    for (std::string& s : special_tokens)
      tokens.push_back({std::move(s), n_bytes + static_cast<std::int32_t>(tokens.size())});
    specials_ = SpecialTokenSplitter(std::move(tokens), "ByteTokenizer");
  }

  std::int32_t vocab_size() const { return n_bytes + static_cast<std::int32_t>(specials_.tokens().size()); }
  std::int32_t eos_id() const { return n_bytes; }
  bool is_special(std::int32_t id) const { return id >= n_bytes && id < vocab_size(); }

  // Appends the ids of text to out.
  void encode(std::string_view text, std::vector<std::int32_t>& out, Specials mode = Specials::parse) const {
    const auto bytes = [&](std::string_view s) {
      for (const char c : s) out.push_back(static_cast<std::uint8_t>(c));
    };
    if (mode == Specials::as_text) return bytes(text);
    specials_.split(text, bytes, [&](std::int32_t id) { out.push_back(id); });
  }
  std::vector<std::int32_t> encode(std::string_view text, Specials mode = Specials::parse) const {
    std::vector<std::int32_t> out;
    out.reserve(text.size());
    encode(text, out, mode);
    return out;
  }

  // The bytes of the ids, special tokens written as their text.
  std::string decode(std::span<const std::int32_t> ids) const {
    std::string out;
    out.reserve(ids.size());
    for (const std::int32_t id : ids) {
      if (id >= 0 && id < n_bytes) {
        out += static_cast<char>(id);
      } else if (is_special(id)) {
        out += specials_.tokens()[id - n_bytes].text;
      } else {
        fail("ByteTokenizer::decode: token id ", id, " is outside the vocabulary [0, ", vocab_size(), ")");
      }
    }
    return out;
  }

  // The id of a special token, given its text; nothing for any other string.
  std::optional<std::int32_t> token_to_id(std::string_view token) const {
    for (const auto& t : specials_.tokens())
      if (t.text == token) return t.id;
    return std::nullopt;
  }
  // A special token's text, or the one byte a byte id stands for.
  std::string id_to_token(std::int32_t id) const {
    if (id >= 0 && id < n_bytes) return std::string(1, static_cast<char>(id));
    if (is_special(id)) return specials_.tokens()[id - n_bytes].text;
    fail("ByteTokenizer::id_to_token: token id ", id, " is outside the vocabulary [0, ", vocab_size(), ")");
  }

 private:
  SpecialTokenSplitter specials_;
};

}  // namespace rlhf::data
