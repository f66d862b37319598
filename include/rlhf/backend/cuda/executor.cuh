#pragma once
// How the CUDA backend runs the Thrust kernels of backend/thrust (the ThrustExecuted concept,
// thrust/executor.hpp): on the backend object's stream, with no synchronization Thrust can skip,
// temporary storage from the stream-ordered pool, and a launch check after each kernel so that
// an error names it. (nvcc only.)
#include <thrust/system/cuda/execution_policy.h>

#include <cstddef>

#include "rlhf/backend/cuda/stream_scratch.hpp"
#include "rlhf/backend/cuda/tag.hpp"
#include "rlhf/backend/thrust/executor.hpp"

namespace rlhf {

inline auto thrust_policy(const cuda& be) {
  return thrust::cuda::par_nosync(cuda_detail::StreamAllocator{be.stream}).on(be.stream);
}
// Launch failures surface at the next CUDA call; ask now.
inline void after_kernel(const cuda&, const char* kernel) { cuda_detail::check(cudaPeekAtLastError(), kernel); }

template <class T>
cuda_detail::StreamScratch<T> kernel_scratch(const cuda& be, std::size_t count) {
  return cuda_detail::StreamScratch<T>(count, be.stream);
}

static_assert(ThrustExecuted<cuda>);

}  // namespace rlhf
