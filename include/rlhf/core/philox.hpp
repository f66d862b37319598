#pragma once
// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator, so any draw is a pure function of (seed, stream, index) and the CPU
// and the GPU produce the same numbers for the same indices without sharing state.
//
// Layout of draws (every backend must follow it):
//   key     = {lo32(seed), hi32(seed)}
//   block b = philox({lo32(b), hi32(b), lo32(stream), hi32(stream)}, key)  -> 4 words
//   word k  = block(k / 4)[k % 4]
//   uniform(k) = ((word(k) >> 8) + 0.5) * 2^-24                            in (0, 1)
//   normal(k)  = Box-Muller on the pair p = k / 2, computed in double:
//                r = sqrt(-2 ln uniform(2p)), a = 2 pi uniform(2p + 1),
//                normal(2p) = r cos a, normal(2p + 1) = r sin a
// Element i of a tensor filled from (seed, stream, offset) takes draw offset + i.
//
// Everything here is RLHF_HOST_DEVICE, so the CUDA backend draws on the GPU with this same code.
// The C library's sqrt/log/sin/cos are used by name (::log, not std::log) because nvcc provides
// those for device code.
#include <math.h>

#include <array>
#include <cmath>
#include <cstdint>

#include "rlhf/core/host_device.hpp"

namespace rlhf {

struct Philox {
  using Counter = std::array<std::uint32_t, 4>;
  using Key = std::array<std::uint32_t, 2>;

  static constexpr std::uint32_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;
  static constexpr std::uint32_t w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;  // key schedule (golden ratio, sqrt 3 - 1)

  RLHF_HOST_DEVICE static constexpr Counter round(Counter c, Key k) {
    const std::uint64_t p0 = std::uint64_t{m0} * c[0];
    const std::uint64_t p1 = std::uint64_t{m1} * c[2];
    return {static_cast<std::uint32_t>(p1 >> 32) ^ c[1] ^ k[0], static_cast<std::uint32_t>(p1),
            static_cast<std::uint32_t>(p0 >> 32) ^ c[3] ^ k[1], static_cast<std::uint32_t>(p0)};
  }
  RLHF_HOST_DEVICE static constexpr Counter block(Counter c, Key k) {
    for (int r = 0; r < 10; ++r) {
      if (r) k = {k[0] + w0, k[1] + w1};
      c = round(c, k);
    }
    return c;
  }
};

// One stream of draws: (seed, stream) fixed, indexed by k.
struct PhiloxStream {
  std::uint64_t seed = 0;
  std::uint64_t stream = 0;

  RLHF_HOST_DEVICE Philox::Counter block(std::uint64_t b) const {
    return Philox::block({lo(b), hi(b), lo(stream), hi(stream)}, {lo(seed), hi(seed)});
  }
  RLHF_HOST_DEVICE std::uint32_t word(std::uint64_t k) const { return block(k / 4)[k % 4]; }

  RLHF_HOST_DEVICE static double to_uniform(std::uint32_t w) { return ((w >> 8) + 0.5) * 0x1p-24; }
  RLHF_HOST_DEVICE double uniform(std::uint64_t k) const { return to_uniform(word(k)); }
  RLHF_HOST_DEVICE double normal(std::uint64_t k) const {
    const std::uint64_t p = k / 2;
    const Philox::Counter c = block(p / 2);
    const std::uint32_t* w = c.data() + 2 * (p % 2);
    const double r = ::sqrt(-2.0 * ::log(to_uniform(w[0])));
    const double a = 2.0 * 3.14159265358979323846 * to_uniform(w[1]);
    return k % 2 ? r * ::sin(a) : r * ::cos(a);
  }

 private:
  RLHF_HOST_DEVICE static constexpr std::uint32_t lo(std::uint64_t x) { return static_cast<std::uint32_t>(x); }
  RLHF_HOST_DEVICE static constexpr std::uint32_t hi(std::uint64_t x) { return static_cast<std::uint32_t>(x >> 32); }
};

}  // namespace rlhf
