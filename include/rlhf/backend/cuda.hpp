#pragma once
// The CUDA backend: the rlhf::cuda tag (device memory, copies, error checks; the object carries
// its stream and matmul precision) and, compiled by nvcc, its kernels: matmul (cuBLAS, in fp32,
// tf32 or bf16), the elementwise ones (GELU, residual, AdamW, the gradient norm), the Philox
// fills, the row-wise ones (LayerNorm, softmax, cross-entropy, log-probs, entropy), embedding,
// attention with and without a KV cache, and sampling. Needs the CUDA runtime (the CMake target
// rlhf::rlhf links it, with cuBLAS, when built with RLHF_ENABLE_CUDA). The models, trainers,
// generation and the pipeline compile for it from the same headers as for the CPU.
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
