// The CUDA backend's elementwise kernels (backend/cuda/elementwise.cuh) on the GPU against the
// same functors run on the host (thrust::host), whose agreement with the CPU backend's kernels
// tests/portable checks: GELU forward and backward, the residual connection, AdamW; float and
// double; and the shape errors the CPU kernels give.
#include <doctest/doctest.h>

#include <thrust/execution_policy.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "rlhf/backend/cpu/tag.hpp"
#include "../unit/error_of.hpp"
#include "rlhf/backend/cuda.hpp"
#include "../portable/compare.hpp"
#include "rlhf/core/philox.hpp"
#include "rlhf/core/tensor.hpp"

namespace test_cuda_elementwise {

using rlhf::cpu;
// libcu++ (included with Thrust by backend/cuda.hpp under nvcc) declares a global namespace
// `cuda`, so the tag goes by another name here.
using gpu = rlhf::cuda;
using rlhf::Shape;
using rlhf::Tensor;

namespace {

constexpr std::int64_t n = 100003;

}  // namespace

TEST_CASE_TEMPLATE("cuda gelu forward and backward equal the host's", T, float, double) {
  const std::vector<T> x = compare::normal<T>(1, 3.0, n), dout = compare::normal<T>(2, 1.0, n), dx0 = compare::normal<T>(3, 1.0, n);
  std::vector<T> out(x.size()), dx = dx0;
  rlhf::portable::gelu_forward(thrust::host, out.data(), x.data(), n);
  rlhf::portable::gelu_backward(thrust::host, dx.data(), dout.data(), x.data(), n);
  const Tensor<T, gpu> xd = compare::tensor<gpu>(x), dd = compare::tensor<gpu>(dout);
  Tensor<T, gpu> outd(Shape{n}), dxd = compare::tensor<gpu>(dx0);
  rlhf::gelu_forward(gpu{}, outd.view(), xd.cview());
  rlhf::gelu_backward(gpu{}, dxd.view(), dd.cview(), xd.cview());
  CHECK(compare::max_rel_error(outd.to_vector(), out) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(dxd.to_vector(), dx) <= compare::tolerance<T>());
}

TEST_CASE_TEMPLATE("cuda residual forward and backward", T, float, double) {
  const std::vector<T> a = compare::normal<T>(4, 1.0, n), b = compare::normal<T>(5, 1.0, n), d0 = compare::normal<T>(6, 1.0, n);
  const Tensor<T, gpu> ad = compare::tensor<gpu>(a), bd = compare::tensor<gpu>(b);
  Tensor<T, gpu> out(Shape{n}), da = compare::tensor<gpu>(d0), db = compare::tensor<gpu>(d0);
  rlhf::residual_forward(gpu{}, out.view(), ad.cview(), bd.cview());
  rlhf::residual_backward(gpu{}, da.view(), db.view(), bd.cview());
  const std::vector<T> o = out.to_vector(), gda = da.to_vector(), gdb = db.to_vector();
  for (std::size_t i = 0; i < a.size(); i += 101) {
    CHECK(o[i] == a[i] + b[i]);
    CHECK(gda[i] == d0[i] + b[i]);
    CHECK(gdb[i] == d0[i] + b[i]);
  }
}

TEST_CASE_TEMPLATE("cuda AdamW steps equal the host's", T, float, double) {
  std::vector<T> p = compare::normal<T>(7, 1.0, n), m(p.size(), T(0)), v(p.size(), T(0));
  Tensor<T, gpu> pd = compare::tensor<gpu>(p), md(Shape{n}), vd(Shape{n});
  for (int t = 1; t <= 3; ++t) {
    const std::vector<T> g = compare::normal<T>(8 + std::uint64_t(t), 0.5, n);
    const Tensor<T, gpu> gd = compare::tensor<gpu>(g);
    const rlhf::AdamWStep s{1e-2, 0.9, 0.95, 1e-8, 0.1, 1 - std::pow(0.9, t), 1 - std::pow(0.95, t)};
    rlhf::portable::adamw_update(thrust::host, p.data(), g.data(), m.data(), v.data(), n, s);
    rlhf::adamw_update(gpu{}, pd.view(), gd.cview(), md.view(), vd.view(), s);
  }
  CHECK(compare::max_rel_error(pd.to_vector(), p) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(md.to_vector(), m) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(vd.to_vector(), v) <= compare::tolerance<T>());
}

TEST_CASE("cuda elementwise kernels check shapes like the CPU kernels") {
  Tensor<float, gpu> a(Shape{3, 4}), b(Shape{4, 3});
  CHECK(testing::error_of([&] { rlhf::gelu_forward(gpu{}, a.view(), b.cview()); }) ==
        "gelu_forward: out [3, 4] and x [4, 3] must have the same shape");
}

}  // namespace test_cuda_elementwise
