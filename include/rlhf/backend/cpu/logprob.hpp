#pragma once
// Per-token log-probability of chosen tokens under softmax(logits / τ):
//   logp[n] = min(0, logits[n, t_n] / τ - logsumexp(logits[n] / τ))   (rounding can push it above 0)
// The temperature lives inside the kernel so that PPO computes log-probs identically at rollout
// and at update time. lse [N] (of logits / τ) is kept for backward.
#include <algorithm>

#include "rlhf/backend/cpu/vocab_rows.hpp"
#include "rlhf/backend/cpu/parallel.hpp"

namespace rlhf {

template <class T>
void logprob_forward(const cpu&, View<T, cpu> logp, View<T, cpu> lse, In<T, cpu> logits, In<std::int32_t, cpu> targets,
                     T temperature) {
  using namespace cpu_detail;
  constexpr std::string_view op = "logprob_forward";
  const check::VocabRows rows = check::logprob_forward_args(op, logp, lse, logits, targets, temperature);
  const std::int64_t N = rows.N, V = rows.V;
  for (std::int64_t n = 0; n < N; ++n) check_target(op, targets, n, V);
  const T inv_t = T(1) / temperature;
#pragma omp parallel for schedule(static) if (N * V >= cpu_detail::min_parallel_work)
  for (std::int64_t n = 0; n < N; ++n) {
    const T* z = logits.data() + n * V;
    lse.data()[n] = row_logsumexp(z, V, inv_t);
    logp.data()[n] = std::min(z[targets.data()[n]] * inv_t - lse.data()[n], T(0));  // rounding may cross 0
  }
}

// dlogits[n, v] += dlogp[n] · ([v == t_n] - p_v) / τ
template <class T>
void logprob_backward(const cpu&, View<T, cpu> dlogits, In<T, cpu> dlogp, In<T, cpu> logits, In<T, cpu> lse,
                      In<std::int32_t, cpu> targets, T temperature) {
  using namespace cpu_detail;
  constexpr std::string_view op = "logprob_backward";
  const check::VocabRows rows = check::logprob_backward_args(op, dlogits, dlogp, logits, lse, targets, temperature);
  const std::int64_t N = rows.N, V = rows.V;
  // Validated here too: backward scatters into dlogits at the targets.
  for (std::int64_t n = 0; n < N; ++n) check_target(op, targets, n, V);
  const T inv_t = T(1) / temperature;
#pragma omp parallel for schedule(static) if (N * V >= cpu_detail::min_parallel_work)
  for (std::int64_t n = 0; n < N; ++n) {
    const T g = dlogp.data()[n] * inv_t;
    if (g == T(0)) continue;
    MutRowArray<T> d(dlogits.data() + n * V, V);
    d -= g * (RowArray<T>(logits.data() + n * V, V) * inv_t - lse.data()[n]).exp();
    d[targets.data()[n]] += g;
  }
}

}  // namespace rlhf
