#pragma once
// Scratch device memory for the length of one kernel call, from CUDA's stream-ordered allocator
// (cudaMallocAsync): allocated and freed in the order of the backend's stream, so work queued
// before the free still sees it, and served from the device's memory pool, which is kept (its
// release threshold raised once per device) so that a call in a training or generation loop
// reuses memory instead of asking the driver for more. The bf16 matmul's operands, the sampler's
// sort keys and Thrust's own temporary storage (StreamAllocator: reductions, searches, sorts)
// live here, so no kernel call synchronizes the device through cudaMalloc or cudaFree.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <limits>

#include "rlhf/backend/cuda/tag.hpp"

namespace rlhf::cuda_detail {

inline void keep_pool_memory() {
  thread_local int kept_for = -1;  // the device this thread last configured
  int device = 0;
  RLHF_CUDA_CHECK(cudaGetDevice(&device));
  if (device == kept_for) return;
  cudaMemPool_t pool = nullptr;
  RLHF_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
  std::uint64_t threshold = std::numeric_limits<std::uint64_t>::max();
  RLHF_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
  kept_for = device;
}

template <class T>
class StreamScratch {
 public:
  StreamScratch(std::size_t count, cudaStream_t stream) : stream_(stream) {
    if (count == 0) return;
    keep_pool_memory();
    void* p = nullptr;
    RLHF_CUDA_CHECK(cudaMallocAsync(&p, count * sizeof(T), stream_));
    data_ = static_cast<T*>(p);
  }
  ~StreamScratch() {
    if (data_) (void)cudaFreeAsync(data_, stream_);  // no throwing from a destructor
  }
  StreamScratch(const StreamScratch&) = delete;
  StreamScratch& operator=(const StreamScratch&) = delete;

  T* data() const { return data_; }

 private:
  T* data_ = nullptr;
  cudaStream_t stream_;
};

// Thrust's temporary-storage allocator for the backend's execution policy (elementwise.cuh's
// on_stream): bytes from the same pool, in the order of the stream.
struct StreamAllocator {
  using value_type = char;
  cudaStream_t stream = nullptr;

  char* allocate(std::ptrdiff_t bytes) {
    keep_pool_memory();
    void* p = nullptr;
    RLHF_CUDA_CHECK(cudaMallocAsync(&p, static_cast<std::size_t>(bytes), stream));
    return static_cast<char*>(p);
  }
  void deallocate(char* p, std::size_t) { (void)cudaFreeAsync(p, stream); }
};

}  // namespace rlhf::cuda_detail
