#pragma once
// The thrust_omp backend (thrust_omp/tag.hpp): the CUDA backend's Thrust kernels (backend/thrust)
// on OpenMP threads in host memory, with the host's BLAS for the products. Needs Thrust's headers
// and OpenMP, no GPU: it is how the GPU's kernel code is tested on any machine.
#include "rlhf/backend/thrust_omp/matmul.hpp"
#include "rlhf/backend/thrust_omp/tag.hpp"
#include "rlhf/backend/thrust/attention.hpp"
#include "rlhf/backend/thrust/elementwise.hpp"
#include "rlhf/backend/thrust/embedding.hpp"
#include "rlhf/backend/thrust/random.hpp"
#include "rlhf/backend/thrust/rows.hpp"
#include "rlhf/backend/thrust/sample.hpp"
