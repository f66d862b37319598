#pragma once
// IEEE half (F16) and bfloat16 (BF16) bit patterns to float, for checkpoints stored in 16-bit
// precision (the hub has many). Both widen exactly: every half and bfloat16 value is a float.
#include <bit>
#include <cstdint>

namespace rlhf::io {

inline float bfloat16_to_float(std::uint16_t bits) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);  // bfloat16 is a float's top half
}

inline float half_to_float(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
  const std::uint32_t exponent = (bits >> 10) & 0x1Fu;
  std::uint32_t mantissa = bits & 0x3FFu;
  if (exponent == 0x1F)  // infinity or NaN (payload kept)
    return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
  if (exponent != 0)  // normal: rebias the exponent from 15 to 127
    return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
  if (mantissa == 0) return std::bit_cast<float>(sign);  // ±0
  // Subnormal half: value = mantissa · 2^-24, a normal float once the leading 1 is shifted up.
  int e = -1;
  do {
    mantissa <<= 1;
    ++e;
  } while ((mantissa & 0x400u) == 0);
  return std::bit_cast<float>(sign | static_cast<std::uint32_t>(112 - e) << 23 | ((mantissa & 0x3FFu) << 13));
}

}  // namespace rlhf::io
