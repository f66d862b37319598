#pragma once
// Random fills from a Philox stream (layout in core/philox.hpp): element i takes draw offset + i,
// so a fill is the same on every backend and independent of the thread count.
#include "rlhf/backend/cpu/parallel.hpp"
#include "rlhf/backend/cpu/tag.hpp"
#include "rlhf/core/philox.hpp"
#include "rlhf/core/tensor.hpp"

namespace rlhf {

template <class T>
void fill_normal(const cpu&, View<T, cpu> out, PhiloxStream rng, std::uint64_t offset, T mean, T std) {
  const std::int64_t n = out.numel();
#pragma omp parallel for schedule(static) if (n >= cpu_detail::min_parallel_work)
  for (std::int64_t i = 0; i < n; ++i) out.data()[i] = mean + std * static_cast<T>(rng.normal(offset + i));
}

template <class T>
void fill_uniform(const cpu&, View<T, cpu> out, PhiloxStream rng, std::uint64_t offset, T lo, T hi) {
  const std::int64_t n = out.numel();
#pragma omp parallel for schedule(static) if (n >= cpu_detail::min_parallel_work)
  for (std::int64_t i = 0; i < n; ++i) out.data()[i] = lo + (hi - lo) * static_cast<T>(rng.uniform(offset + i));
}

template <class T>
void fill_constant(const cpu&, View<T, cpu> out, T value) {
  std::fill(out.data(), out.data() + out.numel(), value);
}

}  // namespace rlhf
