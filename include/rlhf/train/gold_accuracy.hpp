#pragma once
// How often a reward model orders held-out completions as the gold preference does (the
// labeler's noise-free score, which the simulated labelers' rankings are drawn from): the
// pipeline's measure of a reward model against the truth rather than against noisy labels.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rlhf/data/labeler.hpp"
#include "rlhf/data/preference_dataset.hpp"
#include "rlhf/nn/reward_model.hpp"
#include "rlhf/train/reward.hpp"

namespace rlhf::train {

struct GoldAccuracy {
  std::int64_t agree = 0, pairs = 0;
  double accuracy() const { return pairs ? double(agree) / double(pairs) : 0.0; }
};

// Share of the pairs of `groups` (untied in gold) that the reward model orders as gold does.
template <class T, Backend B, class Tok>
GoldAccuracy gold_accuracy(nn::RewardModel<T, B>& rm, const data::PreferenceDataset& dataset,
                           std::span<const std::int64_t> groups, const Tok& tokenizer, const data::Labeler& labeler) {
  GoldAccuracy acc;
  for (const std::int64_t g : groups) {
    const data::PreferenceGroup& group = dataset[g];
    const std::vector<std::int64_t> from(group.sequences.size(), group.prompt_length);
    const std::vector<T> r =
        raw_rewards(rm, std::span<const std::vector<std::int32_t>>(group.sequences), from, dataset.eos_id());
    const auto& first = group.sequences.front();
    const std::string prompt = tokenizer.decode(std::span(first).first(std::size_t(group.prompt_length)));
    std::vector<double> gold;
    for (const auto& s : group.sequences) {
      std::span<const std::int32_t> c = std::span(s).subspan(std::size_t(group.prompt_length));
      if (!c.empty() && c.back() == dataset.eos_id()) c = c.first(c.size() - 1);
      gold.push_back(labeler.score(prompt, tokenizer.decode(c)));
    }
    for (std::size_t a = 0; a < gold.size(); ++a)
      for (std::size_t b = a + 1; b < gold.size(); ++b) {
        if (gold[a] == gold[b]) continue;
        ++acc.pairs;
        acc.agree += (gold[a] > gold[b]) == (r[a] > r[b]);
      }
  }
  return acc;
}

}  // namespace rlhf::train
