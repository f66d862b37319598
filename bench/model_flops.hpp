#pragma once
// Matmul FLOPs of one GPT training step, for the FLOP/s and MFU counters of bench_gpt (CPU) and
// bench_cuda (GPU): forward + backward = 3 × the forward's products (the four Linear layers per
// block, causal attention's two products over the lower triangle, the tied LM head).
#include <cstdint>

#include "rlhf/nn/gpt_config.hpp"

namespace rlhf_bench {

inline double train_flops(const rlhf::nn::GPTConfig& c, std::int64_t B, std::int64_t T) {
  const double tokens = double(B * T), C = double(c.n_embd);
  const double per_token_layer = 2 * (C * 3 * C + C * C + 2 * C * 4 * C);        // qkv, proj, fc, fc_proj
  const double attention = 2.0 * 2 * double(B) * double(T) * double(T) * C / 2;  // QKᵀ and PV, causal half
  const double head = 2 * C * double(c.vocab_size) * tokens;
  return 3 * (tokens * per_token_layer * double(c.n_layer) + attention * double(c.n_layer) + head);
}

}  // namespace rlhf_bench
