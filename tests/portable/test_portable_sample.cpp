// The CUDA backend's sampler (backend/portable/sample.hpp) run by Thrust's OpenMP system against
// the CPU backend's sample_tokens: the same tokens for the same Philox stream and offset, row for
// row, plain, with top-k, top-p, both, and greedy, float and double; log-probs within rounding.
// (In float, a draw within rounding of a cumulative boundary may pick the neighbouring token:
// same_draws.hpp.)
#include <doctest/doctest.h>

#include <thrust/execution_policy.h>

#include <vector>

#include "rlhf/backend/cpu.hpp"
#include "rlhf/backend/portable/sample.hpp"
#include "rlhf/core/tensor.hpp"
#include "same_draws.hpp"

using rlhf::cpu;
using rlhf::Shape;
using rlhf::Tensor;

TEST_CASE_TEMPLATE("portable sampling picks the CPU backend's tokens for the same seed", T, float, double) {
  constexpr std::int64_t B = 256, V = 1003;
  std::vector<T> z = compare::normal<T>(1, 2.0, B * V);
  for (std::int64_t b = 2; b < 10; ++b)  // rows of ties only: the lower id goes first
    for (std::int64_t v = 0; v < V; ++v) z[std::size_t(b * V + v)] = T(1);
  for (std::int64_t v = 0; v < V; v += 7) z[std::size_t(10 * V + v)] = T(4);  // ties among the top logits
  const Tensor<T, cpu> zt(Shape{B, V}, std::span<const T>(z));
  const rlhf::PhiloxStream rng{2024, 3};
  std::vector<std::int64_t> order(std::size_t(B * V));
  for (const rlhf::SamplingParams params : {rlhf::SamplingParams{1.0, 0, 1.0}, rlhf::SamplingParams{0.7, 20, 1.0},
                                            rlhf::SamplingParams{1.0, 0, 0.9}, rlhf::SamplingParams{0.8, 50, 0.5},
                                            rlhf::SamplingParams{1.3, 1, 1.0}, rlhf::SamplingParams{0.0, 0, 1.0}}) {
    CAPTURE(params.temperature);
    CAPTURE(params.top_k);
    CAPTURE(params.top_p);
    Tensor<std::int32_t, cpu> tokens(Shape{B});
    Tensor<T, cpu> logp(Shape{B});
    rlhf::sample_tokens(cpu{}, tokens.view(), logp.view(), zt.cview(), params, rng, 17);
    std::vector<std::int32_t> p_tokens(std::size_t(B), -1);
    std::vector<T> p_logp(static_cast<std::size_t>(B));
    rlhf::portable::sample_tokens(thrust::device, p_tokens.data(), p_logp.data(), z.data(), B, V, params, rng, 17,
                                  order.data());
    compare::check_same_draws(p_tokens, p_logp, tokens.to_vector(), logp.to_vector(), order, V, params);
  }
}
