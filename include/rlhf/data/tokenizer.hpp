#pragma once
// The Tokenizer concept: what datasets, trainers and generation need from a tokenizer. Both of
// the project's tokenizers (ByteTokenizer, Gpt2Tokenizer) satisfy it; a user's own can too.
//   encode(text) -> token ids        decode(ids) -> text
//   vocab_size() -> number of ids    eos_id()    -> the end-of-text token appended to examples
#include <concepts>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rlhf::data {

template <class T>
concept Tokenizer = requires(const T& tokenizer, std::string_view text, std::span<const std::int32_t> ids) {
  { tokenizer.encode(text) } -> std::same_as<std::vector<std::int32_t>>;
  { tokenizer.decode(ids) } -> std::same_as<std::string>;
  { tokenizer.vocab_size() } -> std::integral;  // int32 or int64: any integer wide enough
  { tokenizer.eos_id() } -> std::same_as<std::int32_t>;
};

}  // namespace rlhf::data
