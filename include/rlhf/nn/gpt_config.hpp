#pragma once
// The shape of a GPT-2 model: GPT2Config's fields that the architecture uses.
#include <cstdint>

#include "rlhf/core/error.hpp"
#include "rlhf/core/host_memory.hpp"

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
    // The float weights alone must fit in memory; the error names the fields that make them big.
    const double C = double(n_embd);
    const struct {
      const char* fields;
      double parameters;
    } parts[] = {{"vocab_size × n_embd", double(vocab_size) * C},
                 {"n_positions × n_embd", double(n_positions) * C},
                 {"n_layer × 12 × n_embd²", double(n_layer) * 12 * C * C}};
    double total = 0;
    const auto* largest = &parts[0];
    for (const auto& p : parts) {
      total += p.parameters;
      if (p.parameters > largest->parameters) largest = &p;
    }
    const double bytes = 4 * total, memory = host_memory_bytes();
    if (memory > 0 && bytes > memory)
      fail("GPTConfig: the weights need ", readable_bytes(bytes), ", more than this machine's ", readable_bytes(memory),
           " of memory (mostly ", largest->fields, ": vocab_size ", vocab_size, ", n_positions ", n_positions,
           ", n_embd ", n_embd, ", n_layer ", n_layer, ")");
  }
};

}  // namespace rlhf::nn
