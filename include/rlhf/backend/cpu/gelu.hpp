#pragma once
// GELU, tanh approximation (GPT-2's "gelu_new"):
//   gelu(x) = ½ x (1 + tanh(u)),  u = √(2/π) (x + 0.044715 x³)
#include <cmath>

#include "rlhf/backend/cpu/eigen.hpp"
#include "rlhf/backend/cpu/parallel.hpp"
#include "rlhf/core/check.hpp"

namespace rlhf {

namespace gelu_constants {
template <class T>
inline constexpr T sqrt_2_over_pi = T(0.7978845608028654);
template <class T>
inline constexpr T cubic = T(0.044715);
}  // namespace gelu_constants

template <class T>
void gelu_forward(const cpu&, View<T, cpu> out, In<T, cpu> x) {
  check::same("gelu_forward", "out", out, "x", x);
  using namespace gelu_constants;
  const std::int64_t n = x.numel();
#pragma omp parallel for simd schedule(static) if(n >= cpu_detail::min_parallel_work)
  for (std::int64_t i = 0; i < n; ++i) {
    const T v = x.data()[i];
    out.data()[i] = T(0.5) * v * (T(1) + std::tanh(sqrt_2_over_pi<T> * (v + cubic<T> * v * v * v)));
  }
}

// dx += dout · [½ (1 + tanh u) + ½ x (1 - tanh² u) √(2/π) (1 + 3·0.044715 x²)]
template <class T>
void gelu_backward(const cpu&, View<T, cpu> dx, In<T, cpu> dout, In<T, cpu> x) {
  check::same("gelu_backward", "dx", dx, "x", x);
  check::same("gelu_backward", "dout", dout, "x", x);
  using namespace gelu_constants;
  const std::int64_t n = x.numel();
#pragma omp parallel for simd schedule(static) if(n >= cpu_detail::min_parallel_work)
  for (std::int64_t i = 0; i < n; ++i) {
    const T v = x.data()[i];
    const T t = std::tanh(sqrt_2_over_pi<T> * (v + cubic<T> * v * v * v));
    const T du = sqrt_2_over_pi<T> * (T(1) + T(3) * cubic<T> * v * v);
    dx.data()[i] += dout.data()[i] * (T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) * du);
  }
}

}  // namespace rlhf
