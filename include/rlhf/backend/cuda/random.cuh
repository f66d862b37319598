#pragma once
// The CUDA backend's random and constant fills: the functors of backend/portable/random.hpp on
// the backend's stream; the same draws as the CPU backend for the same (seed, stream, offset).
#include "rlhf/backend/cuda/elementwise.cuh"
#include "rlhf/backend/portable/random.hpp"

namespace rlhf {

template <class T>
void fill_normal(const cuda& be, View<T, cuda> out, PhiloxStream rng, std::uint64_t offset, T mean, T std_dev) {
  portable::fill_normal(cuda_detail::on_stream(be), out.data(), out.numel(), rng, offset, mean, std_dev);
  cuda_detail::check_launch("fill_normal");
}

template <class T>
void fill_uniform(const cuda& be, View<T, cuda> out, PhiloxStream rng, std::uint64_t offset, T lo, T hi) {
  portable::fill_uniform(cuda_detail::on_stream(be), out.data(), out.numel(), rng, offset, lo, hi);
  cuda_detail::check_launch("fill_uniform");
}

template <class T>
void fill_constant(const cuda& be, View<T, cuda> out, T value) {
  portable::fill_constant(cuda_detail::on_stream(be), out.data(), out.numel(), value);
  cuda_detail::check_launch("fill_constant");
}

}  // namespace rlhf
