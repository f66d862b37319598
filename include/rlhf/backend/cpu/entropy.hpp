#pragma once
// Per-token entropy of softmax(logits / τ):  H[n] = -Σ_v p_v log p_v = lse - Σ_v p_v z_v / τ.
// lse [N] (of logits / τ) is kept for backward.
#include "rlhf/backend/cpu/vocab_rows.hpp"
#include "rlhf/backend/cpu/parallel.hpp"

namespace rlhf {

template <class T>
void entropy_forward(const cpu&, View<T, cpu> entropy, View<T, cpu> lse, In<T, cpu> logits, T temperature) {
  using namespace cpu_detail;
  constexpr std::string_view op = "entropy_forward";
  const check::VocabRows rows = check::entropy_forward_args(op, entropy, lse, logits, temperature);
  const std::int64_t N = rows.N, V = rows.V;
  const T inv_t = T(1) / temperature;
#pragma omp parallel for schedule(static) if (N * V >= cpu_detail::min_parallel_work)
  for (std::int64_t n = 0; n < N; ++n) {
    const RowArray<T> z(logits.data() + n * V, V);
    const T l = row_logsumexp(z.data(), V, inv_t);
    lse.data()[n] = l;
    // Σ p log p with p = exp(z/τ - lse); p = 0 terms contribute 0 (no 0 · -inf).
    const auto logp = z * inv_t - l;
    entropy.data()[n] = -(logp.exp() * logp).sum();
  }
}

// dlogits[n, v] += dH[n] · (-p_v (log p_v + H[n])) / τ
template <class T>
void entropy_backward(const cpu&, View<T, cpu> dlogits, In<T, cpu> dentropy, In<T, cpu> logits, In<T, cpu> lse,
                      In<T, cpu> entropy, T temperature) {
  using namespace cpu_detail;
  constexpr std::string_view op = "entropy_backward";
  const check::VocabRows rows = check::entropy_backward_args(op, dlogits, dentropy, logits, lse, entropy, temperature);
  const std::int64_t N = rows.N, V = rows.V;
  const T inv_t = T(1) / temperature;
#pragma omp parallel for schedule(static) if (N * V >= cpu_detail::min_parallel_work)
  for (std::int64_t n = 0; n < N; ++n) {
    const T g = dentropy.data()[n] * inv_t;
    if (g == T(0)) continue;
    const auto logp = RowArray<T>(logits.data() + n * V, V) * inv_t - lse.data()[n];
    MutRowArray<T>(dlogits.data() + n * V, V) -= g * logp.exp() * (logp + entropy.data()[n]);
  }
}

}  // namespace rlhf
