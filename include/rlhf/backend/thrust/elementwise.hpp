#pragma once
// The elementwise kernels of a Thrust-executed backend (thrust/executor.hpp): GELU, the residual
// connection, AdamW, and the gradient norm's Σ x² and scaling, the functors of
// backend/portable/elementwise.hpp under the backend's policy. Same signatures and shape checks
// as the CPU kernels.
#include "rlhf/backend/portable/elementwise.hpp"
#include "rlhf/backend/thrust/executor.hpp"
#include "rlhf/core/check.hpp"
#include "rlhf/core/tensor.hpp"

namespace rlhf {

template <ThrustExecuted B, class T>
void gelu_forward(const B& be, View<T, B> out, In<T, B> x) {
  check::same("gelu_forward", "out", out, "x", x);
  portable::gelu_forward(thrust_policy(be), out.data(), x.data(), x.numel());
  after_kernel(be, "gelu_forward");
}

template <ThrustExecuted B, class T>
void gelu_backward(const B& be, View<T, B> dx, In<T, B> dout, In<T, B> x) {
  check::same("gelu_backward", "dx", dx, "x", x);
  check::same("gelu_backward", "dout", dout, "x", x);
  portable::gelu_backward(thrust_policy(be), dx.data(), dout.data(), x.data(), x.numel());
  after_kernel(be, "gelu_backward");
}

template <ThrustExecuted B, class T>
void residual_forward(const B& be, View<T, B> out, In<T, B> a, In<T, B> b) {
  check::same("residual_forward", "a", a, "b", b);
  check::same("residual_forward", "out", out, "a", a);
  portable::residual_forward(thrust_policy(be), out.data(), a.data(), b.data(), a.numel());
  after_kernel(be, "residual_forward");
}

template <ThrustExecuted B, class T>
void residual_backward(const B& be, View<T, B> da, View<T, B> db, In<T, B> dout) {
  check::same("residual_backward", "da", da, "dout", dout);
  check::same("residual_backward", "db", db, "dout", dout);
  portable::residual_backward(thrust_policy(be), da.data(), db.data(), dout.data(), dout.numel());
  after_kernel(be, "residual_backward");
}

template <ThrustExecuted B, class T>
void adamw_update(const B& be, View<T, B> param, In<T, B> grad, View<T, B> m, View<T, B> v, const AdamWStep& s) {
  check::same("adamw_update", "grad", grad, "param", param);
  check::same("adamw_update", "m", m, "param", param);
  check::same("adamw_update", "v", v, "param", param);
  portable::adamw_update(thrust_policy(be), param.data(), grad.data(), m.data(), v.data(), param.numel(), s);
  after_kernel(be, "adamw_update");
}

// Σ x² in double (a host value: the call waits for the stream).
template <ThrustExecuted B, class T>
double sum_of_squares(const B& be, View<const T, B> x) {
  const double s = portable::sum_of_squares(thrust_policy(be), x.data(), x.numel());
  after_kernel(be, "sum_of_squares");
  return s;
}

template <ThrustExecuted B, class T>
void scale(const B& be, View<T, B> x, T factor) {
  portable::scale(thrust_policy(be), x.data(), x.numel(), factor);
  after_kernel(be, "scale");
}

}  // namespace rlhf
