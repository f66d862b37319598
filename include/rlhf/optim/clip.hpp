#pragma once
// Global gradient-norm clipping (torch.nn.utils.clip_grad_norm_): if ‖g‖₂ > max_norm, scale g by
// max_norm / (‖g‖₂ + 1e-6). Returns the norm before clipping. A non-finite norm is an error: a
// NaN or Inf has reached the gradients, and stepping on it would destroy the weights.
#include <cmath>

#include "rlhf/core/tensor.hpp"

namespace rlhf::optim {

template <class T, class B>
double clip_grad_norm(const B& be, View<T, B> grads, double max_norm) {
  const double norm = std::sqrt(sum_of_squares(be, View<const T, B>(grads)));
  if (!std::isfinite(norm))
    fail("clip_grad_norm: the gradient norm is ", norm, " (a NaN or Inf reached the gradients)");
  if (max_norm > 0 && norm > max_norm) scale(be, grads, T(max_norm / (norm + 1e-6)));
  return norm;
}

}  // namespace rlhf::optim
