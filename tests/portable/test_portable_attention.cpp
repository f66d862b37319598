// The CUDA backend's attention (backend/portable/attention.hpp) run by Thrust's OpenMP system
// against the CPU backend's kernels, float and double: causal attention with a left-padded key
// mask (a query with no valid key included), forward and backward accumulating into dqkv; its
// backward against finite differences in double; and attention over a KV cache, prefill then
// decoding steps, against the CPU's.
#include <doctest/doctest.h>

#include <thrust/execution_policy.h>

#include <vector>

#include "compare.hpp"
#include "rlhf/backend/cpu.hpp"
#include "rlhf/backend/portable/attention.hpp"
#include "rlhf/core/tensor.hpp"

using rlhf::cpu;
using rlhf::Shape;
using rlhf::Tensor;

namespace {

constexpr std::int64_t B = 3, Tn = 11, H = 2, D = 5, C = H * D;

// Row 1 left-padded by 3 (its first three queries see no valid key), row 2 with a hole.
template <class T>
std::vector<T> key_mask() {
  std::vector<T> m(static_cast<std::size_t>(B * Tn), T(1));
  for (int t = 0; t < 3; ++t) m[std::size_t(Tn + t)] = T(0);
  m[std::size_t(2 * Tn + 4)] = T(0);
  return m;
}

}  // namespace

TEST_CASE_TEMPLATE("portable attention forward and backward equal the CPU kernels", T, float, double) {
  const std::vector<T> qkv = compare::normal<T>(1, 1.0, B * Tn * 3 * C), mask = key_mask<T>(),
                       dout = compare::normal<T>(2, 1.0, B * Tn * C), d0 = compare::normal<T>(3, 1.0, B * Tn * 3 * C);
  const Shape qs{B, Tn, 3 * C}, os{B, Tn, C}, as{B, H, Tn, Tn};
  const Tensor<T, cpu> qt = compare::tensor<cpu>(qs, qkv), mt = compare::tensor<cpu>(Shape{B, Tn}, mask), dt = compare::tensor<cpu>(os, dout);
  Tensor<T, cpu> out(os), att(as), datt(as), dqkv = compare::tensor<cpu>(qs, d0);
  rlhf::attention_forward(cpu{}, out.view(), att.view(), qt.cview(), mt.cview(), H);
  rlhf::attention_backward(cpu{}, dqkv.view(), datt.view(), dt.cview(), qt.cview(), att.cview(), H);

  const rlhf::portable::AttentionDims d{B, Tn, C, H, D};
  std::vector<T> p_out(out.to_vector().size(), T(7)), p_att(att.to_vector().size(), T(7)), p_datt = p_att, p_dqkv = d0;
  rlhf::portable::attention_forward(thrust::device, p_out.data(), p_att.data(), qkv.data(), mask.data(), d);
  rlhf::portable::attention_backward(thrust::device, p_dqkv.data(), p_datt.data(), dout.data(), qkv.data(),
                                     p_att.data(), d);
  CHECK(compare::max_rel_error(p_out, out.to_vector()) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(p_att, att.to_vector()) <= compare::tolerance<T>());  // zeros above the diagonal too
  CHECK(compare::max_rel_error(p_dqkv, dqkv.to_vector()) <= compare::tolerance<T>());
  for (std::int64_t i = 0; i < 3; ++i)  // pad queries of row 1: zero output, no NaN
    for (std::int64_t c = 0; c < C; ++c) CHECK(p_out[std::size_t((Tn + i) * C + c)] == T(0));

  // Without a mask.
  rlhf::attention_forward(cpu{}, out.view(), att.view(), qt.cview(), {}, H);
  rlhf::portable::attention_forward(thrust::device, p_out.data(), p_att.data(), qkv.data(),
                                    static_cast<const T*>(nullptr), d);
  CHECK(compare::max_rel_error(p_out, out.to_vector()) <= compare::tolerance<T>());
}

TEST_CASE("portable attention backward against finite differences (double)") {
  std::vector<double> qkv = compare::normal<double>(4, 1.0, B * Tn * 3 * C);
  const std::vector<double> mask = key_mask<double>(), r = compare::normal<double>(5, 1.0, B * Tn * C);
  const rlhf::portable::AttentionDims d{B, Tn, C, H, D};
  std::vector<double> out(std::size_t(B * Tn * C)), att(std::size_t(B * H * Tn * Tn)), datt = att;
  const auto loss = [&] {
    rlhf::portable::attention_forward(thrust::device, out.data(), att.data(), qkv.data(), mask.data(), d);
    double s = 0;
    for (std::size_t i = 0; i < out.size(); ++i) s += r[i] * out[i];
    return s;
  };
  loss();
  std::vector<double> dqkv(qkv.size(), 0.0);
  rlhf::portable::attention_backward(thrust::device, dqkv.data(), datt.data(), r.data(), qkv.data(), att.data(), d);
  compare::check_gradient(qkv, loss, dqkv, 3, 1e-8);
}

TEST_CASE_TEMPLATE("portable attention over a KV cache equals the CPU kernel, prefill and decoding", T, float, double) {
  constexpr std::int64_t Tmax = 16, prompt = 9;
  const std::vector<T> mask_all = [] {
    std::vector<T> m(static_cast<std::size_t>(B * Tmax), T(1));
    m[std::size_t(Tmax + 0)] = m[std::size_t(Tmax + 1)] = T(0);  // row 1 left-padded
    return m;
  }();
  const Tensor<T, cpu> mt = compare::tensor<cpu>(Shape{B, Tmax}, mask_all);
  Tensor<T, cpu> k_cache(Shape{B, H, Tmax, D}), v_cache(Shape{B, H, Tmax, D});
  std::vector<T> p_k(std::size_t(B * H * Tmax * D), T(0)), p_v = p_k;
  std::int64_t past = 0;
  for (const std::int64_t n : {prompt, std::int64_t{1}, std::int64_t{1}, std::int64_t{1}}) {
    CAPTURE(past);
    const std::vector<T> qkv = compare::normal<T>(10 + std::uint64_t(past), 1.0, B * n * 3 * C);
    const Tensor<T, cpu> qt = compare::tensor<cpu>(Shape{B, n, 3 * C}, qkv);
    Tensor<T, cpu> out(Shape{B, n, C});
    rlhf::attention_kv_forward(cpu{}, out.view(), k_cache.view(), v_cache.view(), mt.cview(), qt.cview(), past, H);
    std::vector<T> p_out(std::size_t(B * n * C), T(7));
    rlhf::portable::attention_kv_forward(thrust::device, p_out.data(), p_k.data(), p_v.data(), mask_all.data(),
                                         qkv.data(), rlhf::portable::KvDims{B, n, C, H, D, Tmax, past});
    CHECK(compare::max_rel_error(p_out, out.to_vector()) <= compare::tolerance<T>());
    past += n;
  }
  CHECK(p_k == k_cache.to_vector());
  CHECK(p_v == v_cache.to_vector());
}
