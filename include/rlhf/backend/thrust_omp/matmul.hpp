#pragma once
// thrust_omp's matmul, shaped like the CUDA backend's (cuda/matmul.cuh): the bias broadcast into
// the output and dout's column sums into dbias by the portable functors (backend/portable/bias.hpp),
// the products by the host's BLAS through Eigen in place of cuBLAS. fp32 and double; no tf32 or
// bf16 (the CPU backend emulates those).
#include "rlhf/backend/cpu/eigen.hpp"
#include "rlhf/backend/cpu/matmul.hpp"
#include "rlhf/backend/kernel_checks.hpp"
#include "rlhf/backend/portable/bias.hpp"
#include "rlhf/backend/thrust_omp/tag.hpp"

namespace rlhf {

namespace thrust_omp_detail {
// The same host memory seen as the CPU backend's, for its BLAS products.
template <class T>
View<T, cpu> on_cpu(View<T, thrust_omp> v) {
  return v.present() ? View<T, cpu>(v.data(), v.shape()) : View<T, cpu>{};
}
}  // namespace thrust_omp_detail

template <class T>
void matmul_forward(const thrust_omp& be, View<T, thrust_omp> out, In<T, thrust_omp> a, In<T, thrust_omp> w,
                    In<T, thrust_omp> bias, WeightLayout layout) {
  using thrust_omp_detail::on_cpu;
  constexpr std::string_view op = "matmul_forward";
  check::matmul(op, a, w, layout, "out", out);
  const std::int64_t N = out.size(out.rank() - 1), M = N ? out.numel() / N : 0;
  check::optional_shape(op, "bias", bias, Shape{N});
  if (!bias.present()) return matmul_forward(cpu{}, on_cpu(out), on_cpu(a), on_cpu(w), {}, layout);
  if (M == 0 || N == 0) return;
  portable::broadcast_rows(thrust_policy(be), out.data(), bias.data(), M, N);  // then beta = 1, as on the GPU
  auto O = cpu_detail::mat(on_cpu(out));
  const auto A = cpu_detail::mat(on_cpu(a));
  const auto W = cpu_detail::mat(on_cpu(w));
  if (layout == WeightLayout::in_out) O.noalias() += A * W;
  else O.noalias() += A * W.transpose();
}

template <class T>
void matmul_backward(const thrust_omp& be, View<T, thrust_omp> da, View<T, thrust_omp> dw, View<T, thrust_omp> dbias,
                     In<T, thrust_omp> dout, In<T, thrust_omp> a, In<T, thrust_omp> w, WeightLayout layout) {
  using thrust_omp_detail::on_cpu;
  constexpr std::string_view op = "matmul_backward";
  check::matmul(op, a, w, layout, "dout", dout);
  check::optional_shape(op, "dbias", dbias, Shape{dout.size(dout.rank() - 1)});
  matmul_backward(cpu{}, on_cpu(da), on_cpu(dw), View<T, cpu>{}, on_cpu(dout), on_cpu(a), on_cpu(w), layout);
  const std::int64_t N = dout.size(dout.rank() - 1), M = N ? dout.numel() / N : 0;
  if (dbias.present() && M > 0 && N > 0) portable::add_column_sums(thrust_policy(be), dbias.data(), dout.data(), M, N);
}

}  // namespace rlhf
