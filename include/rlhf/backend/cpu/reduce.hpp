#pragma once
// Whole-tensor reductions and scaling: the gradient norm and its clipping.
#include "rlhf/backend/cpu/eigen.hpp"
#include "rlhf/backend/cpu/parallel.hpp"

namespace rlhf {

// Σ x², accumulated in double whatever T is (a float sum over 10^8 gradients loses digits).
template <class T>
double sum_of_squares(const cpu&, View<const T, cpu> x) {
  const std::int64_t n = x.numel();
  double s = 0;
#pragma omp parallel for simd schedule(static) reduction(+ : s) if(n >= cpu_detail::min_parallel_work)
  for (std::int64_t i = 0; i < n; ++i) s += double(x.data()[i]) * double(x.data()[i]);
  return s;
}

template <class T>
void scale(const cpu&, View<T, cpu> x, T factor) {
  cpu_detail::vec(x) *= factor;
}

}  // namespace rlhf
