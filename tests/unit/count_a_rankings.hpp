// A synthetic preference task for the reward-model tests: the labeler prefers completions with
// more 'a's. Each record has K completions of random characters from an alphabet (K cycles
// through [min_k, max_k] record by record), ranked by their count of 'a' (ties share a rank).
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlhf/core/philox.hpp"

namespace testing {

struct CountARankings {
  int records = 12;
  std::uint64_t seed = 1;
  int min_k = 4, max_k = 4;
  int length = 6;  // characters per completion
  std::string alphabet = "abc";
  std::string prompt = "q:";
  std::string file_name = "kwise.jsonl";
};

inline std::filesystem::path write_count_a_rankings(const std::filesystem::path& dir, const CountARankings& spec) {
  const std::filesystem::path file = dir / spec.file_name;
  std::ofstream out(file);
  const rlhf::PhiloxStream rng{spec.seed, 0};
  const auto letters = std::uint64_t(spec.alphabet.size());
  std::uint64_t k = 0;
  for (int r = 0; r < spec.records; ++r) {
    const int K = spec.min_k + r % (spec.max_k - spec.min_k + 1);
    nlohmann::json completions = nlohmann::json::array(), ranking = nlohmann::json::array();
    std::vector<int> counts;
    for (int i = 0; i < K; ++i) {
      std::string s;
      int a = 0;
      for (int j = 0; j < spec.length; ++j) {
        const char ch = spec.alphabet[rng.word(k++) % letters];
        a += ch == 'a';
        s += ch;
      }
      completions.push_back(s);
      counts.push_back(a);
    }
    for (int i = 0; i < K; ++i) {
      int rank = 1;
      for (int j = 0; j < K; ++j) rank += counts[std::size_t(j)] > counts[std::size_t(i)];
      ranking.push_back(rank);
    }
    out << nlohmann::json{{"prompt", spec.prompt}, {"completions", completions}, {"ranking", ranking}}.dump() << '\n';
  }
  return file;
}

}  // namespace testing
