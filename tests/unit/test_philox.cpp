// Philox4x32-10 against Random123's known-answer vectors (tests/kat_vectors), and the
// documented layout of uniform and normal draws.
#include <doctest/doctest.h>

#include <cmath>

#include "below_training.hpp"

namespace test_philox {

using rlhf::Philox;

TEST_CASE("philox4x32-10 matches Random123's known-answer vectors") {
  struct Kat {
    Philox::Counter ctr;
    Philox::Key key;
    Philox::Counter want;
  };
  const Kat kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const Kat& k : kats) CHECK(Philox::block(k.ctr, k.key) == k.want);
  static_assert(Philox::block({0, 0, 0, 0}, {0, 0})[0] == 0x6627e8d5, "usable at compile time");
}

TEST_CASE("philox stream layout: counter = block index | stream, key = seed") {
  const rlhf::PhiloxStream s{0x299f31d0a4093822ull, 0x0370734413198a2eull};
  // Block 0x85a308d3243f6a88 of this stream is exactly the third known-answer vector.
  const auto b = s.block(0x85a308d3243f6a88ull);
  CHECK(b == Philox::Counter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
  // uniform = ((word >> 8) + 0.5) / 2^24
  const rlhf::PhiloxStream z{0, 0};
  CHECK(z.word(2) == 0xbc57ac4c);  // word k = block(k / 4)[k % 4]
  CHECK(z.uniform(0) == ((0x6627e8d5u >> 8) + 0.5) / 16777216.0);
}

TEST_CASE("philox normal draws: Box-Muller pairs and sane moments") {
  const rlhf::PhiloxStream s{42, 7};
  const double u0 = s.uniform(0), u1 = s.uniform(1);
  const double r = std::sqrt(-2 * std::log(u0)), a = 2 * M_PI * u1;
  CHECK(s.normal(0) == doctest::Approx(r * std::cos(a)).epsilon(1e-15));
  CHECK(s.normal(1) == doctest::Approx(r * std::sin(a)).epsilon(1e-15));
  double sum = 0, sq = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double x = s.normal(i);
    sum += x;
    sq += x * x;
  }
  CHECK(std::abs(sum / n) < 0.01);
  CHECK(std::abs(sq / n - 1) < 0.02);
}

}  // namespace test_philox
