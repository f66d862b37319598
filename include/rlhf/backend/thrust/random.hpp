#pragma once
// The random and constant fills of a Thrust-executed backend (thrust/executor.hpp): the functors
// of backend/portable/random.hpp under the backend's policy; the same draws as the CPU backend
// for the same (seed, stream, offset).
#include "rlhf/backend/portable/random.hpp"
#include "rlhf/backend/thrust/elementwise.hpp"

namespace rlhf {

template <ThrustExecuted B, class T>
void fill_normal(const B& be, View<T, B> out, PhiloxStream rng, std::uint64_t offset, T mean, T std_dev) {
  portable::fill_normal(thrust_policy(be), out.data(), out.numel(), rng, offset, mean, std_dev);
  after_kernel(be, "fill_normal");
}

template <ThrustExecuted B, class T>
void fill_uniform(const B& be, View<T, B> out, PhiloxStream rng, std::uint64_t offset, T lo, T hi) {
  portable::fill_uniform(thrust_policy(be), out.data(), out.numel(), rng, offset, lo, hi);
  after_kernel(be, "fill_uniform");
}

template <ThrustExecuted B, class T>
void fill_constant(const B& be, View<T, B> out, T value) {
  portable::fill_constant(thrust_policy(be), out.data(), out.numel(), value);
  after_kernel(be, "fill_constant");
}

}  // namespace rlhf
