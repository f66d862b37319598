#pragma once
// The CUDA backend: the rlhf::cuda tag (device memory, copies, error checks) and, compiled by
// nvcc, its kernels. Needs the CUDA runtime (the CMake target rlhf::rlhf links it when built with
// RLHF_ENABLE_CUDA, with cuBLAS). Kernels so far: matmul (cuBLAS), the elementwise ones (GELU,
// residual, AdamW), the Philox fills, the row-wise ones (LayerNorm, softmax, cross-entropy,
// log-probs, entropy), embedding, attention with and without a KV cache, and sampling. The
// models, trainers and generation do not compile for this backend yet: they run on the CPU.
#include "rlhf/backend/cuda/parallel.hpp"
#include "rlhf/backend/cuda/tag.hpp"
#if defined(__CUDACC__)
#include "rlhf/backend/cuda/attention.cuh"
#include "rlhf/backend/cuda/elementwise.cuh"
#include "rlhf/backend/cuda/embedding.cuh"
#include "rlhf/backend/cuda/matmul.cuh"
#include "rlhf/backend/cuda/random.cuh"
#include "rlhf/backend/cuda/rows.cuh"
#include "rlhf/backend/cuda/sample.cuh"
#endif
