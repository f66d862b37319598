#pragma once
// How the next token is drawn from logits: temperature, top-k, top-p. The draw itself is a
// kernel (sample_tokens), whose header documents the layout of its random numbers.
#include <cmath>
#include <cstdint>
#include <string_view>

#include "rlhf/core/error.hpp"

namespace rlhf {

// What SamplingParams::validate's errors call its three fields: the config's names by default; a
// command line passes its options' ({"--temperature", "--top-k", "--top-p"}).
struct SamplingNames {
  std::string_view temperature = "sampling: temperature", top_k = "sampling: top_k", top_p = "sampling: top_p";
};

struct SamplingParams {
  double temperature = 1.0;  // 0: greedy
  std::int64_t top_k = 0;    // 0: no limit
  double top_p = 1.0;        // 1: no nucleus cut

  // Below this temperature logits / τ grow so large that float log-probabilities lose their
  // digits (a log-softmax of values near 1e9 rounds to whole numbers, even above 0): refused.
  // Greedy decoding is temperature 0.
  static constexpr double min_temperature = 1e-2;

  using Names = SamplingNames;

  void validate(const Names& name = {}) const {
    if (!(temperature >= 0) || !std::isfinite(temperature)) fail(name.temperature, " must be >= 0, got ", temperature);
    if (temperature > 0 && temperature < min_temperature)
      fail(name.temperature, " ", temperature, " is below the floor of ", min_temperature,
           " (log-probs lose their precision there); use 0 for greedy decoding");
    if (top_k < 0) fail(name.top_k, " must be >= 0, got ", top_k);
    if (!(top_p > 0 && top_p <= 1)) fail(name.top_p, " must lie in (0, 1], got ", top_p);
  }
};

}  // namespace rlhf
