#pragma once
// The CUDA backend: the rlhf::cuda tag (device memory, copies, error checks) and, compiled by
// nvcc, its kernels. Needs the CUDA runtime (the CMake target rlhf::rlhf links it when built with
// RLHF_ENABLE_CUDA). This version has the elementwise kernels (GELU, residual, AdamW) and the
// Philox fills; the models need the rest (matmul, LayerNorm, attention, ...) and run on the CPU
// backend.
#include "rlhf/backend/cuda/tag.hpp"
#if defined(__CUDACC__)
#include "rlhf/backend/cuda/elementwise.cuh"
#include "rlhf/backend/cuda/random.cuh"
#endif
