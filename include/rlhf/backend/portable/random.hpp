#pragma once
// Random fills written once for every Thrust system: element i of out takes Philox draw
// offset + i of the stream (core/philox.hpp), exactly as the CPU backend's fill_normal and
// fill_uniform (backend/cpu/random.hpp) compute it, so a GPT initialised on the GPU gets the
// weights it gets on the CPU.
#include <cstdint>

#include "rlhf/backend/portable/elementwise.hpp"
#include "rlhf/core/host_device.hpp"
#include "rlhf/core/philox.hpp"

namespace rlhf::portable {

template <class T>
struct FillNormal {
  T* out;
  PhiloxStream rng;
  std::uint64_t offset;
  T mean, std_dev;
  RLHF_HOST_DEVICE void operator()(std::int64_t i) const {
    out[i] = mean + std_dev * static_cast<T>(rng.normal(offset + std::uint64_t(i)));
  }
};

template <class T>
struct FillUniform {
  T* out;
  PhiloxStream rng;
  std::uint64_t offset;
  T lo, hi;
  RLHF_HOST_DEVICE void operator()(std::int64_t i) const {
    out[i] = lo + (hi - lo) * static_cast<T>(rng.uniform(offset + std::uint64_t(i)));
  }
};

template <class T>
struct FillConstant {
  T* out;
  T value;
  RLHF_HOST_DEVICE void operator()(std::int64_t i) const { out[i] = value; }
};

template <class Policy, class T>
void fill_normal(const Policy& policy, T* out, std::int64_t n, PhiloxStream rng, std::uint64_t offset, T mean,
                 T std_dev) {
  for_each_index(policy, n, FillNormal<T>{out, rng, offset, mean, std_dev});
}

template <class Policy, class T>
void fill_uniform(const Policy& policy, T* out, std::int64_t n, PhiloxStream rng, std::uint64_t offset, T lo, T hi) {
  for_each_index(policy, n, FillUniform<T>{out, rng, offset, lo, hi});
}

template <class Policy, class T>
void fill_constant(const Policy& policy, T* out, std::int64_t n, T value) {
  for_each_index(policy, n, FillConstant<T>{out, value});
}

}  // namespace rlhf::portable
