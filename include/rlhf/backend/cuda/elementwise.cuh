#pragma once
// The CUDA backend's elementwise kernels: GELU, the residual connection, AdamW, and the gradient
// norm's Σ x² and scaling, the Thrust functors of backend/portable/elementwise.hpp run on the
// backend's stream. Same signatures and shape checks as the CPU kernels. (nvcc only: the
// functors are device code.)
#include <thrust/system/cuda/execution_policy.h>

#include "rlhf/backend/cuda/stream_scratch.hpp"
#include "rlhf/backend/cuda/tag.hpp"
#include "rlhf/backend/portable/elementwise.hpp"
#include "rlhf/core/check.hpp"
#include "rlhf/core/tensor.hpp"

namespace rlhf {

namespace cuda_detail {
// The backend's Thrust policy: its stream, no synchronization Thrust can skip, and temporary
// storage from the stream-ordered pool.
inline auto on_stream(const cuda& be) { return thrust::cuda::par_nosync(StreamAllocator{be.stream}).on(be.stream); }
// Launch failures surface at the next CUDA call; ask now so that the error names the kernel.
inline void check_launch(const char* kernel) { check(cudaPeekAtLastError(), kernel); }
}  // namespace cuda_detail

template <class T>
void gelu_forward(const cuda& be, View<T, cuda> out, In<T, cuda> x) {
  check::same("gelu_forward", "out", out, "x", x);
  portable::gelu_forward(cuda_detail::on_stream(be), out.data(), x.data(), x.numel());
  cuda_detail::check_launch("gelu_forward");
}

template <class T>
void gelu_backward(const cuda& be, View<T, cuda> dx, In<T, cuda> dout, In<T, cuda> x) {
  check::same("gelu_backward", "dx", dx, "x", x);
  check::same("gelu_backward", "dout", dout, "x", x);
  portable::gelu_backward(cuda_detail::on_stream(be), dx.data(), dout.data(), x.data(), x.numel());
  cuda_detail::check_launch("gelu_backward");
}

template <class T>
void residual_forward(const cuda& be, View<T, cuda> out, In<T, cuda> a, In<T, cuda> b) {
  check::same("residual_forward", "a", a, "b", b);
  check::same("residual_forward", "out", out, "a", a);
  portable::residual_forward(cuda_detail::on_stream(be), out.data(), a.data(), b.data(), a.numel());
  cuda_detail::check_launch("residual_forward");
}

template <class T>
void residual_backward(const cuda& be, View<T, cuda> da, View<T, cuda> db, In<T, cuda> dout) {
  check::same("residual_backward", "da", da, "dout", dout);
  check::same("residual_backward", "db", db, "dout", dout);
  portable::residual_backward(cuda_detail::on_stream(be), da.data(), db.data(), dout.data(), dout.numel());
  cuda_detail::check_launch("residual_backward");
}

template <class T>
void adamw_update(const cuda& be, View<T, cuda> param, In<T, cuda> grad, View<T, cuda> m, View<T, cuda> v, const AdamWStep& s) {
  check::same("adamw_update", "grad", grad, "param", param);
  check::same("adamw_update", "m", m, "param", param);
  check::same("adamw_update", "v", v, "param", param);
  portable::adamw_update(cuda_detail::on_stream(be), param.data(), grad.data(), m.data(), v.data(), param.numel(), s);
  cuda_detail::check_launch("adamw_update");
}

// Σ x² in double (a host value: the call waits for the stream).
template <class T>
double sum_of_squares(const cuda& be, View<const T, cuda> x) {
  const double s = portable::sum_of_squares(cuda_detail::on_stream(be), x.data(), x.numel());
  cuda_detail::check_launch("sum_of_squares");
  return s;
}

template <class T>
void scale(const cuda& be, View<T, cuda> x, T factor) {
  portable::scale(cuda_detail::on_stream(be), x.data(), x.numel(), factor);
  cuda_detail::check_launch("scale");
}

}  // namespace rlhf
