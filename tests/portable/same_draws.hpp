// Whether two backends' sample_tokens agree, for the parity tests (tests/portable against the
// CPU, tests/cuda against the host). Tokens must be equal row for row, with one allowance in
// float: the backends' logsumexp may differ in the last bit, which moves the cumulative
// probabilities by about 1e-7, and a draw u that falls in that gap picks the neighbouring token
// in the walk order. Only that, and in at most 1 row in 200. Free of Eigen, for nvcc.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "compare.hpp"
#include "rlhf/backend/portable/sample.hpp"

namespace compare {

// order: the B·V sorted candidates the portable sampler left in its scratch (filtered only).
template <class T>
void check_same_draws(const std::vector<std::int32_t>& tokens, const std::vector<T>& logp,
                      const std::vector<std::int32_t>& want, const std::vector<T>& want_logp,
                      const std::vector<std::int64_t>& order, std::int64_t V, const rlhf::SamplingParams& params) {
  REQUIRE(tokens.size() == want.size());
  const auto B = static_cast<std::int64_t>(want.size());
  // Where a token sits in the walk: its id without filters, its rank among the sorted
  // candidates with them.
  const auto walk_position = [&](std::int64_t b, std::int32_t token) {
    if (!rlhf::portable::sampling_is_filtered(params)) return std::int64_t{token};
    const auto* row = order.data() + b * V;
    return std::int64_t(std::find(row, row + V, b * V + token) - row);
  };
  std::int64_t differ = 0;
  for (std::int64_t b = 0; b < B; ++b) {
    const auto i = static_cast<std::size_t>(b);
    if (tokens[i] == want[i]) {
      CHECK(max_rel_error(std::vector<T>{logp[i]}, std::vector<T>{want_logp[i]}) <= tolerance<T>());
      continue;
    }
    ++differ;
    CAPTURE(b);
    CHECK(std::is_same_v<T, float>);
    CHECK(std::abs(walk_position(b, tokens[i]) - walk_position(b, want[i])) == 1);
  }
  CHECK(differ * 200 <= B);
}

}  // namespace compare
