#pragma once
// Matrix multiply with optional bias: the Linear layer's forward and backward.
//   out[M, N] = a[M, K] · W + bias[N]
// W comes in either layout a Linear layer needs (core/weight_layout.hpp).
// Inputs of rank > 2 are flattened to [rows, last dim]. Backward accumulates (+=) into every
// gradient it is given; an absent gradient view (View{}) is skipped.
#include <string_view>

#include "rlhf/backend/cpu/eigen.hpp"
#include "rlhf/backend/cpu/parallel.hpp"
#include "rlhf/backend/kernel_checks.hpp"

namespace rlhf {

namespace cpu_detail {
// OpenBLAS threads a product from about 2^18 multiply-adds on; below 2^22 (a generation step's
// [batch, C] x [C, 3C]) waking its threads costs more than they save on a few cores, and on a busy
// machine far more. Such products run on the calling thread.
inline constexpr std::int64_t blas_parallel_work = std::int64_t{1} << 22;
}  // namespace cpu_detail

template <class T>
void matmul_forward(const cpu&, View<T, cpu> out, In<T, cpu> a, In<T, cpu> w, In<T, cpu> bias, WeightLayout layout) {
  using namespace cpu_detail;
  check::matmul("matmul_forward", a, w, layout, "out", out);
  const std::int64_t n = out.size(out.rank() - 1);
  check::optional_shape("matmul_forward", "bias", bias, Shape{n});
  const BlasSingleThreadIf one_thread(out.numel() * a.size(a.rank() - 1) < blas_parallel_work);
  auto O = mat(out);
  auto A = mat(a);
  auto W = mat(w);
  if (bias.present()) {
    O.rowwise() = vec(bias).transpose();  // then beta = 1: the bias add rides on the GEMM
    if (layout == WeightLayout::in_out) O.noalias() += A * W;
    else O.noalias() += A * W.transpose();
  } else {
    if (layout == WeightLayout::in_out) O.noalias() = A * W;
    else O.noalias() = A * W.transpose();
  }
}

template <class T>
void matmul_backward(const cpu&, View<T, cpu> da, View<T, cpu> dw, View<T, cpu> dbias, In<T, cpu> dout, In<T, cpu> a,
                     In<T, cpu> w, WeightLayout layout) {
  using namespace cpu_detail;
  check::matmul("matmul_backward", a, w, layout, "dout", dout);
  check::optional_shape("matmul_backward", "da", da, a.shape());
  check::optional_shape("matmul_backward", "dw", dw, w.shape());
  check::optional_shape("matmul_backward", "dbias", dbias, Shape{dout.size(dout.rank() - 1)});
  const BlasSingleThreadIf one_thread(dout.numel() * a.size(a.rank() - 1) < blas_parallel_work);
  auto dO = mat(dout);
  auto A = mat(a);
  auto W = mat(w);
  if (da.present()) {
    if (layout == WeightLayout::in_out) mat(da).noalias() += dO * W.transpose();
    else mat(da).noalias() += dO * W;
  }
  if (dw.present()) {
    if (layout == WeightLayout::in_out) mat(dw).noalias() += A.transpose() * dO;
    else mat(dw).noalias() += dO.transpose() * A;
  }
  if (dbias.present()) vec(dbias) += dO.colwise().sum().transpose();
}

}  // namespace rlhf
