#pragma once
// The key/value cache of a GPT during generation: per layer the keys and values of every
// position generated so far, [B, H, Tmax, D], and the key mask [B, Tmax] that says which
// positions are real tokens (left padding of short prompts and the steps after a row's EOS are
// not).
#include <vector>

#include "rlhf/core/tensor.hpp"
#include "rlhf/core/check.hpp"
#include "rlhf/nn/gpt_config.hpp"

namespace rlhf::nn {

template <class T, Backend B>
struct KVCache {
  std::vector<Tensor<T, B>> k, v;  // one per layer
  Tensor<T, B> key_mask;           // [B, Tmax]
  std::int64_t length = 0;         // positions filled so far

  KVCache(const GPTConfig& config, std::int64_t batch, std::int64_t max_length) : key_mask(Shape{batch, max_length}) {
    check::nonempty("KVCache", "batch", batch);
    if (max_length <= 0 || max_length > config.n_positions)
      fail("KVCache: ", max_length, " positions requested, the model's context is ", config.n_positions);
    const std::int64_t H = config.n_head, D = config.n_embd / config.n_head;
    for (std::int64_t l = 0; l < config.n_layer; ++l) {
      k.emplace_back(Shape{batch, H, max_length, D});
      v.emplace_back(Shape{batch, H, max_length, D});
    }
  }
  std::int64_t batch() const { return key_mask.size(0); }
  std::int64_t capacity() const { return key_mask.size(1); }
};

}  // namespace rlhf::nn
