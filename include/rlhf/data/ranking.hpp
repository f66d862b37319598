#pragma once
// A K-wise ranking as the data holds it and the Bradley-Terry loss reads it: the ranks of a
// group's completions inside a flat vector of them, and the untied pairs a ranking implies
// (InstructGPT: all C(K, 2) comparisons of one prompt's K completions).
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace rlhf::data {

// A K-wise group inside a flat reward vector: completions [offset, offset + ranks.size()).
struct RankedGroup {
  std::int64_t offset = 0;
  std::vector<std::int32_t> ranks;  // per completion, 1 = best; equal ranks are ties
};

// The untied (better, worse) index pairs of a group, relative to its offset.
inline std::vector<std::pair<std::int32_t, std::int32_t>> ranked_pairs(std::span<const std::int32_t> ranks) {
  std::vector<std::pair<std::int32_t, std::int32_t>> pairs;
  for (std::size_t i = 0; i < ranks.size(); ++i)
    for (std::size_t j = 0; j < ranks.size(); ++j)
      if (ranks[i] < ranks[j]) pairs.emplace_back(std::int32_t(i), std::int32_t(j));
  return pairs;
}

}  // namespace rlhf::data
