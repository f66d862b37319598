#pragma once
// The row-wise kernels of a Thrust-executed backend (thrust/executor.hpp): LayerNorm, softmax,
// fused cross-entropy, log-probs and entropy, the functors of backend/portable/rows.hpp under the
// backend's policy. Same signatures, shape checks and error messages as the CPU kernels
// (backend/cpu/*.hpp).
#include "rlhf/backend/kernel_checks.hpp"
#include "rlhf/backend/portable/rows.hpp"
#include "rlhf/backend/thrust/elementwise.hpp"
#include "rlhf/backend/thrust/embedding.hpp"

namespace rlhf {

namespace thrust_detail {
// Fails like the CPU kernels if a target (of a row whose weight is not 0) is outside the vocabulary.
template <ThrustExecuted B, class W>
void check_targets(const B& be, std::string_view op, In<std::int32_t, B> targets, std::int64_t V,
                   const W* weight = nullptr) {
  const IdAt hit = first_id_outside(be, targets, V, weight);
  if (hit.position >= 0) check::fail_target(op, hit.id, hit.position, V);
}
}  // namespace thrust_detail

template <ThrustExecuted B, class T>
void layernorm_forward(const B& be, View<T, B> out, View<T, B> mean, View<T, B> rstd, In<T, B> x, In<T, B> w,
                       In<T, B> b, T eps) {
  check::same("layernorm_forward", "out", out, "x", x);
  const std::int64_t C = check::layernorm("layernorm_forward", x, w, b, mean, rstd);
  portable::layernorm_forward(thrust_policy(be), out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(),
                              mean.numel(), C, eps);
  after_kernel(be, "layernorm_forward");
}

template <ThrustExecuted B, class T>
void layernorm_backward(const B& be, View<T, B> dx, View<T, B> dw, View<T, B> db, In<T, B> dout, In<T, B> x, In<T, B> w,
                        In<T, B> mean, In<T, B> rstd) {
  const std::int64_t C = check::layernorm_backward_args("layernorm_backward", dx, dw, db, dout, x, w, mean, rstd);
  portable::layernorm_backward(thrust_policy(be), dx.data(), dw.data(), db.data(), dout.data(), x.data(), w.data(),
                               mean.data(), rstd.data(), mean.numel(), C);
  after_kernel(be, "layernorm_backward");
}

template <ThrustExecuted B, class T>
void softmax_forward(const B& be, View<T, B> out, In<T, B> x) {
  check::same("softmax_forward", "out", out, "x", x);
  const std::int64_t C = check::softmax_rows("softmax_forward", "x", x);
  portable::softmax_forward(thrust_policy(be), out.data(), x.data(), C ? x.numel() / C : 0, C);
  after_kernel(be, "softmax_forward");
}

template <ThrustExecuted B, class T>
void softmax_backward(const B& be, View<T, B> dx, In<T, B> dout, In<T, B> y) {
  check::same("softmax_backward", "dout", dout, "y", y);
  check::same("softmax_backward", "dx", dx, "y", y);
  const std::int64_t C = check::softmax_rows("softmax_backward", "y", y);
  portable::softmax_backward(thrust_policy(be), dx.data(), dout.data(), y.data(), C ? y.numel() / C : 0, C);
  after_kernel(be, "softmax_backward");
}

// Returns Σ mask · loss / Σ mask (a host value: the call waits for the stream).
template <ThrustExecuted B, class T>
T cross_entropy_forward(const B& be, View<T, B> losses, View<T, B> lse, In<T, B> logits, In<std::int32_t, B> targets,
                        In<T, B> mask) {
  constexpr std::string_view op = "cross_entropy_forward";
  const check::VocabRows rows = check::cross_entropy_forward_args(op, losses, lse, logits, targets, mask);
  const std::int64_t N = rows.N, V = rows.V;
  thrust_detail::check_targets(be, op, targets, V, mask.data());
  const T loss = portable::cross_entropy_forward(thrust_policy(be), losses.data(), lse.data(), logits.data(),
                                                 targets.data(), mask.data(), N, V);
  after_kernel(be, op.data());
  return loss;
}

template <ThrustExecuted B, class T>
void cross_entropy_backward(const B& be, View<T, B> dlogits, In<T, B> logits, In<T, B> lse, In<std::int32_t, B> targets,
                            In<T, B> mask, T dloss) {
  constexpr std::string_view op = "cross_entropy_backward";
  const check::VocabRows rows = check::cross_entropy_backward_args(op, dlogits, logits, lse, targets, mask);
  const std::int64_t N = rows.N, V = rows.V;
  thrust_detail::check_targets(be, op, targets, V, mask.data());
  portable::cross_entropy_backward(thrust_policy(be), dlogits.data(), logits.data(), lse.data(), targets.data(),
                                   mask.data(), N, V, dloss);
  after_kernel(be, op.data());
}

template <ThrustExecuted B, class T>
void logprob_forward(const B& be, View<T, B> logp, View<T, B> lse, In<T, B> logits, In<std::int32_t, B> targets,
                     T temperature) {
  constexpr std::string_view op = "logprob_forward";
  const check::VocabRows rows = check::logprob_forward_args(op, logp, lse, logits, targets, temperature);
  const std::int64_t N = rows.N, V = rows.V;
  thrust_detail::check_targets<B, T>(be, op, targets, V);
  portable::logprob_forward(thrust_policy(be), logp.data(), lse.data(), logits.data(), targets.data(), N, V,
                            temperature);
  after_kernel(be, op.data());
}

template <ThrustExecuted B, class T>
void logprob_backward(const B& be, View<T, B> dlogits, In<T, B> dlogp, In<T, B> logits, In<T, B> lse,
                      In<std::int32_t, B> targets, T temperature) {
  constexpr std::string_view op = "logprob_backward";
  const check::VocabRows rows = check::logprob_backward_args(op, dlogits, dlogp, logits, lse, targets, temperature);
  const std::int64_t N = rows.N, V = rows.V;
  thrust_detail::check_targets<B, T>(be, op, targets, V);
  portable::logprob_backward(thrust_policy(be), dlogits.data(), dlogp.data(), logits.data(), lse.data(), targets.data(),
                             N, V, temperature);
  after_kernel(be, op.data());
}

template <ThrustExecuted B, class T>
void entropy_forward(const B& be, View<T, B> entropy, View<T, B> lse, In<T, B> logits, T temperature) {
  constexpr std::string_view op = "entropy_forward";
  const check::VocabRows rows = check::entropy_forward_args(op, entropy, lse, logits, temperature);
  const std::int64_t N = rows.N, V = rows.V;
  portable::entropy_forward(thrust_policy(be), entropy.data(), lse.data(), logits.data(), N, V, temperature);
  after_kernel(be, op.data());
}

template <ThrustExecuted B, class T>
void entropy_backward(const B& be, View<T, B> dlogits, In<T, B> dentropy, In<T, B> logits, In<T, B> lse,
                      In<T, B> entropy, T temperature) {
  constexpr std::string_view op = "entropy_backward";
  const check::VocabRows rows = check::entropy_backward_args(op, dlogits, dentropy, logits, lse, entropy, temperature);
  const std::int64_t N = rows.N, V = rows.V;
  portable::entropy_backward(thrust_policy(be), dlogits.data(), dentropy.data(), logits.data(), lse.data(),
                             entropy.data(), N, V, temperature);
  after_kernel(be, op.data());
}

}  // namespace rlhf
