// The CUDA backend's attention (backend/cuda/attention.cuh) on the GPU against the same functors
// run on the host (thrust::host), whose agreement with the CPU backend's kernels tests/portable
// checks: causal attention with a left-padded key mask at GPT-2's head size, forward and
// backward, and attention over a KV cache through prefill and decoding steps; float and double;
// and the CPU kernels' shape errors.
#include <doctest/doctest.h>

#include <thrust/execution_policy.h>

#include <string>
#include <vector>

#include "../portable/compare.hpp"
#include "../unit/error_of.hpp"
#include "rlhf/backend/cuda.hpp"
#include "rlhf/core/tensor.hpp"

namespace test_cuda_attention {

using gpu = rlhf::cuda;  // libcu++ declares a global namespace `cuda`
using rlhf::Shape;
using rlhf::Tensor;

namespace {

constexpr std::int64_t B = 4, Tn = 129, H = 3, D = 64, C = H * D;

template <class T>
std::vector<T> left_padded_mask(std::int64_t T_) {
  std::vector<T> m(static_cast<std::size_t>(B * T_), T(1));
  for (std::int64_t t = 0; t < 5; ++t) m[std::size_t(T_ + t)] = T(0);  // row 1: five pads
  return m;
}

}  // namespace

TEST_CASE_TEMPLATE("cuda attention forward and backward equal the host's", T, float, double) {
  const std::vector<T> qkv = compare::normal<T>(1, 1.0, B * Tn * 3 * C), mask = left_padded_mask<T>(Tn),
                       dout = compare::normal<T>(2, 1.0, B * Tn * C), d0 = compare::normal<T>(3, 1.0, B * Tn * 3 * C);
  const rlhf::portable::AttentionDims d{B, Tn, C, H, D};
  std::vector<T> out(std::size_t(B * Tn * C)), att(std::size_t(B * H * Tn * Tn)), datt = att, dqkv = d0;
  rlhf::portable::attention_forward(thrust::host, out.data(), att.data(), qkv.data(), mask.data(), d);
  rlhf::portable::attention_backward(thrust::host, dqkv.data(), datt.data(), dout.data(), qkv.data(), att.data(), d);

  const Shape qs{B, Tn, 3 * C}, os{B, Tn, C}, as{B, H, Tn, Tn};
  const Tensor<T, gpu> qd = compare::tensor<gpu>(qs, qkv), md = compare::tensor<gpu>(Shape{B, Tn}, mask), gd = compare::tensor<gpu>(os, dout);
  Tensor<T, gpu> o(os), a(as), da(as), dq = compare::tensor<gpu>(qs, d0);
  rlhf::attention_forward(gpu{}, o.view(), a.view(), qd.cview(), md.cview(), H);
  rlhf::attention_backward(gpu{}, dq.view(), da.view(), gd.cview(), qd.cview(), a.cview(), H);
  CHECK(compare::max_rel_error(o.to_vector(), out) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(a.to_vector(), att) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(dq.to_vector(), dqkv) <= compare::tolerance<T>());
}

TEST_CASE_TEMPLATE("cuda attention over a KV cache equals the host's, prefill and decoding", T, float, double) {
  constexpr std::int64_t Tmax = 48, prompt = 40;
  const std::vector<T> mask = left_padded_mask<T>(Tmax);
  const Tensor<T, gpu> md = compare::tensor<gpu>(Shape{B, Tmax}, mask);
  Tensor<T, gpu> kd(Shape{B, H, Tmax, D}), vd(Shape{B, H, Tmax, D});
  std::vector<T> k(std::size_t(B * H * Tmax * D), T(0)), v = k;
  std::int64_t past = 0;
  for (const std::int64_t n : {prompt, std::int64_t{1}, std::int64_t{1}}) {
    CAPTURE(past);
    const std::vector<T> qkv = compare::normal<T>(10 + std::uint64_t(past), 1.0, B * n * 3 * C);
    std::vector<T> out(std::size_t(B * n * C));
    rlhf::portable::attention_kv_forward(thrust::host, out.data(), k.data(), v.data(), mask.data(), qkv.data(),
                                         rlhf::portable::KvDims{B, n, C, H, D, Tmax, past});
    const Tensor<T, gpu> qd = compare::tensor<gpu>(Shape{B, n, 3 * C}, qkv);
    Tensor<T, gpu> o(Shape{B, n, C});
    rlhf::attention_kv_forward(gpu{}, o.view(), kd.view(), vd.view(), md.cview(), qd.cview(), past, H);
    CHECK(compare::max_rel_error(o.to_vector(), out) <= compare::tolerance<T>());
    past += n;
  }
  CHECK(kd.to_vector() == k);
  CHECK(vd.to_vector() == v);
}

TEST_CASE("cuda attention checks shapes like the CPU kernels") {
  const Tensor<float, gpu> qkv(Shape{2, 4, 12});
  Tensor<float, gpu> out(Shape{2, 4, 4}), att(Shape{2, 2, 4, 4});
  CHECK(testing::error_of([&] { rlhf::attention_forward(gpu{}, out.view(), att.view(), qkv.cview(), {}, 3); }) ==
        "attention_forward: 3 heads do not divide C = 4 (qkv [2, 4, 12])");
}

}  // namespace test_cuda_attention
