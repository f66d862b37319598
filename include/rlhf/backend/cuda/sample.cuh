#pragma once
// The CUDA backend's sampler: backend/portable/sample.hpp on the backend's stream, with the CPU
// kernel's signature, checks and draw layout, so both backends pick the same tokens for the same
// seed. With top-k or top-p it sorts B·V candidate indices in stream-ordered scratch. (nvcc only.)
#include "rlhf/backend/cuda/elementwise.cuh"
#include "rlhf/backend/cuda/stream_scratch.hpp"
#include "rlhf/backend/kernel_checks.hpp"
#include "rlhf/backend/portable/sample.hpp"

namespace rlhf {

template <class T>
void sample_tokens(const cuda& be, View<std::int32_t, cuda> tokens, View<T, cuda> logp, In<T, cuda> logits,
                   const SamplingParams& params, PhiloxStream rng, std::uint64_t offset) {
  constexpr std::string_view op = "sample_tokens";
  const check::VocabRows rows = check::sample_args(op, tokens, logp, logits, params);
  const std::int64_t B = rows.N, V = rows.V;
  const cuda_detail::StreamScratch<std::int64_t> order(
      static_cast<std::size_t>(portable::sampling_is_filtered(params) ? B * V : 0), be.stream);
  portable::sample_tokens(cuda_detail::on_stream(be), tokens.data(), logp.data(), logits.data(), B, V, params, rng,
                          offset, order.data());
  cuda_detail::check_launch(op.data());
}

}  // namespace rlhf
