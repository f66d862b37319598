// Helpers the kernel-parity tests share (tests/portable on OpenMP, tests/cuda on the GPU): inputs
// drawn from Philox, tensors of either backend from host values, the relative error between two
// results, and a finite-difference check. Free of Eigen, for nvcc.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
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

template <class T>
std::vector<T> zeros(std::int64_t count) {
  return std::vector<T>(static_cast<std::size_t>(count), T(0));
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

// Two implementations of one formula, summing in different orders, agree this closely.
template <class T>
double tolerance() {
  return std::is_same_v<T, float> ? 1e-5 : 1e-12;
}

// Every `stride`-th entry of `grad` against the central difference of loss() in x (double).
inline void check_gradient(std::vector<double>& x, const std::function<double()>& loss, const std::vector<double>& grad,
                           std::size_t stride, double tol = 1e-7) {
  REQUIRE(x.size() == grad.size());
  const double h = 1e-5;
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); i += stride) {
    const double saved = x[i];
    x[i] = saved + h;
    const double plus = loss();
    x[i] = saved - h;
    const double minus = loss();
    x[i] = saved;
    worst = std::max(worst, std::abs((plus - minus) / (2 * h) - grad[i]) / std::max(1.0, std::abs(grad[i])));
  }
  CHECK(worst <= tol);
}

}  // namespace compare
