#pragma once
// cuBLAS for the CUDA backend: a handle per host thread, bound to the backend's stream before
// each call, and failures as rlhf::error naming the call and the status.
#include <cublas_v2.h>

#include "rlhf/backend/cuda/tag.hpp"

namespace rlhf::cuda_detail {

inline void check_cublas(cublasStatus_t status, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS)
    fail("cuBLAS: ", call, " failed with ", cublasGetStatusName(status), ": ", cublasGetStatusString(status));
}

#define RLHF_CUBLAS_CHECK(call) ::rlhf::cuda_detail::check_cublas((call), #call)

// The calling thread's handle, created on first use, on the backend's stream. cuBLAS handles are
// not thread-safe, hence one per thread. It is never destroyed: at thread or program exit the
// CUDA context may already be gone, and destroying a handle then fails (PyTorch leaks its
// handles for the same reason).
inline cublasHandle_t blas_handle(const cuda& be) {
  thread_local cublasHandle_t handle = [] {
    cublasHandle_t h = nullptr;
    RLHF_CUBLAS_CHECK(cublasCreate(&h));
    // fp32 products stay exact fp32 (no TF32 down-conversion): the backends' parity depends on
    // it. tf32 and bf16 ask for tensor cores per call (gemm_ex's compute type).
    RLHF_CUBLAS_CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
    return h;
  }();
  RLHF_CUBLAS_CHECK(cublasSetStream(handle, be.stream));
  return handle;
}

// C = α op(A) op(B) + β C in cuBLAS's column-major terms, by element type.
inline void gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha,
                 const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  RLHF_CUBLAS_CHECK(cublasSgemm(h, ta, tb, m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc));
}
inline void gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, double alpha,
                 const double* a, int lda, const double* b, int ldb, double beta, double* c, int ldc) {
  RLHF_CUBLAS_CHECK(cublasDgemm(h, ta, tb, m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc));
}

// The same with operands of type a_type and b_type (CUDA_R_32F or CUDA_R_16BF), float C, and the
// compute type saying how they are multiplied (CUBLAS_COMPUTE_32F_FAST_TF32: TF32 tensor cores;
// CUBLAS_COMPUTE_32F: exact products, fp32 accumulation, tensor cores for bf16 operands).
inline void gemm_ex(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha,
                    const void* a, cudaDataType a_type, int lda, const void* b, cudaDataType b_type, int ldb,
                    float beta, float* c, int ldc, cublasComputeType_t compute) {
  RLHF_CUBLAS_CHECK(cublasGemmEx(h, ta, tb, m, n, k, &alpha, a, a_type, lda, b, b_type, ldb, &beta, c, CUDA_R_32F, ldc,
                                 compute, CUBLAS_GEMM_DEFAULT));
}

}  // namespace rlhf::cuda_detail
