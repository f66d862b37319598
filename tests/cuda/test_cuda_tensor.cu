// Tensors in device memory: allocation, explicit moves between backends, and CUDA errors as
// rlhf::error.
#include <doctest/doctest.h>

#include <vector>

#include "rlhf/backend/cpu/tag.hpp"
#include "rlhf/backend/cuda.hpp"
#include "rlhf/core/tensor.hpp"

namespace test_cuda_tensor {

using rlhf::cpu;
// libcu++ (included with Thrust by backend/cuda.hpp under nvcc) declares a global namespace
// `cuda`, so the tag goes by another name here.
using gpu = rlhf::cuda;
using rlhf::Tensor;

static_assert(!gpu::host_accessible);
static_assert(!std::is_convertible_v<rlhf::View<float, gpu>, rlhf::View<float, cpu>>,
              "a device view must not pass for a host view");

TEST_CASE("cuda tensors are zero-filled and round-trip through the host") {
  Tensor<float, gpu> z({3, 5});
  for (float v : z.to_vector()) CHECK(v == 0.0f);

  Tensor<float, cpu> host({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor<float, gpu> dev = rlhf::to<gpu>(host);
  CHECK(dev.shape() == host.shape());
  Tensor<float, gpu> copy = dev.clone();
  Tensor<float, cpu> back = rlhf::to<cpu>(copy);
  CHECK(back.to_vector() == host.to_vector());

  Tensor<double, gpu> from_values({2}, {0.5, -1.5});
  CHECK(from_values.to_vector() == std::vector<double>{0.5, -1.5});
}

TEST_CASE("cuda runtime failures throw rlhf::error naming the call") {
  CHECK_THROWS_AS(gpu::allocate(std::size_t(1) << 62), rlhf::error);
  (void)cudaGetLastError();
}

}  // namespace test_cuda_tensor
