#pragma once
// One AdamW update of a parameter tensor (Loshchilov & Hutter; PyTorch's torch.optim.AdamW):
//   p ← p − lr·λ·p                                   (decoupled weight decay)
//   m ← β1·m + (1 − β1)·g,   v ← β2·v + (1 − β2)·g²
//   p ← p − lr · (m / c1) / (√(v / c2) + ε)          c1 = 1 − β1^t, c2 = 1 − β2^t
#include <cmath>

#include "rlhf/backend/adamw_step.hpp"
#include "rlhf/backend/cpu/eigen.hpp"
#include "rlhf/backend/cpu/parallel.hpp"
#include "rlhf/core/check.hpp"

namespace rlhf {

template <class T>
void adamw_update(const cpu&, View<T, cpu> param, In<T, cpu> grad, View<T, cpu> m, View<T, cpu> v, const AdamWStep& s) {
  check::same("adamw_update", "grad", grad, "param", param);
  check::same("adamw_update", "m", m, "param", param);
  check::same("adamw_update", "v", v, "param", param);
  const std::int64_t n = param.numel();
  const T lr = T(s.lr), b1 = T(s.beta1), b2 = T(s.beta2), eps = T(s.eps);
  const T decay = T(1 - s.lr * s.weight_decay);
  const T inv_c1 = T(1 / s.bias_correction1), inv_sqrt_c2 = T(1 / std::sqrt(s.bias_correction2));
#pragma omp parallel for simd schedule(static) if (n >= cpu_detail::min_parallel_work)
  for (std::int64_t i = 0; i < n; ++i) {
    const T g = grad.data()[i];
    const T mi = m.data()[i] = b1 * m.data()[i] + (1 - b1) * g;
    const T vi = v.data()[i] = b2 * v.data()[i] + (1 - b2) * g * g;
    param.data()[i] = param.data()[i] * decay - lr * (mi * inv_c1) / (std::sqrt(vi) * inv_sqrt_c2 + eps);
  }
}

}  // namespace rlhf
