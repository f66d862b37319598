#pragma once
// Softmax over the last dimension: y = exp(x - max) / Σ exp(x - max).
#include <algorithm>
#include <cmath>

#include "rlhf/backend/cpu/eigen.hpp"
#include "rlhf/backend/cpu/parallel.hpp"
#include "rlhf/backend/kernel_checks.hpp"
#include "rlhf/core/check.hpp"

namespace rlhf {

template <class T>
void softmax_forward(const cpu&, View<T, cpu> out, In<T, cpu> x) {
  check::same("softmax_forward", "out", out, "x", x);
  const std::int64_t C = check::softmax_rows("softmax_forward", "x", x);
  const std::int64_t N = C ? x.numel() / C : 0;
#pragma omp parallel for schedule(static) if (N * C >= cpu_detail::min_parallel_work)
  for (std::int64_t i = 0; i < N; ++i) {
    const cpu_detail::RowArray<T> xi(x.data() + i * C, C);
    cpu_detail::MutRowArray<T> yi(out.data() + i * C, C);
    yi = (xi - xi.maxCoeff()).exp();
    yi /= yi.sum();
  }
}

// dx += y ∘ (dy - Σ y ∘ dy)
template <class T>
void softmax_backward(const cpu&, View<T, cpu> dx, In<T, cpu> dout, In<T, cpu> y) {
  check::same("softmax_backward", "dout", dout, "y", y);
  check::same("softmax_backward", "dx", dx, "y", y);
  const std::int64_t C = check::softmax_rows("softmax_backward", "y", y);
  const std::int64_t N = C ? y.numel() / C : 0;
#pragma omp parallel for schedule(static) if (N * C >= cpu_detail::min_parallel_work)
  for (std::int64_t i = 0; i < N; ++i) {
    const cpu_detail::RowArray<T> yi(y.data() + i * C, C), gi(dout.data() + i * C, C);
    cpu_detail::MutRowArray<T>(dx.data() + i * C, C) += yi * (gi - (yi * gi).sum());
  }
}

}  // namespace rlhf
