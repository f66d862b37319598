#pragma once
// How the next token is drawn from logits: temperature, top-k, top-p. The draw itself is a
// kernel (sample_tokens), whose header documents the layout of its random numbers.
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "rlhf/core/error.hpp"
#include "rlhf/core/field_names.hpp"

namespace rlhf {

struct SamplingParams {
  double temperature = 1.0;  // 0: greedy
  std::int64_t top_k = 0;    // 0: no limit
  double top_p = 1.0;        // 1: no nucleus cut

  // Below this temperature logits / τ grow so large that float log-probabilities lose their
  // digits (a log-softmax of values near 1e9 rounds to whole numbers, even above 0): refused.
  // Greedy decoding is temperature 0.
  static constexpr double min_temperature = 1e-2;

  // Errors name the fields as `names` does (core/field_names.hpp).
  void validate(const FieldNames& names = FieldNames("sampling")) const {
    const std::string t = names(&temperature, "temperature");
    if (!(temperature >= 0) || !std::isfinite(temperature)) fail(t, " must be finite and >= 0, got ", temperature);
    if (temperature > 0 && temperature < min_temperature)
      fail(t, " ", temperature, " is below the floor of ", min_temperature,
           " (log-probs lose their precision there); use 0 for greedy decoding");
    if (top_k < 0) fail(names(&top_k, "top_k"), " must be >= 0, got ", top_k);
    if (!(top_p > 0 && top_p <= 1)) fail(names(&top_p, "top_p"), " must lie in (0, 1], got ", top_p);
  }
};

}  // namespace rlhf
