#pragma once
// The CUDA backend's matmul: out[M, N] = a[M, K] · W + bias[N] by cuBLAS, with the CPU kernel's
// signature, layouts (core/weight_layout.hpp) and shape checks. Backward accumulates (β = 1).
//
// Our tensors are row-major and cuBLAS is column-major: a row-major [R, C] matrix is a
// column-major [C, R] one, its transpose. So every product is computed transposed,
// out^T = W^T a^T, which needs no copies: with in_out W [K, N] that is gemm(N, N) of W and a;
// with out_in W [N, K], gemm(T, N). (nvcc only: the bias functors are device code.)
//
// The backend object's precision (backend/precision.hpp) picks how float products run: fp32 by
// cublasSgemm; tf32 on TF32 tensor cores; bf16 with both operands converted to bfloat16 in
// stream-ordered scratch, then multiplied on tensor cores with fp32 accumulation into the float
// output (accumulating backward passes add into fp32 gradients). Bias adds and dbias sums stay
// fp32.
#include <limits>

#include "rlhf/backend/cuda/cublas.hpp"
#include "rlhf/backend/cuda/executor.cuh"
#include "rlhf/backend/cuda/stream_scratch.hpp"
#include "rlhf/backend/kernel_checks.hpp"
#include "rlhf/backend/portable/bias.hpp"
#include "rlhf/backend/portable/round.hpp"
#include "rlhf/core/tensor.hpp"
#include "rlhf/core/weight_layout.hpp"

namespace rlhf {

namespace cuda_detail {
// cuBLAS counts in int.
inline int blas_dim(std::string_view op, std::int64_t d) {
  if (d > std::numeric_limits<int>::max()) fail(op, ": dimension ", d, " exceeds cuBLAS's int range");
  return int(d);
}

// C = α op(A) op(B) + β C (cuBLAS's column-major terms) in the backend's precision. A and B are
// packed: op(A) is m × k, so A holds lda·k values untransposed and lda·m transposed.
template <class T>
void product(const cuda& be, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, T alpha, const T* a,
             int lda, const T* b, int ldb, T beta, T* c, int ldc) {
  const cublasHandle_t h = blas_handle(be);
  if constexpr (std::is_same_v<T, float>) {
    if (be.precision == MatmulPrecision::tf32)
      return gemm_ex(h, ta, tb, m, n, k, alpha, a, CUDA_R_32F, lda, b, CUDA_R_32F, ldb, beta, c, ldc,
                     CUBLAS_COMPUTE_32F_FAST_TF32);
    if (be.precision == MatmulPrecision::bf16) {
      const std::int64_t a_count = std::int64_t(lda) * (ta == CUBLAS_OP_N ? k : m);
      const std::int64_t b_count = std::int64_t(ldb) * (tb == CUBLAS_OP_N ? n : k);
      const StreamScratch<std::uint16_t> a16(std::size_t(a_count), be.stream), b16(std::size_t(b_count), be.stream);
      portable::to_bfloat16_bits(thrust_policy(be), a16.data(), a, a_count);
      portable::to_bfloat16_bits(thrust_policy(be), b16.data(), b, b_count);
      after_kernel(be, "matmul (bf16 operands)");
      return gemm_ex(h, ta, tb, m, n, k, alpha, a16.data(), CUDA_R_16BF, lda, b16.data(), CUDA_R_16BF, ldb, beta, c,
                     ldc, CUBLAS_COMPUTE_32F);
    }
  }
  gemm(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
}  // namespace cuda_detail

template <class T>
void matmul_forward(const cuda& be, View<T, cuda> out, In<T, cuda> a, In<T, cuda> w, In<T, cuda> bias,
                    WeightLayout layout) {
  constexpr std::string_view op = "matmul_forward";
  check::matmul(op, a, w, layout, "out", out);
  const std::int64_t N = out.size(out.rank() - 1), K = a.size(a.rank() - 1), M = N ? out.numel() / N : 0;
  check::optional_shape(op, "bias", bias, Shape{N});
  check::matmul_precision<T>(op, be.precision);
  if (M == 0 || N == 0) return;
  if (bias.present()) {
    portable::broadcast_rows(thrust_policy(be), out.data(), bias.data(), M, N);
    after_kernel(be, "matmul_forward (bias)");
  }
  if (K == 0) {
    if (!bias.present()) be.fill_zero(out.data(), std::size_t(out.numel()) * sizeof(T));
    return;
  }
  const int m = cuda_detail::blas_dim(op, N), n = cuda_detail::blas_dim(op, M), k = cuda_detail::blas_dim(op, K);
  const bool in_out = layout == WeightLayout::in_out;
  // out^T [N, M] = op(W) [N, K] · a^T [K, M]
  cuda_detail::product(be, in_out ? CUBLAS_OP_N : CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, T(1), w.data(), in_out ? m : k,
                       a.data(), k, bias.present() ? T(1) : T(0), out.data(), m);
}

template <class T>
void matmul_backward(const cuda& be, View<T, cuda> da, View<T, cuda> dw, View<T, cuda> dbias, In<T, cuda> dout,
                     In<T, cuda> a, In<T, cuda> w, WeightLayout layout) {
  constexpr std::string_view op = "matmul_backward";
  check::matmul(op, a, w, layout, "dout", dout);
  check::optional_shape(op, "da", da, a.shape());
  check::optional_shape(op, "dw", dw, w.shape());
  check::optional_shape(op, "dbias", dbias, Shape{dout.size(dout.rank() - 1)});
  check::matmul_precision<T>(op, be.precision);
  const std::int64_t N = dout.size(dout.rank() - 1), K = a.size(a.rank() - 1), M = N ? dout.numel() / N : 0;
  if (M == 0 || N == 0) return;
  const bool in_out = layout == WeightLayout::in_out;
  const int m = cuda_detail::blas_dim(op, M), n = cuda_detail::blas_dim(op, N), k = cuda_detail::blas_dim(op, K);
  if (K > 0 && da.present()) {
    // da^T [K, M] += op(W) [K, N] · dout^T [N, M]; op(W) = W^T for in_out (W^T is W's stored form)
    cuda_detail::product(be, in_out ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, k, m, n, T(1), w.data(), in_out ? n : k,
                         dout.data(), n, T(1), da.data(), k);
  }
  if (K > 0 && dw.present()) {
    if (in_out)  // dW^T [N, K] += dout^T [N, M] · a [M, K]
      cuda_detail::product(be, CUBLAS_OP_N, CUBLAS_OP_T, n, k, m, T(1), dout.data(), n, a.data(), k, T(1), dw.data(),
                           n);
    else  // dW^T [K, N] += a^T [K, M] · dout [M, N]
      cuda_detail::product(be, CUBLAS_OP_N, CUBLAS_OP_T, k, n, m, T(1), a.data(), k, dout.data(), n, T(1), dw.data(),
                           k);
  }
  if (dbias.present()) {
    portable::add_column_sums(thrust_policy(be), dbias.data(), dout.data(), M, N);
    after_kernel(be, "matmul_backward (bias)");
  }
}

}  // namespace rlhf
