#pragma once
// What a checkpoint carries of its tokenizer: the EOS/BOS ids in config.json, and for GPT-2's BPE
// the vocab.json and merges.txt copied beside the weights, so that the checkpoint loads with its
// tokenizer here (data::AnyTokenizer::of_model) and in transformers.
#include "rlhf/data/any_tokenizer.hpp"
#include "rlhf/io/checkpoint.hpp"

namespace rlhf::io {

// The save options that carry `tokenizer` along with a model.
inline SaveOptions checkpoint_options(const data::AnyTokenizer& tokenizer) {
  SaveOptions o;
  o.config.eos_token_id = o.config.bos_token_id = tokenizer.eos_id();
  if (tokenizer.is_bpe()) {
    o.vocab_json = tokenizer.dir() / "vocab.json";
    o.merges_txt = tokenizer.dir() / "merges.txt";
  }
  return o;
}

}  // namespace rlhf::io
