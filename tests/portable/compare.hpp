// Helpers the parity tests share (tests/ops/model_parity.hpp, tests/portable, tests/cuda): inputs
// drawn from Philox, tensors of any backend from host values, and the relative error between two
// results. Free of Eigen, for nvcc.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "rlhf/core/philox.hpp"
#include "rlhf/core/tensor.hpp"

namespace compare {

// count normal draws of standard deviation `scale`, reproducible from the seed.
template <class T>
std::vector<T> normal(std::uint64_t seed, double scale, std::int64_t count) {
  const rlhf::PhiloxStream rng{seed, 0};
  std::vector<T> v(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = T(scale * rng.normal(i));
  return v;
}

// Host values as a tensor of backend B, of the given shape or 1-D.
template <class B, class T>
rlhf::Tensor<T, B> tensor(rlhf::Shape shape, const std::vector<T>& v) {
  return rlhf::Tensor<T, B>(shape, std::span<const T>(v));
}
template <class B, class T>
rlhf::Tensor<T, B> tensor(const std::vector<T>& v) {
  return tensor<B>(rlhf::Shape{std::int64_t(v.size())}, v);
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

}  // namespace compare
