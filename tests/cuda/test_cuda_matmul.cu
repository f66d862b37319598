// The CUDA backend's matmul (backend/cuda/matmul.cuh, cuBLAS) against products summed in double
// on the host, in both weight layouts, with and without a bias, float and double: forward, and
// backward accumulating into non-zero gradients; a rank-3 input; the CPU kernel's shape errors.
// In bf16 and tf32 precision, against double sums of the operands rounded as the CPU backend rounds them.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "../portable/compare.hpp"
#include "../unit/error_of.hpp"
#include "rlhf/backend/cuda.hpp"
#include "rlhf/core/tensor.hpp"

namespace test_cuda_matmul {

using gpu = rlhf::cuda;  // libcu++ declares a global namespace `cuda`
using rlhf::Shape;
using rlhf::Tensor;
using rlhf::WeightLayout;

namespace {

constexpr std::int64_t M = 257, K = 769, N = 383;

// W's element (k, n) of the logical [K, N] matrix in either stored layout.
template <class T>
T weight_at(const std::vector<T>& w, WeightLayout layout, std::int64_t k, std::int64_t n) {
  return layout == WeightLayout::in_out ? w[std::size_t(k * N + n)] : w[std::size_t(n * K + k)];
}

template <class T>
std::vector<T> reference_forward(const std::vector<T>& a, const std::vector<T>& w, const std::vector<T>* bias,
                                 WeightLayout layout) {
  std::vector<T> out(std::size_t(M * N));
  for (std::int64_t i = 0; i < M; ++i)
    for (std::int64_t j = 0; j < N; ++j) {
      double s = bias ? double((*bias)[std::size_t(j)]) : 0.0;
      for (std::int64_t k = 0; k < K; ++k) s += double(a[std::size_t(i * K + k)]) * double(weight_at(w, layout, k, j));
      out[std::size_t(i * N + j)] = T(s);
    }
  return out;
}

// da, dw and dbias added to da0, dw0 and db0, summed in double.
template <class T>
std::array<std::vector<T>, 3> reference_backward(const std::vector<T>& a, const std::vector<T>& w,
                                                 const std::vector<T>& dout, WeightLayout layout,
                                                 const std::vector<T>& da0, const std::vector<T>& dw0,
                                                 const std::vector<T>& db0) {
  std::vector<T> want_da = da0, want_dw = dw0, want_db = db0;
  for (std::int64_t i = 0; i < M; ++i)
    for (std::int64_t k = 0; k < K; ++k) {
      double s = 0;
      for (std::int64_t j = 0; j < N; ++j)
        s += double(dout[std::size_t(i * N + j)]) * double(weight_at(w, layout, k, j));
      want_da[std::size_t(i * K + k)] += T(s);
    }
  for (std::int64_t k = 0; k < K; ++k)
    for (std::int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (std::int64_t i = 0; i < M; ++i)
        s += double(a[std::size_t(i * K + k)]) * double(dout[std::size_t(i * N + j)]);
      want_dw[std::size_t(layout == WeightLayout::in_out ? k * N + j : j * K + k)] += T(s);
    }
  for (std::int64_t j = 0; j < N; ++j) {
    double s = 0;
    for (std::int64_t i = 0; i < M; ++i) s += double(dout[std::size_t(i * N + j)]);
    want_db[std::size_t(j)] += T(s);
  }
  return {want_da, want_dw, want_db};
}

// Tolerance for results of K-term sums compared with double sums.
template <class T>
double product_tolerance() {
  return std::is_same_v<T, float> ? 1e-5 : 1e-12;
}

}  // namespace

TEST_CASE_TEMPLATE("cuda matmul forward and backward against double sums, both layouts", T, float, double) {
  for (const WeightLayout layout : {WeightLayout::in_out, WeightLayout::out_in}) {
    CAPTURE(rlhf::to_string(layout));
    const Shape ws = layout == WeightLayout::in_out ? Shape{K, N} : Shape{N, K};
    const std::vector<T> a = compare::normal<T>(1, 1.0, M * K), w = compare::normal<T>(2, 1.0, K * N),
                         bias = compare::normal<T>(3, 1.0, N), dout = compare::normal<T>(4, 1.0, M * N),
                         da0 = compare::normal<T>(5, 1.0, M * K), dw0 = compare::normal<T>(6, 1.0, K * N),
                         db0 = compare::normal<T>(7, 1.0, N);
    const Tensor<T, gpu> ad = compare::tensor<gpu>(Shape{M, K}, a), wd = compare::tensor<gpu>(ws, w),
                         bd = compare::tensor<gpu>(Shape{N}, bias), gd = compare::tensor<gpu>(Shape{M, N}, dout);
    Tensor<T, gpu> out(Shape{M, N}), plain(Shape{M, N});
    rlhf::matmul_forward(gpu{}, out.view(), ad.cview(), wd.cview(), bd.cview(), layout);
    rlhf::matmul_forward(gpu{}, plain.view(), ad.cview(), wd.cview(), {}, layout);
    CHECK(compare::max_rel_error(out.to_vector(), reference_forward(a, w, &bias, layout)) <= product_tolerance<T>());
    CHECK(compare::max_rel_error(plain.to_vector(), reference_forward<T>(a, w, nullptr, layout)) <=
          product_tolerance<T>());

    Tensor<T, gpu> da = compare::tensor<gpu>(Shape{M, K}, da0), dw = compare::tensor<gpu>(ws, dw0),
                   db = compare::tensor<gpu>(Shape{N}, db0);
    rlhf::matmul_backward(gpu{}, da.view(), dw.view(), db.view(), gd.cview(), ad.cview(), wd.cview(), layout);
    const auto [want_da, want_dw, want_db] = reference_backward(a, w, dout, layout, da0, dw0, db0);
    CHECK(compare::max_rel_error(da.to_vector(), want_da) <= product_tolerance<T>());
    CHECK(compare::max_rel_error(dw.to_vector(), want_dw) <= product_tolerance<T>());
    CHECK(compare::max_rel_error(db.to_vector(), want_db) <= product_tolerance<T>());
  }
}

// bf16: the products of two bfloat16 values are exact in fp32, so against double sums of the
// rounded operands only the fp32 sums' rounding remains: fp32's tolerance. tf32: cuBLAS does not
// document how its tensor cores round to TF32, so double sums of round-to-nearest-even operands
// are matched within √K · 2^-10, what K products each off by TF32's ulp at random signs add up
// to (a wrong layout or operand is off by O(1)). dbias sums the unrounded dout in both.
TEST_CASE("cuda matmul in bf16 and tf32: products of rounded operands, fp32 sums, forward and backward") {
  for (const rlhf::MatmulPrecision p : {rlhf::MatmulPrecision::bf16, rlhf::MatmulPrecision::tf32}) {
    for (const WeightLayout layout : {WeightLayout::in_out, WeightLayout::out_in}) {
      CAPTURE(rlhf::name_of(p));
      CAPTURE(rlhf::to_string(layout));
      const double tolerance = p == rlhf::MatmulPrecision::bf16 ? 1e-5 : std::sqrt(double(K)) * std::ldexp(1.0, -10);
      const Shape ws = layout == WeightLayout::in_out ? Shape{K, N} : Shape{N, K};
      const std::vector<float> a = compare::normal<float>(11, 1.0, M * K), w = compare::normal<float>(12, 1.0, K * N),
                               bias = compare::normal<float>(13, 1.0, N), dout = compare::normal<float>(14, 1.0, M * N);
      auto rounded = [&](std::vector<float> v) {
        for (float& x : v) x = rlhf::round_operand(p, x);
        return v;
      };
      const std::vector<float> zeros_a(a.size(), 0.0f), zeros_w(w.size(), 0.0f), zeros_b(bias.size(), 0.0f);
      const std::vector<float> want_out = reference_forward(rounded(a), rounded(w), &bias, layout);
      const auto want = reference_backward(rounded(a), rounded(w), rounded(dout), layout, zeros_a, zeros_w, zeros_b);
      const auto exact = reference_backward(a, w, dout, layout, zeros_a, zeros_w, zeros_b);

      const gpu be{nullptr, p};
      const Tensor<float, gpu> ad = compare::tensor<gpu>(Shape{M, K}, a), wd = compare::tensor<gpu>(ws, w),
                               bd = compare::tensor<gpu>(Shape{N}, bias), gd = compare::tensor<gpu>(Shape{M, N}, dout);
      Tensor<float, gpu> out(Shape{M, N}), da(Shape{M, K}), dw(ws), db(Shape{N});
      rlhf::matmul_forward(be, out.view(), ad.cview(), wd.cview(), bd.cview(), layout);
      rlhf::matmul_backward(be, da.view(), dw.view(), db.view(), gd.cview(), ad.cview(), wd.cview(), layout);
      CHECK(compare::max_rel_error(out.to_vector(), want_out) <= tolerance);
      CHECK(compare::max_rel_error(da.to_vector(), want[0]) <= tolerance);
      CHECK(compare::max_rel_error(dw.to_vector(), want[1]) <= tolerance);
      CHECK(compare::max_rel_error(db.to_vector(), exact[2]) <= product_tolerance<float>());
    }
  }
}

TEST_CASE("cuda matmul flattens a rank-3 input and checks shapes like the CPU kernel") {
  const std::vector<float> a = compare::normal<float>(8, 1.0, 2 * 3 * 4), w = compare::normal<float>(9, 1.0, 4 * 5);
  const Tensor<float, gpu> ad = compare::tensor<gpu>(Shape{2, 3, 4}, a), wd = compare::tensor<gpu>(Shape{4, 5}, w);
  Tensor<float, gpu> out(Shape{2, 3, 5});
  rlhf::matmul_forward(gpu{}, out.view(), ad.cview(), wd.cview(), {}, WeightLayout::in_out);
  const std::vector<float> got = out.to_vector();
  for (std::int64_t i = 0; i < 6; ++i)
    for (std::int64_t j = 0; j < 5; ++j) {
      double s = 0;
      for (std::int64_t k = 0; k < 4; ++k) s += double(a[std::size_t(i * 4 + k)]) * double(w[std::size_t(k * 5 + j)]);
      CHECK(std::abs(double(got[std::size_t(i * 5 + j)]) - s) <= 1e-5 * std::max(1.0, std::abs(s)));
    }

  const Tensor<float, gpu> wrong(Shape{3, 5});
  CHECK(testing::error_of([&] {
          rlhf::matmul_forward(gpu{}, out.view(), ad.cview(), wrong.cview(), {}, WeightLayout::in_out);
        }) == "matmul_forward: a [2, 3, 4] and w [3, 5] (in_out) have different inner dimensions 4 and 3");
}

}  // namespace test_cuda_matmul
