#pragma once
// Residual connection: out = a + b; backward passes dout to both branches.
#include "rlhf/backend/cpu/eigen.hpp"
#include "rlhf/core/check.hpp"

namespace rlhf {

template <class T>
void residual_forward(const cpu&, View<T, cpu> out, In<T, cpu> a, In<T, cpu> b) {
  check::same("residual_forward", "a", a, "b", b);
  check::same("residual_forward", "out", out, "a", a);
  cpu_detail::vec(out) = cpu_detail::vec(a) + cpu_detail::vec(b);
}

template <class T>
void residual_backward(const cpu&, View<T, cpu> da, View<T, cpu> db, In<T, cpu> dout) {
  check::same("residual_backward", "da", da, "dout", dout);
  check::same("residual_backward", "db", db, "dout", dout);
  cpu_detail::vec(da) += cpu_detail::vec(dout);
  cpu_detail::vec(db) += cpu_detail::vec(dout);
}

}  // namespace rlhf
