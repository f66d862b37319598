#pragma once
// Special tokens such as <|endoftext|>: strings that, found in the text, become one token id
// each instead of being tokenised as text. Both tokenizers split them out first and tokenise the
// text between them on its own, as Hugging Face's added tokens do.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rlhf/core/error.hpp"

namespace rlhf::data {

// How encode() treats special-token strings in its text.
enum class Specials {
  parse,    // each occurrence is its special token's id (the default)
  as_text,  // they are ordinary text: "<|endoftext|>" is tokenised like any other characters
};

// Splits text at the special tokens it holds: at each point the leftmost occurrence wins, and of
// two starting at the same byte the longer.
class SpecialTokenSplitter {
 public:
  struct Token {
    std::string text;
    std::int32_t id;
  };

  SpecialTokenSplitter() = default;
  // `who` names the tokenizer in error messages.
  SpecialTokenSplitter(std::vector<Token> tokens, std::string_view who) : tokens_(std::move(tokens)) {
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
      if (tokens_[i].text.empty()) fail(who, ": special token ", i, " is the empty string");
      for (std::size_t j = 0; j < i; ++j)
        if (tokens_[j].text == tokens_[i].text) fail(who, ": special token \"", tokens_[i].text, "\" is given twice");
    }
  }

  const std::vector<Token>& tokens() const { return tokens_; }

  // Calls on_text(std::string_view) for each non-empty stretch of ordinary text and
  // on_special(std::int32_t id) for each special token, in order.
  template <class OnText, class OnSpecial>
  void split(std::string_view text, OnText&& on_text, OnSpecial&& on_special) const {
    if (tokens_.empty()) {
      if (!text.empty()) on_text(text);
      return;
    }
    // next[i]: where tokens_[i] next occurs at or after `pos` (npos: nowhere); searched again
    // only once `pos` has passed it, so the text is scanned about once per special token.
    std::vector<std::size_t> next(tokens_.size(), 0);
    std::size_t pos = 0;
    for (std::size_t i = 0; i < tokens_.size(); ++i) next[i] = text.find(tokens_[i].text);
    while (true) {
      std::size_t best = tokens_.size();
      for (std::size_t i = 0; i < tokens_.size(); ++i) {
        if (next[i] != std::string_view::npos && next[i] < pos) next[i] = text.find(tokens_[i].text, pos);
        if (next[i] == std::string_view::npos) continue;
        if (best == tokens_.size() || next[i] < next[best] ||
            (next[i] == next[best] && tokens_[i].text.size() > tokens_[best].text.size()))
          best = i;
      }
      if (best == tokens_.size()) break;
      if (next[best] > pos) on_text(text.substr(pos, next[best] - pos));
      on_special(tokens_[best].id);
      pos = next[best] + tokens_[best].text.size();
    }
    if (pos < text.size()) on_text(text.substr(pos));
  }

 private:
  std::vector<Token> tokens_;
};

}  // namespace rlhf::data
