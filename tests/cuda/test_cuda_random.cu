// Philox on the GPU: the CUDA backend's fills (backend/cuda/random.cuh) against the host's draws
// of the same stream. The layout promises the same numbers on every backend, so the check is
// equality, not a tolerance: a device libm that rounds log, sin or cos differently from the
// host's shows up here.
#include <doctest/doctest.h>

#include <vector>

#include "rlhf/backend/cuda.hpp"
#include "rlhf/core/philox.hpp"
#include "rlhf/core/tensor.hpp"

namespace test_cuda_random {

// libcu++ declares a global namespace `cuda`, so the tag goes by another name here.
using gpu = rlhf::cuda;
using rlhf::Shape;
using rlhf::Tensor;

TEST_CASE_TEMPLATE("cuda Philox fills equal the host's draws", T, float, double) {
  const std::int64_t n = 100003;
  const rlhf::PhiloxStream rng{0x1234'5678'9ABCull, 42};
  const std::uint64_t offset = 3;
  Tensor<T, gpu> normal(Shape{n}), uniform(Shape{n}), constant(Shape{n});
  rlhf::fill_normal(gpu{}, normal.view(), rng, offset, T(0.5), T(0.02));
  rlhf::fill_uniform(gpu{}, uniform.view(), rng, offset, T(-1), T(2));
  rlhf::fill_constant(gpu{}, constant.view(), T(0.25));
  const std::vector<T> dn = normal.to_vector(), du = uniform.to_vector(), dc = constant.to_vector();
  std::int64_t normal_mismatches = 0, uniform_mismatches = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    normal_mismatches += dn[std::size_t(i)] != T(0.5) + T(0.02) * static_cast<T>(rng.normal(offset + std::uint64_t(i)));
    uniform_mismatches += du[std::size_t(i)] != T(-1) + T(3) * static_cast<T>(rng.uniform(offset + std::uint64_t(i)));
    if (dc[std::size_t(i)] != T(0.25)) FAIL("fill_constant wrote ", dc[std::size_t(i)], " at ", i);
  }
  CHECK(normal_mismatches == 0);
  CHECK(uniform_mismatches == 0);
}

}  // namespace test_cuda_random
