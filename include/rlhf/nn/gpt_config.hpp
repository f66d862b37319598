#pragma once
// The shape of a GPT-2 model: GPT2Config's fields that the architecture uses.
#include <cstdint>

#include "rlhf/core/error.hpp"

namespace rlhf::nn {

struct GPTConfig {
  std::int64_t vocab_size = 50257;
  std::int64_t n_positions = 1024;  // context length
  std::int64_t n_embd = 768;
  std::int64_t n_layer = 12;
  std::int64_t n_head = 12;
  double layer_norm_epsilon = 1e-5;
  double initializer_range = 0.02;

  void validate() const {
    auto positive = [](const char* field, std::int64_t v) {
      if (v <= 0) fail("GPTConfig: ", field, " must be positive, got ", v);
    };
    positive("vocab_size", vocab_size);
    positive("n_positions", n_positions);
    positive("n_embd", n_embd);
    positive("n_layer", n_layer);
    positive("n_head", n_head);
    if (n_embd % n_head != 0) fail("GPTConfig: n_head = ", n_head, " does not divide n_embd = ", n_embd);
    if (!(layer_norm_epsilon > 0)) fail("GPTConfig: layer_norm_epsilon must be positive, got ", layer_norm_epsilon);
  }
};

}  // namespace rlhf::nn
