#pragma once
// Softmax over the last dimension: y = exp(x - max) / Σ exp(x - max).
#include <algorithm>
#include <cmath>

#include "rlhf/backend/cpu/eigen.hpp"
#include "rlhf/backend/cpu/parallel.hpp"
#include "rlhf/core/check.hpp"

namespace rlhf {

template <class T>
void softmax_forward(const cpu&, View<T, cpu> out, In<T, cpu> x) {
  check::same("softmax_forward", "out", out, "x", x);
  if (x.rank() < 1) fail("softmax_forward: x has shape ", x.shape(), ", expected rank >= 1");
  const std::int64_t C = x.size(x.rank() - 1);
  const std::int64_t N = C ? x.numel() / C : 0;
#pragma omp parallel for schedule(static) if(N * C >= cpu_detail::min_parallel_work)
  for (std::int64_t i = 0; i < N; ++i) {
    const T* xi = x.data() + i * C;
    T* yi = out.data() + i * C;
    const T m = *std::max_element(xi, xi + C);
    T sum = 0;
    for (std::int64_t j = 0; j < C; ++j) sum += (yi[j] = std::exp(xi[j] - m));
    const T inv = T(1) / sum;
    for (std::int64_t j = 0; j < C; ++j) yi[j] *= inv;
  }
}

// dx += y ∘ (dy - Σ y ∘ dy)
template <class T>
void softmax_backward(const cpu&, View<T, cpu> dx, In<T, cpu> dout, In<T, cpu> y) {
  check::same("softmax_backward", "dout", dout, "y", y);
  check::same("softmax_backward", "dx", dx, "y", y);
  if (y.rank() < 1) fail("softmax_backward: y has shape ", y.shape(), ", expected rank >= 1");
  const std::int64_t C = y.size(y.rank() - 1);
  const std::int64_t N = C ? y.numel() / C : 0;
#pragma omp parallel for schedule(static) if(N * C >= cpu_detail::min_parallel_work)
  for (std::int64_t i = 0; i < N; ++i) {
    const T* yi = y.data() + i * C;
    const T* gi = dout.data() + i * C;
    T dot = 0;
    for (std::int64_t j = 0; j < C; ++j) dot += yi[j] * gi[j];
    T* dxi = dx.data() + i * C;
    for (std::int64_t j = 0; j < C; ++j) dxi[j] += yi[j] * (gi[j] - dot);
  }
}

}  // namespace rlhf
