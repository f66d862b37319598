#pragma once
// Whole-tensor reductions and scaling: the gradient norm and its clipping.
#include "rlhf/backend/cpu/eigen.hpp"
#include "rlhf/backend/cpu/parallel.hpp"

namespace rlhf {

// Σ x², accumulated in double whatever T is (a float sum over 10^8 gradients loses digits), in
// an order fixed by the thread count (cpu_detail::ordered_sum).
template <class T>
double sum_of_squares(const cpu&, View<const T, cpu> x) {
  const std::int64_t n = x.numel();
  const T* v = x.data();
  return cpu_detail::ordered_sum<double>(n, n >= cpu_detail::min_parallel_work, [v](std::int64_t i0, std::int64_t i1) {
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (std::int64_t i = i0; i < i1; ++i) s += double(v[i]) * double(v[i]);
    return s;
  });
}

template <class T>
void scale(const cpu&, View<T, cpu> x, T factor) {
  cpu_detail::vec(x) *= factor;
}

}  // namespace rlhf
