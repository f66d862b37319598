// The CUDA kernel tests as one translation unit: nvcc spends most of each file's time on the
// same headers (Thrust, the kernels), and CMake 3.25 has no unity builds for CUDA. Each test file
// keeps its names in a namespace named after the file.
#include "test_cuda_matmul.cu"
#include "test_cuda_ops.cu"
#include "test_cuda_tensor.cu"
