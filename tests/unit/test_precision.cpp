// Reduced-precision matrix products (backend/precision.hpp): the bfloat16 and TF32 rounding by
// hand values (ties to even, carries, overflow, NaN), and the CPU backend's tf32/bf16 matmul
// forward and backward against products of the rounded operands summed in double.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "error_of.hpp"
#include "below_training.hpp"

namespace test_precision {

using testing::error_of;

using rlhf::cpu;
using rlhf::MatmulPrecision;
using rlhf::Shape;
using rlhf::Tensor;
using rlhf::View;
using rlhf::WeightLayout;

namespace {

Tensor<float, cpu> randn(Shape shape, std::uint64_t seed) {
  Tensor<float, cpu> t(shape);
  rlhf::fill_normal(cpu{}, t.view(), rlhf::PhiloxStream{seed, 0}, 0, 0.0f, 1.0f);
  return t;
}

// ‖x − ref‖∞ / ‖ref‖∞
double rel_error(const Tensor<float, cpu>& x, const std::vector<double>& ref) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    diff = std::max(diff, std::abs(double(x.data()[i]) - ref[i]));
    scale = std::max(scale, std::abs(ref[i]));
  }
  return diff / scale;
}

// Element (r, c) of a row-major matrix with `cols` columns, rounded as precision p's operand.
double at(const Tensor<float, cpu>& m, std::int64_t r, std::int64_t c, std::int64_t cols, MatmulPrecision p) {
  return double(rlhf::round_operand(p, m.data()[r * cols + c]));
}

}  // namespace

TEST_CASE("bfloat16 rounding: to nearest, ties to even, by hand") {
  using rlhf::round_to_bfloat16;
  const float ulp = std::ldexp(1.0f, -7);  // bfloat16 keeps 7 mantissa bits
  CHECK(round_to_bfloat16(1.0f) == 1.0f);
  CHECK(round_to_bfloat16(1.0f + ulp / 2) == 1.0f);                                // tie, even below
  CHECK(round_to_bfloat16(1.0f + 3 * ulp / 2) == 1.0f + 2 * ulp);                  // tie, even above
  CHECK(round_to_bfloat16(1.0f + ulp / 2 + std::ldexp(1.0f, -20)) == 1.0f + ulp);  // just past the tie
  CHECK(round_to_bfloat16(-(1.0f + 3 * ulp / 2)) == -(1.0f + 2 * ulp));
  CHECK(round_to_bfloat16(2.0f - ulp / 4) == 2.0f);  // carry into the exponent
  CHECK(rlhf::bfloat16_bits(1.0f) == 0x3F80);
  CHECK(rlhf::bfloat16_bits(-2.0f) == 0xC000);
  CHECK(rlhf::bfloat16_bits(3.14159265f) == 0x4049);  // 0x40490FDB: the dropped half is below a tie
  CHECK(rlhf::io::bfloat16_to_float(rlhf::bfloat16_bits(3.14159265f)) == 3.140625f);
  // float's largest value is past the midpoint of bfloat16's largest and 2^128: infinity.
  CHECK(round_to_bfloat16(std::numeric_limits<float>::max()) == std::numeric_limits<float>::infinity());
  CHECK(round_to_bfloat16(-std::numeric_limits<float>::infinity()) == -std::numeric_limits<float>::infinity());
  CHECK(round_to_bfloat16(std::numeric_limits<float>::denorm_min()) == 0.0f);
  // A NaN whose payload is all in the dropped bits stays a NaN.
  CHECK(std::isnan(round_to_bfloat16(std::bit_cast<float>(std::uint32_t{0x7F800001}))));
  CHECK(std::isnan(round_to_bfloat16(std::numeric_limits<float>::quiet_NaN())));
}

TEST_CASE("TF32 rounding keeps 10 mantissa bits, ties to even") {
  using rlhf::round_to_tf32;
  const float ulp = std::ldexp(1.0f, -10);
  CHECK(round_to_tf32(1.0f + ulp / 2) == 1.0f);
  CHECK(round_to_tf32(1.0f + 3 * ulp / 2) == 1.0f + 2 * ulp);
  CHECK(round_to_tf32(1.0f + ulp) == 1.0f + ulp);
  CHECK(rlhf::round_operand(MatmulPrecision::fp32, 1.0f + ulp / 2) == 1.0f + ulp / 2);
}

TEST_CASE("matmul precision names parse, and unknown ones are errors") {
  for (MatmulPrecision p : {MatmulPrecision::fp32, MatmulPrecision::tf32, MatmulPrecision::bf16})
    CHECK(rlhf::parse_matmul_precision(rlhf::name_of(p)) == p);
  CHECK(error_of([] { rlhf::parse_matmul_precision("fp16"); }) ==
        "unknown matmul precision \"fp16\": expected fp32, tf32 or bf16");
}

TEST_CASE("CPU matmul in tf32 and bf16: products of rounded operands, fp32 accumulation") {
  const std::int64_t M = 6, K = 67, N = 9;
  const auto a = randn({M, K}, 1), dout = randn({M, N}, 2), bias = randn({N}, 3);
  for (const MatmulPrecision p : {MatmulPrecision::tf32, MatmulPrecision::bf16}) {
    for (const WeightLayout layout : {WeightLayout::in_out, WeightLayout::out_in}) {
      CAPTURE(rlhf::name_of(p));
      CAPTURE(rlhf::to_string(layout));
      const bool in_out = layout == WeightLayout::in_out;
      const auto w = randn(in_out ? Shape{K, N} : Shape{N, K}, 4);
      auto w_at = [&](std::int64_t k, std::int64_t n, MatmulPrecision q) {
        return in_out ? at(w, k, n, N, q) : at(w, n, k, K, q);
      };
      const cpu be{p};

      Tensor<float, cpu> out({M, N}), exact({M, N});
      rlhf::matmul_forward(be, out.view(), a.cview(), w.cview(), bias.cview(), layout);
      rlhf::matmul_forward(cpu{}, exact.view(), a.cview(), w.cview(), bias.cview(), layout);
      std::vector<double> ref(std::size_t(M * N));
      for (std::int64_t m = 0; m < M; ++m)
        for (std::int64_t n = 0; n < N; ++n) {
          double s = bias.data()[n];
          for (std::int64_t k = 0; k < K; ++k) s += at(a, m, k, K, p) * w_at(k, n, p);
          ref[std::size_t(m * N + n)] = s;
        }
      CHECK(rel_error(out, ref) < 1e-6);
      // The rounding happened: the fp32 product differs by about the format's precision.
      CHECK(rel_error(exact, ref) > (p == MatmulPrecision::bf16 ? 1e-4 : 1e-6));

      // Backward accumulates into what the gradients held; dbias sums the unrounded dout.
      Tensor<float, cpu> da({M, K}), dw(w.shape()), dbias({N});
      rlhf::fill_constant(cpu{}, da.view(), 1.0f);
      rlhf::fill_constant(cpu{}, dw.view(), 1.0f);
      rlhf::fill_constant(cpu{}, dbias.view(), 1.0f);
      rlhf::matmul_backward(be, da.view(), dw.view(), dbias.view(), dout.cview(), a.cview(), w.cview(), layout);
      std::vector<double> ref_da(std::size_t(M * K), 1.0), ref_dw(std::size_t(K * N), 1.0), ref_db(std::size_t(N), 1.0);
      for (std::int64_t m = 0; m < M; ++m)
        for (std::int64_t n = 0; n < N; ++n) {
          const double g = at(dout, m, n, N, p);
          ref_db[std::size_t(n)] += dout.data()[m * N + n];
          for (std::int64_t k = 0; k < K; ++k) {
            ref_da[std::size_t(m * K + k)] += g * w_at(k, n, p);
            ref_dw[std::size_t(in_out ? k * N + n : n * K + k)] += g * at(a, m, k, K, p);
          }
        }
      CHECK(rel_error(da, ref_da) < 1e-6);
      CHECK(rel_error(dw, ref_dw) < 1e-6);
      CHECK(rel_error(dbias, ref_db) < 1e-6);
    }
  }
}

TEST_CASE("reduced-precision products of double tensors are an error naming the op") {
  const Tensor<double, cpu> a({2, 3}), w({3, 4});
  Tensor<double, cpu> out({2, 4});
  CHECK(error_of([&] {
          rlhf::matmul_forward(cpu{MatmulPrecision::bf16}, out.view(), a.cview(), w.cview(), View<const double, cpu>{},
                               WeightLayout::in_out);
        }) == "matmul_forward: bf16 precision needs float tensors; this product is in 64-bit floats");
  Tensor<double, cpu> da({2, 3});
  CHECK(error_of([&] {
          rlhf::matmul_backward(cpu{MatmulPrecision::tf32}, da.view(), View<double, cpu>{}, View<double, cpu>{},
                                out.cview(), a.cview(), w.cview(), WeightLayout::in_out);
        }) == "matmul_backward: tf32 precision needs float tensors; this product is in 64-bit floats");
}

}  // namespace test_precision
