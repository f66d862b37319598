#pragma once
// Fused log-softmax + cross-entropy over the vocabulary, with a per-token mask.
//   logits [N, V], targets [N] int32, mask [N] optional (weights; 0 drops a token)
//   losses[n] = logsumexp(logits[n]) - logits[n, targets[n]]     (0 where the mask is 0)
//   returns Σ mask·loss / Σ mask, the mean over unmasked tokens; 0 when every token is masked.
// The targets of masked tokens are never read, so they may hold an ignore index such as -100.
// lse [N] keeps each row's logsumexp for backward, which recomputes softmax from it instead of
// storing an [N, V] probability tensor.
#include "rlhf/backend/cpu/vocab_rows.hpp"
#include "rlhf/backend/cpu/parallel.hpp"

namespace rlhf {

namespace cpu_detail {
template <class M>
auto mask_total(const M& mask, std::int64_t N) {
  using T = std::remove_const_t<typename M::value_type>;
  if (!mask.present()) return T(N);
  T total = 0;
  for (std::int64_t n = 0; n < N; ++n) total += mask.data()[n];
  return total;
}
}  // namespace cpu_detail

template <class T>
T cross_entropy_forward(const cpu&, View<T, cpu> losses, View<T, cpu> lse, In<T, cpu> logits,
                        In<std::int32_t, cpu> targets, In<T, cpu> mask) {
  using namespace cpu_detail;
  constexpr std::string_view op = "cross_entropy_forward";
  const check::VocabRows rows = check::cross_entropy_forward_args(op, losses, lse, logits, targets, mask);
  const std::int64_t N = rows.N, V = rows.V;
  for (std::int64_t n = 0; n < N; ++n)
    if (!mask.present() || mask.data()[n] != T(0)) check_target(op, targets, n, V);
  // The per-token losses are independent; their weighted sum is added in a fixed order.
  const T weighted = ordered_sum<T>(N, N * V >= min_parallel_work, [&](std::int64_t n0, std::int64_t n1) {
    T w = 0;
    for (std::int64_t n = n0; n < n1; ++n) {
      const T m = mask.present() ? mask.data()[n] : T(1);
      if (m == T(0)) {
        losses.data()[n] = lse.data()[n] = T(0);
        continue;
      }
      const T* z = logits.data() + n * V;
      lse.data()[n] = row_logsumexp(z, V, T(1));
      losses.data()[n] = lse.data()[n] - z[targets.data()[n]];
      w += m * losses.data()[n];
    }
    return w;
  });
  const T total = mask_total(mask, N);
  return total != T(0) ? weighted / total : T(0);
}

// dlogits[n, v] += dloss · mask[n] / Σ mask · (softmax(logits[n])_v - [v == target[n]])
template <class T>
void cross_entropy_backward(const cpu&, View<T, cpu> dlogits, In<T, cpu> logits, In<T, cpu> lse,
                            In<std::int32_t, cpu> targets, In<T, cpu> mask, T dloss) {
  using namespace cpu_detail;
  constexpr std::string_view op = "cross_entropy_backward";
  const check::VocabRows rows = check::cross_entropy_backward_args(op, dlogits, logits, lse, targets, mask);
  const std::int64_t N = rows.N, V = rows.V;
  // Validated here too: backward scatters into dlogits at the targets.
  for (std::int64_t n = 0; n < N; ++n)
    if (!mask.present() || mask.data()[n] != T(0)) check_target(op, targets, n, V);
  const T total = mask_total(mask, N);
  if (total == T(0)) return;
#pragma omp parallel for schedule(static) if (N * V >= cpu_detail::min_parallel_work)
  for (std::int64_t n = 0; n < N; ++n) {
    const T m = mask.present() ? mask.data()[n] : T(1);
    if (m == T(0)) continue;
    const T g = dloss * m / total;
    MutRowArray<T> d(dlogits.data() + n * V, V);
    d += g * (RowArray<T>(logits.data() + n * V, V) - lse.data()[n]).exp();
    d[targets.data()[n]] -= g;
  }
}

}  // namespace rlhf
