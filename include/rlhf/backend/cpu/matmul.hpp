#pragma once
// Matrix multiply with optional bias: the Linear layer's forward and backward.
//   out[M, N] = a[M, K] · W + bias[N]
// W comes in either layout a Linear layer needs (core/weight_layout.hpp).
// Inputs of rank > 2 are flattened to [rows, last dim]. Backward accumulates (+=) into every
// gradient it is given; an absent gradient view (View{}) is skipped.
// In tf32 or bf16 precision (the backend object's) the operands are first rounded to that format
// into per-thread scratch, then multiplied in fp32 like the GPU's tensor cores do.
#include <string_view>
#include <vector>

#include "rlhf/backend/cpu/eigen.hpp"
#include "rlhf/backend/cpu/parallel.hpp"
#include "rlhf/backend/kernel_checks.hpp"

namespace rlhf {

namespace cpu_detail {
// OpenBLAS threads a product from about 2^18 multiply-adds on; below 2^22 (a generation step's
// [batch, C] x [C, 3C]) waking its threads costs more than they save on a few cores, and on a busy
// machine far more. Such products run on the calling thread.
inline constexpr std::int64_t blas_parallel_work = std::int64_t{1} << 22;

// x's values rounded to precision p, in this thread's scratch slot (0-2: one per operand of a
// product). The slots grow to the largest operand and are kept, so steady-state steps do not
// allocate.
inline View<const float, cpu> rounded_operand(int slot, View<const float, cpu> x, MatmulPrecision p) {
  thread_local std::vector<float> scratch[3];
  std::vector<float>& s = scratch[slot];
  if (s.size() < std::size_t(x.numel())) s.resize(std::size_t(x.numel()));
  const float* in = x.data();
  for (std::int64_t i = 0; i < x.numel(); ++i) s[std::size_t(i)] = round_operand(p, in[i]);
  return View<const float, cpu>(s.data(), x.shape());
}
}  // namespace cpu_detail

template <class T>
void matmul_forward(const cpu& be, View<T, cpu> out, In<T, cpu> a, In<T, cpu> w, In<T, cpu> bias, WeightLayout layout) {
  using namespace cpu_detail;
  check::matmul("matmul_forward", a, w, layout, "out", out);
  const std::int64_t n = out.size(out.rank() - 1);
  check::optional_shape("matmul_forward", "bias", bias, Shape{n});
  check::matmul_precision<T>("matmul_forward", be.precision);
  if constexpr (std::is_same_v<T, float>)
    if (be.precision != MatmulPrecision::fp32)
      return matmul_forward(cpu{}, out, rounded_operand(0, a, be.precision), rounded_operand(1, w, be.precision), bias,
                            layout);
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
void matmul_backward(const cpu& be, View<T, cpu> da, View<T, cpu> dw, View<T, cpu> dbias, In<T, cpu> dout, In<T, cpu> a,
                     In<T, cpu> w, WeightLayout layout) {
  using namespace cpu_detail;
  check::matmul("matmul_backward", a, w, layout, "dout", dout);
  check::optional_shape("matmul_backward", "da", da, a.shape());
  check::optional_shape("matmul_backward", "dw", dw, w.shape());
  check::optional_shape("matmul_backward", "dbias", dbias, Shape{dout.size(dout.rank() - 1)});
  check::matmul_precision<T>("matmul_backward", be.precision);
  if constexpr (std::is_same_v<T, float>)
    if (be.precision != MatmulPrecision::fp32) {
      // dbias sums dout exactly, as the GPU's does: it is no product.
      if (dbias.present()) matmul_backward(cpu{}, View<T, cpu>{}, View<T, cpu>{}, dbias, dout, a, w, layout);
      const In<T, cpu> dout_r = rounded_operand(0, dout, be.precision);
      return matmul_backward(cpu{}, da, dw, View<T, cpu>{}, dout_r,
                             dw.present() ? rounded_operand(1, a, be.precision) : a,
                             da.present() ? rounded_operand(2, w, be.precision) : w, layout);
    }
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
