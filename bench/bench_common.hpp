#pragma once
// Shared pieces of the benchmark programs: the shapes of a GPT-2 124M layer, random fill, and the
// counter conventions (see docs/performance.md, "Conventions").
//
//   FLOP/s   matmul: 2·M·N·K per GEMM (forward 1 GEMM, backward 2: da and dw; the bias and its
//            gradient are not counted). Attention (causal): only the useful lower triangle,
//            2 GEMMs × 2·T·T·D / 2 per (batch, head) forward (Q·Kᵀ and P·V) and 4 GEMMs backward
//            (dV, dP, dQ, dK); the softmax is not counted. So forward = 2·B·T²·C and
//            backward = 4·B·T²·C with C = H·D.
//   bytes/s  memory-bound ops: every [N, C] tensor the op must read counts once, every tensor it
//            writes counts once, and a gradient it accumulates into (+=) counts twice (read and
//            write); per-row and per-channel vectors (mean, rstd, lse, w, b, targets) are not
//            counted. The PyTorch peer (bench/torch_peer.py) counts the same way, so a ratio of
//            rates is a ratio of times.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

namespace rlhf_bench {

struct GemmShape {
  const char* label;  // which Linear of the GPT-2 block
  std::int64_t M, K, N;
  bool out_in;  // W is [N, K] (LM head tied to wte) instead of [K, N] (Conv1D)
};

inline constexpr std::int64_t n_embd = 768;
inline constexpr std::int64_t vocab = 50257;

// The four Linear layers of a GPT-2 124M block at 256 and 1024 tokens, and the LM head at 256.
inline std::vector<GemmShape> gemm_shapes() {
  std::vector<GemmShape> s;
  for (std::int64_t M : {256, 1024}) {
    s.push_back({"qkv", M, 768, 2304, false});
    s.push_back({"attn_proj", M, 768, 768, false});
    s.push_back({"fc", M, 768, 3072, false});
    s.push_back({"fc_proj", M, 3072, 768, false});
  }
  s.push_back({"lm_head", 256, 768, vocab, true});
  return s;
}

// The shape part of a benchmark name; bench/torch_peer.py writes the same strings.
inline std::string gemm_name(const GemmShape& g) {
  return std::string(g.label) + ":" + std::to_string(g.M) + "x" + std::to_string(g.K) + "x" + std::to_string(g.N);
}

inline void fill_uniform(float* p, std::int64_t n, float lo, float hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  for (std::int64_t i = 0; i < n; ++i) p[i] = d(rng);
}

inline void set_flops(benchmark::State& state, double flops_per_iter) {
  state.counters["FLOP/s"] = benchmark::Counter(flops_per_iter, benchmark::Counter::kIsIterationInvariantRate);
}
inline void set_bytes(benchmark::State& state, double bytes_per_iter) {
  state.counters["bytes/s"] = benchmark::Counter(bytes_per_iter, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace rlhf_bench
