#pragma once
// The CUDA backend: the rlhf::cuda tag (device memory, copies, error checks; the object carries
// its stream and matmul precision) and, compiled by nvcc, its kernels: matmul (cuBLAS, in fp32,
// tf32 or bf16), the elementwise ones (GELU, residual, AdamW, the gradient norm), the Philox
// fills, the row-wise ones (LayerNorm, softmax, cross-entropy, log-probs, entropy), embedding,
// attention with and without a KV cache, and sampling, all but matmul the Thrust kernels of
// backend/thrust run on the backend's stream (cuda/executor.cuh). Needs the CUDA runtime (the CMake target
// rlhf::rlhf links it, with cuBLAS, when built with RLHF_ENABLE_CUDA). The models, trainers,
// generation and the pipeline compile for it from the same headers as for the CPU.
#include "rlhf/backend/cuda/parallel.hpp"
#include "rlhf/backend/cuda/tag.hpp"
#if defined(__CUDACC__)
#include "rlhf/backend/cuda/executor.cuh"
#include "rlhf/backend/cuda/matmul.cuh"
#include "rlhf/backend/thrust/attention.hpp"
#include "rlhf/backend/thrust/elementwise.hpp"
#include "rlhf/backend/thrust/embedding.hpp"
#include "rlhf/backend/thrust/random.hpp"
#include "rlhf/backend/thrust/rows.hpp"
#include "rlhf/backend/thrust/sample.hpp"
#endif
