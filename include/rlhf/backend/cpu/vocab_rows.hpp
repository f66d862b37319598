#pragma once
// Row-wise helpers for ops over the vocabulary (cross-entropy, log-probs, entropy): one row of
// logits at a time, vectorised by Eigen's array expressions.
#include <cmath>
#include <cstdint>
#include <string_view>

#include "rlhf/backend/cpu/eigen.hpp"
#include "rlhf/core/check.hpp"

namespace rlhf::cpu_detail {

// log Σ_v exp(z_v / τ), shifted by the maximum so ±1e4 logits stay finite.
template <class T>
T row_logsumexp(const T* z, std::int64_t V, T inv_temperature) {
  const RowArray<T> row(z, V);
  const T m = row.maxCoeff() * inv_temperature;
  return m + std::log((row * inv_temperature - m).exp().sum());
}

// logits [N, V] with N > 0 rows and a non-empty vocabulary V > 0 (row_logsumexp reads z[0]).
template <class L>
void check_logit_rows(std::string_view op, const L& logits) {
  check::rank(op, "logits", logits, 2);
  check::nonempty(op, "batch: logits has no rows", logits.size(0));
  if (logits.size(1) <= 0) fail(op, ": logits has shape ", logits.shape(), ", expected a non-empty vocabulary");
}

// logits [N, V] with ids [N] (any rank, same count) and, if present, a per-row tensor of [N].
template <class L, class I>
void check_vocab_rows(std::string_view op, const L& logits, const I& ids) {
  check_logit_rows(op, logits);
  if (ids.numel() != logits.size(0))
    fail(op, ": targets has shape ", ids.shape(), ", expected one per row of logits ", logits.shape());
}

template <class I>
void check_target(std::string_view op, const I& targets, std::int64_t n, std::int64_t V) {
  const std::int32_t t = targets.data()[n];
  if (t < 0 || t >= V) fail(op, ": target ", t, " at row ", n, " is outside the vocabulary of ", V);
}

template <class T>
void check_temperature(std::string_view op, T temperature) {
  if (!(temperature > T(0)) || !std::isfinite(temperature)) fail(op, ": temperature must be positive, got ", temperature);
}

}  // namespace rlhf::cpu_detail
