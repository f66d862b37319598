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

namespace cpu_detail {
// Elements per OpenMP iteration: enough to amortise the loop, small enough to stay in L1/L2.
inline constexpr std::int64_t gelu_chunk = 8192;
}  // namespace cpu_detail

// Eigen's array tanh is vectorised (std::tanh per element is a scalar libm call).
template <class T>
void gelu_forward(const cpu&, View<T, cpu> out, In<T, cpu> x) {
  using namespace cpu_detail;
  using namespace gelu_constants;
  check::same("gelu_forward", "out", out, "x", x);
  const std::int64_t n = x.numel();
#pragma omp parallel for schedule(static) if (n >= min_parallel_work)
  for (std::int64_t c0 = 0; c0 < n; c0 += gelu_chunk) {
    const std::int64_t len = std::min(gelu_chunk, n - c0);
    const RowArray<T> v(x.data() + c0, len);
    MutRowArray<T>(out.data() + c0, len) = T(0.5) * v * (T(1) + (sqrt_2_over_pi<T> * (v + cubic<T> * v.cube())).tanh());
  }
}

// dx += dout · [½ (1 + tanh u) + ½ x (1 - tanh² u) √(2/π) (1 + 3·0.044715 x²)]
template <class T>
void gelu_backward(const cpu&, View<T, cpu> dx, In<T, cpu> dout, In<T, cpu> x) {
  using namespace cpu_detail;
  using namespace gelu_constants;
  check::same("gelu_backward", "dx", dx, "x", x);
  check::same("gelu_backward", "dout", dout, "x", x);
  const std::int64_t n = x.numel();
#pragma omp parallel if (n >= min_parallel_work)
  {
    Eigen::Array<T, Eigen::Dynamic, 1> t(std::min(gelu_chunk, n));  // tanh u, per thread
#pragma omp for schedule(static)
    for (std::int64_t c0 = 0; c0 < n; c0 += gelu_chunk) {
      const std::int64_t len = std::min(gelu_chunk, n - c0);
      const RowArray<T> v(x.data() + c0, len);
      auto tl = t.head(len);
      tl = (sqrt_2_over_pi<T> * (v + cubic<T> * v.cube())).tanh();
      MutRowArray<T>(dx.data() + c0, len) +=
          RowArray<T>(dout.data() + c0, len) *
          (T(0.5) * (T(1) + tl) +
           T(0.5) * v * (T(1) - tl.square()) * sqrt_2_over_pi<T> * (T(1) + T(3) * cubic<T> * v.square()));
    }
  }
}

}  // namespace rlhf
