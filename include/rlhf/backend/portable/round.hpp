#pragma once
// The CUDA backend's bf16 operands: float tensors converted to bfloat16 bit patterns by
// backend/precision.hpp's rounding, as a Thrust algorithm (so the OpenMP tests check it).
#include <cstdint>

#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>

#include "rlhf/backend/precision.hpp"

namespace rlhf::portable {

struct ToBfloat16Bits {
  std::uint16_t* out;
  const float* in;
  RLHF_HOST_DEVICE void operator()(std::int64_t i) const { out[i] = bfloat16_bits(in[i]); }
};

// out[i] = the bfloat16 bit pattern of in[i], for i in [0, n).
template <class Policy>
void to_bfloat16_bits(const Policy& policy, std::uint16_t* out, const float* in, std::int64_t n) {
  if (n > 0) thrust::for_each_n(policy, thrust::counting_iterator<std::int64_t>(0), n, ToBfloat16Bits{out, in});
}

}  // namespace rlhf::portable
