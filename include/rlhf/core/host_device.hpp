#pragma once
// RLHF_HOST_DEVICE marks functions that run on the host and, compiled by nvcc, on the GPU (Philox,
// the portable kernels' functors). Elsewhere it is empty.
#if defined(__CUDACC__)
#define RLHF_HOST_DEVICE __host__ __device__
#else
#define RLHF_HOST_DEVICE
#endif
