#pragma once
// The model configs the benchmarks share with their peers (bench/torch_gpt_peer.py,
// bench/trl_ppo_peer.py): GPT-2 124M, as Hugging Face's "gpt2" (LayerNorm eps 1e-5, init std 0.02).
#include "rlhf/nn/gpt_config.hpp"

namespace rlhf_bench {

inline rlhf::nn::GPTConfig gpt2_124m() { return {50257, 1024, 768, 12, 12, 1e-5, 0.02}; }

}  // namespace rlhf_bench
