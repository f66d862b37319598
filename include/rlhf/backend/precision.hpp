#pragma once
// The precision of a backend's matrix products, carried by the backend object
// (cuda{.precision = MatmulPrecision::bf16}) so that a model built with it computes every Linear
// layer that way while its weights, gradients, optimizer state and activations stay in T:
//   fp32  exact float products (the default; the backends' parity tests rely on it);
//   tf32  float operands rounded to TF32 (10 mantissa bits) on tensor cores, fp32 accumulation;
//   bf16  operands rounded to bfloat16 (7 mantissa bits), fp32 accumulation and output: mixed
//         precision with fp32 master weights.
// The CUDA backend runs tf32 and bf16 on tensor cores through cuBLAS. The CPU backend rounds the
// same operands the same way (the functions below) and multiplies them in fp32, which is
// exact for bf16 products, so a bf16 run's numerics can be checked on the CPU, and the GPU's bf16
// kernels against it; on the CPU it is slower than fp32, not faster.
#include <string.h>

#include <cstdint>
#include <string_view>

#include "rlhf/core/error.hpp"
#include "rlhf/core/host_device.hpp"

namespace rlhf {

enum class MatmulPrecision : std::uint8_t { fp32, tf32, bf16 };

constexpr std::string_view name_of(MatmulPrecision p) {
  switch (p) {
    case MatmulPrecision::tf32: return "tf32";
    case MatmulPrecision::bf16: return "bf16";
    default: return "fp32";
  }
}

inline MatmulPrecision parse_matmul_precision(std::string_view text) {
  for (MatmulPrecision p : {MatmulPrecision::fp32, MatmulPrecision::tf32, MatmulPrecision::bf16})
    if (text == name_of(p)) return p;
  fail("unknown matmul precision \"", text, "\": expected fp32, tf32 or bf16");
}

// Rounding a float operand to those formats, for host and device code alike: round to nearest,
// ties to even, keeping the top 16 bits (bfloat16) or the top 19 (TF32: sign, 8 exponent and 10
// mantissa bits) of the float. That is what __float2bfloat16_rn does; a value too large for the
// format rounds to infinity, infinities stay, and a NaN stays a (quiet) NaN.
// rounded_float_bits: x's bits rounded at bit `dropped` (16 or 13), the dropped bits zero.
RLHF_HOST_DEVICE inline std::uint32_t rounded_float_bits(float x, int dropped) {
  std::uint32_t bits;
  memcpy(&bits, &x, sizeof bits);
  const std::uint32_t low = (std::uint32_t{1} << dropped) - 1u;
  if ((bits & 0x7F800000u) == 0x7F800000u) {      // infinity or NaN: no rounding carries
    if (bits & 0x007FFFFFu) bits |= 0x00400000u;  // NaN: set the quiet bit, which the format keeps
    return bits & ~low;
  }
  // Adding half an ulp less one, plus the kept lsb, rounds ties to even; a carry out of the
  // mantissa steps the exponent, and out of the largest finite value gives infinity.
  bits += (low >> 1) + ((bits >> dropped) & 1u);
  return bits & ~low;
}

RLHF_HOST_DEVICE inline float float_from_bits(std::uint32_t bits) {
  float x;
  memcpy(&x, &bits, sizeof x);
  return x;
}

RLHF_HOST_DEVICE inline float round_to_bfloat16(float x) { return float_from_bits(rounded_float_bits(x, 16)); }
RLHF_HOST_DEVICE inline float round_to_tf32(float x) { return float_from_bits(rounded_float_bits(x, 13)); }
RLHF_HOST_DEVICE inline std::uint16_t bfloat16_bits(float x) { return std::uint16_t(rounded_float_bits(x, 16) >> 16); }

// x rounded as a product in precision p takes its operands (fp32: unchanged).
RLHF_HOST_DEVICE inline float round_operand(MatmulPrecision p, float x) {
  return p == MatmulPrecision::bf16 ? round_to_bfloat16(x) : p == MatmulPrecision::tf32 ? round_to_tf32(x) : x;
}

}  // namespace rlhf
