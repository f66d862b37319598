// The CUDA backend's elementwise kernels (backend/portable/elementwise.hpp) run by Thrust's
// OpenMP system against the CPU backend's kernels of the same name, float and double: GELU
// forward and backward (accumulating), the residual connection, three AdamW steps; and GELU's
// backward against finite differences of its forward, in double; and the Philox fills, which must
// give the CPU backend's numbers bit for bit; the bfloat16 conversion of bf16 matmul operands.
#include <doctest/doctest.h>

#include <thrust/execution_policy.h>
#include <thrust/version.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "rlhf/backend/cpu.hpp"
#include "rlhf/backend/portable/elementwise.hpp"
#include "rlhf/backend/portable/random.hpp"
#include "rlhf/backend/portable/round.hpp"
#include "rlhf/io/half_float.hpp"
#include "compare.hpp"
#include "rlhf/core/philox.hpp"
#include "rlhf/core/tensor.hpp"

static_assert(THRUST_DEVICE_SYSTEM == THRUST_DEVICE_SYSTEM_OMP, "these tests run Thrust's device code on OpenMP threads");

using rlhf::cpu;
using rlhf::Shape;
using rlhf::Tensor;

namespace {

constexpr std::int64_t n = 10007;  // not a multiple of any vector width or chunk

}  // namespace

TEST_CASE_TEMPLATE("portable gelu forward and backward equal the CPU kernels", T, float, double) {
  std::vector<T> x = compare::normal<T>(1, 3.0, n), dout = compare::normal<T>(2, 1.0, n), dx0 = compare::normal<T>(3, 1.0, n);
  x[0] = T(20), x[1] = T(-20), x[2] = T(0);  // saturated tails and the origin
  const Tensor<T, cpu> xt = compare::tensor<cpu>(x), dt = compare::tensor<cpu>(dout);
  Tensor<T, cpu> ref_out(Shape{n}), ref_dx = compare::tensor<cpu>(dx0);
  rlhf::gelu_forward(cpu{}, ref_out.view(), xt.cview());
  rlhf::gelu_backward(cpu{}, ref_dx.view(), dt.cview(), xt.cview());

  std::vector<T> out(static_cast<std::size_t>(n)), dx = dx0;
  rlhf::portable::gelu_forward(thrust::device, out.data(), x.data(), n);
  rlhf::portable::gelu_backward(thrust::device, dx.data(), dout.data(), x.data(), n);
  CHECK(compare::max_rel_error(out, ref_out.to_vector()) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(dx, ref_dx.to_vector()) <= compare::tolerance<T>());  // accumulated onto dx0
}

TEST_CASE("portable gelu backward against finite differences (double)") {
  const std::vector<double> x = compare::normal<double>(4, 2.0, n);
  std::vector<double> ones(static_cast<std::size_t>(n), 1.0), dx(static_cast<std::size_t>(n), 0.0);
  rlhf::portable::gelu_backward(thrust::device, dx.data(), ones.data(), x.data(), n);
  const double h = 1e-6;
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); i += 97) {
    double plus = 0, minus = 0;
    const double xp = x[i] + h, xm = x[i] - h;
    rlhf::portable::gelu_forward(thrust::device, &plus, &xp, 1);
    rlhf::portable::gelu_forward(thrust::device, &minus, &xm, 1);
    worst = std::max(worst, std::abs((plus - minus) / (2 * h) - dx[i]) / std::max(1.0, std::abs(dx[i])));
  }
  CHECK(worst <= 1e-8);
}

TEST_CASE_TEMPLATE("portable residual forward and backward equal the CPU kernels", T, float, double) {
  const std::vector<T> a = compare::normal<T>(5, 1.0, n), b = compare::normal<T>(6, 1.0, n), dout = compare::normal<T>(7, 1.0, n), d0 = compare::normal<T>(8, 1.0, n);
  const Tensor<T, cpu> at = compare::tensor<cpu>(a), bt = compare::tensor<cpu>(b), dt = compare::tensor<cpu>(dout);
  Tensor<T, cpu> ref_out(Shape{n}), ref_da = compare::tensor<cpu>(d0), ref_db = compare::tensor<cpu>(d0);
  rlhf::residual_forward(cpu{}, ref_out.view(), at.cview(), bt.cview());
  rlhf::residual_backward(cpu{}, ref_da.view(), ref_db.view(), dt.cview());
  std::vector<T> out(static_cast<std::size_t>(n)), da = d0, db = d0;
  rlhf::portable::residual_forward(thrust::device, out.data(), a.data(), b.data(), n);
  rlhf::portable::residual_backward(thrust::device, da.data(), db.data(), dout.data(), n);
  CHECK(out == ref_out.to_vector());
  CHECK(da == ref_da.to_vector());
  CHECK(db == ref_db.to_vector());
}

TEST_CASE_TEMPLATE("portable AdamW steps equal the CPU kernel's", T, float, double) {
  std::vector<T> p = compare::normal<T>(9, 1.0, n), m(static_cast<std::size_t>(n), T(0)), v(static_cast<std::size_t>(n), T(0));
  Tensor<T, cpu> rp = compare::tensor<cpu>(p), rm(Shape{n}), rv(Shape{n});
  const double lr = 1e-2, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1;
  for (int t = 1; t <= 3; ++t) {
    const std::vector<T> g = compare::normal<T>(10 + std::uint64_t(t), 0.5, n);
    const Tensor<T, cpu> gt = compare::tensor<cpu>(g);
    const rlhf::AdamWStep s{lr, b1, b2, eps, wd, 1 - std::pow(b1, t), 1 - std::pow(b2, t)};
    rlhf::adamw_update(cpu{}, rp.view(), gt.cview(), rm.view(), rv.view(), s);
    rlhf::portable::adamw_update(thrust::device, p.data(), g.data(), m.data(), v.data(), n, s);
  }
  CHECK(compare::max_rel_error(p, rp.to_vector()) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(m, rm.to_vector()) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(v, rv.to_vector()) <= compare::tolerance<T>());
}

TEST_CASE_TEMPLATE("portable Philox fills give the CPU backend's numbers exactly", T, float, double) {
  const rlhf::PhiloxStream rng{0x1234'5678'9ABCull, 42};
  const std::uint64_t offset = 3;  // odd: the fill starts inside a Philox block and a Box-Muller pair
  Tensor<T, cpu> ref_normal(Shape{n}), ref_uniform(Shape{n}), ref_const(Shape{n});
  rlhf::fill_normal(cpu{}, ref_normal.view(), rng, offset, T(0.5), T(0.02));
  rlhf::fill_uniform(cpu{}, ref_uniform.view(), rng, offset, T(-1), T(2));
  rlhf::fill_constant(cpu{}, ref_const.view(), T(0.25));
  std::vector<T> normal_out(static_cast<std::size_t>(n)), uniform_out(static_cast<std::size_t>(n)), const_out(static_cast<std::size_t>(n));
  rlhf::portable::fill_normal(thrust::device, normal_out.data(), n, rng, offset, T(0.5), T(0.02));
  rlhf::portable::fill_uniform(thrust::device, uniform_out.data(), n, rng, offset, T(-1), T(2));
  rlhf::portable::fill_constant(thrust::device, const_out.data(), n, T(0.25));
  CHECK(normal_out == ref_normal.to_vector());
  CHECK(uniform_out == ref_uniform.to_vector());
  CHECK(const_out == ref_const.to_vector());
}

// The CUDA backend's bf16 matmul operands: the bit patterns the CPU backend's rounding gives,
// widened back exactly (io/half_float.hpp), for normal draws, ties, huge values, infinities and NaN.
TEST_CASE("portable bfloat16 conversion gives the CPU backend's rounding bit for bit") {
  std::vector<float> x = compare::normal<float>(21, 100.0, n);
  x[0] = 1.0f + std::ldexp(1.0f, -8);  // a tie, rounding down to even
  x[1] = std::numeric_limits<float>::max();
  x[2] = -std::numeric_limits<float>::infinity();
  x[3] = std::numeric_limits<float>::quiet_NaN();
  std::vector<std::uint16_t> bits(static_cast<std::size_t>(n));
  rlhf::portable::to_bfloat16_bits(thrust::device, bits.data(), x.data(), n);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float widened = rlhf::io::bfloat16_to_float(bits[i]), want = rlhf::round_to_bfloat16(x[i]);
    if (std::isnan(want)) CHECK(std::isnan(widened));
    else if (widened != want) FAIL_CHECK("element " << i << ": " << x[i] << " gave " << widened << ", not " << want);
  }
  CHECK(bits[0] == 0x3F80);
  CHECK(bits[1] == 0x7F80);  // +infinity
}
