#pragma once
// The backend contract: what a backend must provide for the models, generation and trainers to
// compile against it. Backend<B> (backend.hpp) is memory; these are the kernels, one concept per
// family, each a free function overloaded on the tag and found by argument-dependent lookup
// (the kernel contract itself, forward writes and backward accumulates, is in
// docs/architecture.md). check_model_backend<B, T>() asserts each family with a message that
// names the missing kernels; nn::GPT calls it, so a backend that lacks one fails there, at the
// point of use, instead of deep inside a layer's template.
#include <cstddef>
#include <cstdint>

#include "rlhf/backend/adamw_step.hpp"
#include "rlhf/core/backend.hpp"
#include "rlhf/core/philox.hpp"
#include "rlhf/core/sampling.hpp"
#include "rlhf/core/tensor.hpp"
#include "rlhf/core/weight_layout.hpp"

namespace rlhf::contract {

// Copies and zero fills ordered with the backend object's kernels (a CUDA backend: on its stream).
template <class B>
concept memory = requires(const B& be, void* dst, const void* src, std::size_t bytes) {
  copy_bytes(be, dst, src, bytes);
  zero_bytes(be, dst, bytes);
  bytes_to_host(be, dst, src, bytes);  // returns when the host bytes are there
  bytes_from_host(be, dst, src, bytes);
};

// A product with an optional bias, forward and backward (accumulating).
template <class B, class T>
concept matmul = requires(const B& be, View<T, B> out, View<const T, B> in) {
  matmul_forward(be, out, in, in, in, WeightLayout::in_out);
  matmul_backward(be, out, out, out, in, in, in, WeightLayout::in_out);
};

template <class B, class T>
concept layernorm = requires(const B& be, View<T, B> out, View<const T, B> in, T eps) {
  layernorm_forward(be, out, out, out, in, in, in, eps);
  layernorm_backward(be, out, out, out, in, in, in, in, in);
};

template <class B, class T>
concept elementwise = requires(const B& be, View<T, B> out, View<const T, B> in) {
  gelu_forward(be, out, in);
  gelu_backward(be, out, in, in);
  residual_forward(be, out, in, in);
};

// Causal attention with its probabilities kept for backward, and over a KV cache.
template <class B, class T>
concept attention = requires(const B& be, View<T, B> out, View<const T, B> in, std::int64_t n) {
  attention_forward(be, out, out, in, in, n);
  attention_backward(be, out, out, in, in, in, n);
  attention_kv_forward(be, out, out, out, in, in, n, n);
};

template <class B, class T>
concept embedding = requires(const B& be, View<T, B> out, View<const T, B> in, View<const std::int32_t, B> ids) {
  embedding_forward(be, out, in, ids);
  embedding_backward(be, out, in, ids);
};

// The vocabulary rows: cross-entropy, log-probs and entropy at a temperature, and sampling.
template <class B, class T>
concept vocabulary = requires(const B& be, View<T, B> out, View<const T, B> in, View<const std::int32_t, B> ids,
                              View<std::int32_t, B> tokens, T x, const SamplingParams& params, PhiloxStream rng) {
  { cross_entropy_forward(be, out, out, in, ids, in) } -> std::convertible_to<T>;
  cross_entropy_backward(be, out, in, in, ids, in, x);
  logprob_forward(be, out, out, in, ids, x);
  logprob_backward(be, out, in, in, in, ids, x);
  entropy_forward(be, out, out, in, x);
  entropy_backward(be, out, in, in, in, in, x);
  sample_tokens(be, tokens, out, in, params, rng, std::uint64_t{0});
};

// Initialisation, the optimizer and gradient clipping.
template <class B, class T>
concept training = requires(const B& be, View<T, B> out, View<const T, B> in, T x, PhiloxStream rng,
                            const AdamWStep& step) {
  fill_normal(be, out, rng, std::uint64_t{0}, x, x);
  fill_constant(be, out, x);
  adamw_update(be, out, in, out, out, step);
  { sum_of_squares(be, in) } -> std::convertible_to<double>;
  scale(be, out, x);
};

// How independent parts of a step are scheduled (cpu/parallel.hpp): row_parts may only choose
// the concurrency; run_tasks must run every task.
template <class B>
concept schedules = requires(const B& be, std::int64_t n, void (*task)(std::int64_t)) {
  { row_parts(be, n, n) } -> std::convertible_to<std::int64_t>;
  run_tasks(be, n, n, task);
};

}  // namespace rlhf::contract

namespace rlhf {

template <class B, class T>
concept ModelBackend = Backend<B> && contract::memory<B> && contract::matmul<B, T> && contract::layernorm<B, T> &&
    contract::elementwise<B, T> && contract::attention<B, T> && contract::embedding<B, T> &&
    contract::vocabulary<B, T> && contract::training<B, T> && contract::schedules<B>;

// One assertion per family, each naming what is missing (for T = double on a float-only
// backend, every family fails: use float).
template <class B, class T>
consteval bool check_model_backend() {
  static_assert(Backend<B>,
                "rlhf: B is not a backend: it needs name, host_accessible, allocate, deallocate, copy, "
                "copy_from_host, copy_to_host, fill_zero (backend/backend.hpp)");
  static_assert(contract::memory<B>,
                "rlhf: backend B has no copy_bytes / zero_bytes / bytes_to_host / bytes_from_host "
                "(backend/contract.hpp)");
  static_assert(contract::matmul<B, T>,
                "rlhf: backend B has no matmul_forward / matmul_backward for this T (backend/contract.hpp)");
  static_assert(contract::layernorm<B, T>,
                "rlhf: backend B has no layernorm_forward / layernorm_backward for this T (backend/contract.hpp)");
  static_assert(
      contract::elementwise<B, T>,
      "rlhf: backend B has no gelu_forward / gelu_backward / residual_forward for this T (backend/contract.hpp)");
  static_assert(contract::attention<B, T>,
                "rlhf: backend B has no attention_forward / attention_backward / attention_kv_forward for this T "
                "(backend/contract.hpp)");
  static_assert(contract::embedding<B, T>,
                "rlhf: backend B has no embedding_forward / embedding_backward for this T (backend/contract.hpp)");
  static_assert(
      contract::vocabulary<B, T>,
      "rlhf: backend B lacks a vocabulary kernel for this T: cross_entropy_*, logprob_*, entropy_* or sample_tokens "
      "(backend/contract.hpp)");
  static_assert(
      contract::training<B, T>,
      "rlhf: backend B lacks a training kernel for this T: fill_normal, fill_constant, adamw_update, sum_of_squares "
      "or scale (backend/contract.hpp)");
  static_assert(contract::schedules<B>, "rlhf: backend B has no row_parts / run_tasks (backend/contract.hpp)");
  return true;
}

}  // namespace rlhf
