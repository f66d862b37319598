#pragma once
// The CUDA backend's row-wise kernels: LayerNorm, softmax, fused cross-entropy, log-probs and
// entropy, the functors of backend/portable/rows.hpp on the backend's stream. Same signatures,
// shape checks and error messages as the CPU kernels (backend/cpu/*.hpp). (nvcc only.)
#include "rlhf/backend/cuda/elementwise.cuh"
#include "rlhf/backend/cuda/embedding.cuh"
#include "rlhf/backend/kernel_checks.hpp"
#include "rlhf/backend/portable/rows.hpp"

namespace rlhf {

namespace cuda_detail {
// Fails like the CPU kernels if a target (of a row whose weight is not 0) is outside the vocabulary.
template <class W>
void check_targets(const cuda& be, std::string_view op, In<std::int32_t, cuda> targets, std::int64_t V,
                   const W* weight = nullptr) {
  const IdAt hit = first_id_outside(be, targets, V, weight);
  if (hit.position >= 0) check::fail_target(op, hit.id, hit.position, V);
}
}  // namespace cuda_detail

template <class T>
void layernorm_forward(const cuda& be, View<T, cuda> out, View<T, cuda> mean, View<T, cuda> rstd, In<T, cuda> x,
                       In<T, cuda> w, In<T, cuda> b, T eps) {
  check::same("layernorm_forward", "out", out, "x", x);
  const std::int64_t C = check::layernorm("layernorm_forward", x, w, b, mean, rstd);
  portable::layernorm_forward(cuda_detail::on_stream(be), out.data(), mean.data(), rstd.data(), x.data(), w.data(),
                              b.data(), mean.numel(), C, eps);
  cuda_detail::check_launch("layernorm_forward");
}

template <class T>
void layernorm_backward(const cuda& be, View<T, cuda> dx, View<T, cuda> dw, View<T, cuda> db, In<T, cuda> dout,
                        In<T, cuda> x, In<T, cuda> w, In<T, cuda> mean, In<T, cuda> rstd) {
  const std::int64_t C = check::layernorm_backward_args("layernorm_backward", dx, dw, db, dout, x, w, mean, rstd);
  portable::layernorm_backward(cuda_detail::on_stream(be), dx.data(), dw.data(), db.data(), dout.data(), x.data(),
                               w.data(), mean.data(), rstd.data(), mean.numel(), C);
  cuda_detail::check_launch("layernorm_backward");
}

template <class T>
void softmax_forward(const cuda& be, View<T, cuda> out, In<T, cuda> x) {
  check::same("softmax_forward", "out", out, "x", x);
  const std::int64_t C = check::softmax_rows("softmax_forward", "x", x);
  portable::softmax_forward(cuda_detail::on_stream(be), out.data(), x.data(), C ? x.numel() / C : 0, C);
  cuda_detail::check_launch("softmax_forward");
}

template <class T>
void softmax_backward(const cuda& be, View<T, cuda> dx, In<T, cuda> dout, In<T, cuda> y) {
  check::same("softmax_backward", "dout", dout, "y", y);
  check::same("softmax_backward", "dx", dx, "y", y);
  const std::int64_t C = check::softmax_rows("softmax_backward", "y", y);
  portable::softmax_backward(cuda_detail::on_stream(be), dx.data(), dout.data(), y.data(), C ? y.numel() / C : 0, C);
  cuda_detail::check_launch("softmax_backward");
}

// Returns Σ mask · loss / Σ mask (a host value: the call waits for the stream).
template <class T>
T cross_entropy_forward(const cuda& be, View<T, cuda> losses, View<T, cuda> lse, In<T, cuda> logits,
                        In<std::int32_t, cuda> targets, In<T, cuda> mask) {
  constexpr std::string_view op = "cross_entropy_forward";
  const check::VocabRows rows = check::cross_entropy_forward_args(op, losses, lse, logits, targets, mask);
  const std::int64_t N = rows.N, V = rows.V;
  cuda_detail::check_targets(be, op, targets, V, mask.data());
  const T loss = portable::cross_entropy_forward(cuda_detail::on_stream(be), losses.data(), lse.data(), logits.data(),
                                                 targets.data(), mask.data(), N, V);
  cuda_detail::check_launch(op.data());
  return loss;
}

template <class T>
void cross_entropy_backward(const cuda& be, View<T, cuda> dlogits, In<T, cuda> logits, In<T, cuda> lse,
                            In<std::int32_t, cuda> targets, In<T, cuda> mask, T dloss) {
  constexpr std::string_view op = "cross_entropy_backward";
  const check::VocabRows rows = check::cross_entropy_backward_args(op, dlogits, logits, lse, targets, mask);
  const std::int64_t N = rows.N, V = rows.V;
  cuda_detail::check_targets(be, op, targets, V, mask.data());
  portable::cross_entropy_backward(cuda_detail::on_stream(be), dlogits.data(), logits.data(), lse.data(),
                                   targets.data(), mask.data(), N, V, dloss);
  cuda_detail::check_launch(op.data());
}

template <class T>
void logprob_forward(const cuda& be, View<T, cuda> logp, View<T, cuda> lse, In<T, cuda> logits,
                     In<std::int32_t, cuda> targets, T temperature) {
  constexpr std::string_view op = "logprob_forward";
  const check::VocabRows rows = check::logprob_forward_args(op, logp, lse, logits, targets, temperature);
  const std::int64_t N = rows.N, V = rows.V;
  cuda_detail::check_targets<T>(be, op, targets, V);
  portable::logprob_forward(cuda_detail::on_stream(be), logp.data(), lse.data(), logits.data(), targets.data(), N, V,
                            temperature);
  cuda_detail::check_launch(op.data());
}

template <class T>
void logprob_backward(const cuda& be, View<T, cuda> dlogits, In<T, cuda> dlogp, In<T, cuda> logits, In<T, cuda> lse,
                      In<std::int32_t, cuda> targets, T temperature) {
  constexpr std::string_view op = "logprob_backward";
  const check::VocabRows rows = check::logprob_backward_args(op, dlogits, dlogp, logits, lse, targets, temperature);
  const std::int64_t N = rows.N, V = rows.V;
  cuda_detail::check_targets<T>(be, op, targets, V);
  portable::logprob_backward(cuda_detail::on_stream(be), dlogits.data(), dlogp.data(), logits.data(), lse.data(),
                             targets.data(), N, V, temperature);
  cuda_detail::check_launch(op.data());
}

template <class T>
void entropy_forward(const cuda& be, View<T, cuda> entropy, View<T, cuda> lse, In<T, cuda> logits, T temperature) {
  constexpr std::string_view op = "entropy_forward";
  const check::VocabRows rows = check::entropy_forward_args(op, entropy, lse, logits, temperature);
  const std::int64_t N = rows.N, V = rows.V;
  portable::entropy_forward(cuda_detail::on_stream(be), entropy.data(), lse.data(), logits.data(), N, V, temperature);
  cuda_detail::check_launch(op.data());
}

template <class T>
void entropy_backward(const cuda& be, View<T, cuda> dlogits, In<T, cuda> dentropy, In<T, cuda> logits,
                      In<T, cuda> lse, In<T, cuda> entropy, T temperature) {
  constexpr std::string_view op = "entropy_backward";
  const check::VocabRows rows = check::entropy_backward_args(op, dlogits, dentropy, logits, lse, entropy, temperature);
  const std::int64_t N = rows.N, V = rows.V;
  portable::entropy_backward(cuda_detail::on_stream(be), dlogits.data(), dentropy.data(), logits.data(), lse.data(),
                             entropy.data(), N, V, temperature);
  cuda_detail::check_launch(op.data());
}

}  // namespace rlhf
