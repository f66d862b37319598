#pragma once
// The sampler of a Thrust-executed backend (thrust/executor.hpp): backend/portable/sample.hpp
// under the backend's policy, with the CPU kernel's signature, checks and draw layout, so every
// backend picks the same tokens for the same seed. With top-k or top-p it sorts B·V candidate
// indices in the backend's kernel scratch.
#include "rlhf/backend/kernel_checks.hpp"
#include "rlhf/backend/portable/sample.hpp"
#include "rlhf/backend/thrust/elementwise.hpp"

namespace rlhf {

template <ThrustExecuted B, class T>
void sample_tokens(const B& be, View<std::int32_t, B> tokens, View<T, B> logp, In<T, B> logits,
                   const SamplingParams& params, PhiloxStream rng, std::uint64_t offset) {
  constexpr std::string_view op = "sample_tokens";
  const check::VocabRows rows = check::sample_args(op, tokens, logp, logits, params);
  const std::int64_t N = rows.N, V = rows.V;
  auto order =
      kernel_scratch<std::int64_t>(be, static_cast<std::size_t>(portable::sampling_is_filtered(params) ? N * V : 0));
  portable::sample_tokens(thrust_policy(be), tokens.data(), logp.data(), logits.data(), N, V, params, rng, offset,
                          order.data());
  after_kernel(be, op.data());
}

}  // namespace rlhf
