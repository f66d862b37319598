#pragma once
// rlhf::cuda: device memory on an NVIDIA GPU. The backend object carries the CUDA stream its
// work runs on and the precision of its matrix products (backend/precision.hpp). Allocation and
// the static copies are the Backend concept's; the stream-ordered copies take the object.
// Every CUDA runtime failure throws rlhf::error naming the call and the status.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <string_view>

#include "rlhf/core/backend.hpp"
#include "rlhf/backend/precision.hpp"
#include "rlhf/core/error.hpp"

namespace rlhf {

namespace cuda_detail {
inline void check(cudaError_t status, const char* call) {
  if (status != cudaSuccess)
    fail("CUDA: ", call, " failed with ", cudaGetErrorName(status), ": ", cudaGetErrorString(status));
}
}  // namespace cuda_detail

#define RLHF_CUDA_CHECK(call) ::rlhf::cuda_detail::check((call), #call)

struct cuda {
  static constexpr std::string_view name = "cuda";
  static constexpr bool host_accessible = false;

  cudaStream_t stream = nullptr;  // the legacy default stream unless the user gives one
  MatmulPrecision precision = MatmulPrecision::fp32;

  static void* allocate(std::size_t bytes) {
    if (bytes == 0) return nullptr;
    void* p = nullptr;
    RLHF_CUDA_CHECK(cudaMalloc(&p, bytes));
    return p;
  }
  // Called from destructors, so it must not throw; a failed free leaves the error for the next
  // checked call to report.
  static void deallocate(void* p) { (void)cudaFree(p); }
  // The static operations (Tensor's zero fill, clone and to_vector; loading and staging) have no
  // stream to order them after: they wait for the whole device before and after, so they are
  // correct beside work on any stream, the user's non-blocking ones too. The models' and
  // trainers' hot paths use the stream-ordered forms below instead (copy_bytes etc.).
  static void copy(void* dst, const void* src, std::size_t bytes) {
    if (!bytes) return;
    RLHF_CUDA_CHECK(cudaDeviceSynchronize());
    RLHF_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice));
    RLHF_CUDA_CHECK(cudaDeviceSynchronize());
  }
  static void copy_from_host(void* dst, const void* src, std::size_t bytes) {
    if (!bytes) return;
    RLHF_CUDA_CHECK(cudaDeviceSynchronize());
    RLHF_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
    RLHF_CUDA_CHECK(cudaDeviceSynchronize());
  }
  static void copy_to_host(void* dst, const void* src, std::size_t bytes) {
    if (!bytes) return;
    RLHF_CUDA_CHECK(cudaDeviceSynchronize());
    RLHF_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
  }
  static void fill_zero(void* dst, std::size_t bytes) {
    if (!bytes) return;
    RLHF_CUDA_CHECK(cudaMemset(dst, 0, bytes));
    RLHF_CUDA_CHECK(cudaDeviceSynchronize());
  }

  // The number of usable devices; 0 (not an error) on a machine without a GPU or driver.
  static int device_count() {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      (void)cudaGetLastError();  // clear the sticky "no device / no driver" status
      return 0;
    }
    return n;
  }
};

static_assert(Backend<cuda>);

// Memory operations ordered on the backend object's stream, like its kernels
// (backend/contract.hpp). bytes_to_host returns once the host bytes are there; bytes_from_host
// may return before the device has them (the stream orders every later use), and the host
// buffer may be reused at once (CUDA stages pageable memory before returning).
inline void copy_bytes(const cuda& be, void* dst, const void* src, std::size_t bytes) {
  if (bytes) RLHF_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, be.stream));
}
inline void zero_bytes(const cuda& be, void* dst, std::size_t bytes) {
  if (bytes) RLHF_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, be.stream));
}
inline void bytes_to_host(const cuda& be, void* dst, const void* src, std::size_t bytes) {
  if (!bytes) return;
  RLHF_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, be.stream));
  RLHF_CUDA_CHECK(cudaStreamSynchronize(be.stream));
}
inline void bytes_from_host(const cuda& be, void* dst, const void* src, std::size_t bytes) {
  if (bytes) RLHF_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, be.stream));
}

}  // namespace rlhf
