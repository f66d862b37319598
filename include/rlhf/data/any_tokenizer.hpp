#pragma once
// The byte tokenizer or GPT-2's BPE behind one value type, chosen at run time: by a spec
// ("bytes", "gpt2:DIR") or by what a checkpoint directory holds. The CLI and the pipeline use it
// where the tokenizer comes from a file rather than from the program.
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rlhf/core/error.hpp"
#include "rlhf/data/byte_tokenizer.hpp"
#include "rlhf/data/gpt2_bpe.hpp"
#include "rlhf/data/tokenizer.hpp"

namespace rlhf::data {

class AnyTokenizer {
 public:
  static AnyTokenizer bytes() {
    AnyTokenizer t;
    t.byte_ = std::make_unique<ByteTokenizer>();
    return t;
  }
  static AnyTokenizer bpe(const std::filesystem::path& dir) {
    for (const char* f : {"vocab.json", "merges.txt"})
      if (!std::filesystem::exists(dir / f))
        fail((dir / f).string(), ": no such file (GPT-2 BPE needs vocab.json and merges.txt)");
    AnyTokenizer t;
    t.bpe_ = std::make_unique<Gpt2Tokenizer>(Gpt2Tokenizer::load(dir));
    t.dir_ = dir;
    return t;
  }
  // "bytes" or "gpt2:DIR".
  static AnyTokenizer parse(const std::string& spec) {
    if (spec == "bytes") return bytes();
    if (spec.starts_with("gpt2:") && spec.size() > 5) return bpe(spec.substr(5));
    fail("tokenizer: expected \"bytes\" or \"gpt2:DIR\", got \"", spec, "\"");
  }
  // The tokenizer of a checkpoint: BPE when it holds vocab.json + merges.txt, else the byte
  // tokenizer when the vocabulary has 257 tokens.
  static AnyTokenizer of_model(const std::filesystem::path& dir, std::int64_t model_vocab) {
    const bool has_vocab = std::filesystem::exists(dir / "vocab.json"),
               has_merges = std::filesystem::exists(dir / "merges.txt");
    if (has_vocab || has_merges) {
      AnyTokenizer t = bpe(dir);
      if (t.vocab_size() > model_vocab)
        fail(dir.string(), ": the tokenizer has ", t.vocab_size(), " tokens, more than the model's vocab_size ",
             model_vocab);
      return t;
    }
    const std::int64_t byte_vocab = ByteTokenizer().vocab_size();
    if (model_vocab != byte_vocab)
      fail(dir.string(), ": no tokenizer files (vocab.json, merges.txt) and vocab_size ", model_vocab,
           " is not the byte tokenizer's ", byte_vocab);
    return bytes();
  }

  std::vector<std::int32_t> encode(std::string_view text) const {
    return byte_ ? byte_->encode(text) : bpe_->encode(text);
  }
  std::string decode(std::span<const std::int32_t> ids) const { return byte_ ? byte_->decode(ids) : bpe_->decode(ids); }
  std::int32_t vocab_size() const { return byte_ ? byte_->vocab_size() : bpe_->vocab_size(); }
  std::int32_t eos_id() const { return byte_ ? byte_->eos_id() : bpe_->eos_id(); }
  bool is_bpe() const { return bpe_ != nullptr; }
  const std::filesystem::path& dir() const { return dir_; }  // BPE: where vocab.json and merges.txt are

 private:
  std::unique_ptr<ByteTokenizer> byte_;
  std::unique_ptr<Gpt2Tokenizer> bpe_;
  std::filesystem::path dir_;
};
static_assert(Tokenizer<AnyTokenizer>);

}  // namespace rlhf::data
