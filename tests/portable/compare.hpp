// Helpers the kernel-parity tests share (tests/portable on OpenMP, tests/cuda on the GPU): inputs
// drawn from Philox and the relative error between two results. Free of Eigen, for nvcc.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "rlhf/core/philox.hpp"

namespace compare {

// count normal draws of standard deviation `scale`, reproducible from the seed.
template <class T>
std::vector<T> normal(std::uint64_t seed, double scale, std::int64_t count) {
  const rlhf::PhiloxStream rng{seed, 0};
  std::vector<T> v(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = T(scale * rng.normal(i));
  return v;
}

// Largest |a − b| / max(1, |b|).
template <class T>
double max_rel_error(const std::vector<T>& a, const std::vector<T>& b) {
  REQUIRE(a.size() == b.size());
  double e = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    e = std::max(e, std::abs(double(a[i]) - double(b[i])) / std::max(1.0, std::abs(double(b[i]))));
  return e;
}

// Two implementations of one formula, summing in different orders, agree this closely.
template <class T>
double tolerance() {
  return std::is_same_v<T, float> ? 1e-5 : 1e-12;
}

}  // namespace compare
