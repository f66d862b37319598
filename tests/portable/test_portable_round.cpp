// The bfloat16 conversion of the CUDA backend's bf16 matmul operands (backend/portable/round.hpp)
// run by Thrust's OpenMP system: the bit patterns the CPU backend's rounding gives, widened back
// exactly. (Every backend op is in the op table, tests/ops/op_table.hpp; this conversion is no
// op of its own, only a step inside the GPU's bf16 matmul.)
#include <doctest/doctest.h>

#include <thrust/system/omp/execution_policy.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "compare.hpp"
#include "rlhf/backend/portable/round.hpp"
#include "rlhf/backend/precision.hpp"
#include "rlhf/io/half_float.hpp"

namespace {

constexpr std::int64_t n = 10007;  // not a multiple of any vector width or chunk

}  // namespace

// The CUDA backend's bf16 matmul operands: the bit patterns the CPU backend's rounding gives,
// widened back exactly (io/half_float.hpp), for normal draws, ties, huge values, infinities and NaN.
TEST_CASE("portable bfloat16 conversion gives the CPU backend's rounding bit for bit") {
  std::vector<float> x = compare::normal<float>(21, 100.0, n);
  x[0] = 1.0f + std::ldexp(1.0f, -8);  // a tie, rounding down to even
  x[1] = std::numeric_limits<float>::max();
  x[2] = -std::numeric_limits<float>::infinity();
  x[3] = std::numeric_limits<float>::quiet_NaN();
  std::vector<std::uint16_t> bits(static_cast<std::size_t>(n));
  rlhf::portable::to_bfloat16_bits(thrust::omp::par, bits.data(), x.data(), n);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float widened = rlhf::io::bfloat16_to_float(bits[i]), want = rlhf::round_to_bfloat16(x[i]);
    if (std::isnan(want)) CHECK(std::isnan(widened));
    else if (widened != want) FAIL_CHECK("element " << i << ": " << x[i] << " gave " << widened << ", not " << want);
  }
  CHECK(bits[0] == 0x3F80);
  CHECK(bits[1] == 0x7F80);  // +infinity
}
