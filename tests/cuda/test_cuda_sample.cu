// The CUDA backend's sampler (backend/cuda/sample.cuh) on the GPU against the same functors run
// on the host (thrust::host), whose tokens tests/portable checks against the CPU backend's: the
// same tokens for the same seed over GPT-2's vocabulary, plain, top-k, top-p and greedy (in
// float, up to draws within rounding of a boundary: tests/portable/same_draws.hpp).
#include <doctest/doctest.h>

#include <thrust/execution_policy.h>

#include <vector>

#include "../portable/same_draws.hpp"
#include "rlhf/backend/cuda.hpp"
#include "rlhf/core/tensor.hpp"

namespace test_cuda_sample {

using gpu = rlhf::cuda;  // libcu++ declares a global namespace `cuda`
using rlhf::Shape;
using rlhf::Tensor;

TEST_CASE_TEMPLATE("cuda sampling picks the host's tokens for the same seed", T, float, double) {
  constexpr std::int64_t B = 64, V = 50257;
  const std::vector<T> z = compare::normal<T>(1, 2.0, B * V);
  const Tensor<T, gpu> zd(Shape{B, V}, std::span<const T>(z));
  const rlhf::PhiloxStream rng{7, 1};
  std::vector<std::int64_t> order(std::size_t(B * V));
  for (const rlhf::SamplingParams params : {rlhf::SamplingParams{1.0, 0, 1.0}, rlhf::SamplingParams{0.7, 50, 1.0},
                                            rlhf::SamplingParams{1.0, 0, 0.9}, rlhf::SamplingParams{0.0, 0, 1.0}}) {
    CAPTURE(params.top_k);
    CAPTURE(params.top_p);
    std::vector<std::int32_t> tokens(static_cast<std::size_t>(B));
    std::vector<T> logp(static_cast<std::size_t>(B));
    rlhf::portable::sample_tokens(thrust::host, tokens.data(), logp.data(), z.data(), B, V, params, rng, 5,
                                  order.data());
    Tensor<std::int32_t, gpu> td(Shape{B});
    Tensor<T, gpu> ld(Shape{B});
    rlhf::sample_tokens(gpu{}, td.view(), ld.view(), zd.cview(), params, rng, 5);
    compare::check_same_draws(td.to_vector(), ld.to_vector(), tokens, logp, order, V, params);
  }
}

}  // namespace test_cuda_sample
