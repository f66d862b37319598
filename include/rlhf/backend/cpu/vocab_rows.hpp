#pragma once
// Row-wise helpers for ops over the vocabulary (cross-entropy, log-probs, entropy): one row of
// logits at a time, vectorised by Eigen's array expressions.
#include <cmath>
#include <cstdint>
#include <string_view>

#include "rlhf/backend/cpu/eigen.hpp"
#include "rlhf/backend/kernel_checks.hpp"

namespace rlhf::cpu_detail {

// log Σ_v exp(z_v / τ), shifted by the maximum so ±1e4 logits stay finite.
template <class T>
T row_logsumexp(const T* z, std::int64_t V, T inv_temperature) {
  const RowArray<T> row(z, V);
  const T m = row.maxCoeff() * inv_temperature;
  return m + std::log((row * inv_temperature - m).exp().sum());
}

template <class I>
void check_target(std::string_view op, const I& targets, std::int64_t n, std::int64_t V) {
  const std::int32_t t = targets.data()[n];
  if (t < 0 || t >= V) check::fail_target(op, t, n, V);
}

}  // namespace rlhf::cpu_detail
