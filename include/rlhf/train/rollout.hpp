#pragma once
// What one PPO rollout holds on the host (the generation, and the rewards, values and advantages
// computed from it), and the scorers that give each episode its score: the reward model's, or
// any C++ callable of the prompt and response texts.
#include <cstdint>
#include <functional>
#include <vector>

#include "rlhf/backend/staging.hpp"
#include "rlhf/core/tensor.hpp"
#include "rlhf/generate/generate.hpp"
#include "rlhf/nn/reward_model.hpp"

namespace rlhf::train {

// One rollout on the host: the generation and everything PPO computes from it.
template <class T>
struct Rollout {
  Generation<T> generation;
  std::vector<std::vector<std::int32_t>> prompts;    // the prompt tokens of each episode
  std::vector<std::vector<std::int32_t>> responses;  // the response tokens (EOS excluded)
  std::vector<bool> ended;                           // the response ends with EOS
  std::vector<T> scores;                             // after clip and missing-EOS penalty
  Tensor<std::int32_t, cpu> targets;                 // [B, L]: tokens shifted left (target of position j)
  // Action arrays [B, L − 1]: token j + 1 predicted at position j.
  Tensor<T, cpu> mask, old_logp, ref_logp, values, kl, rewards, advantages, returns;
};

// The score of a finished rollout's episodes: the reward model's, or a user's function.
template <class T>
using Scorer = std::function<std::vector<T>(const Rollout<T>&)>;

// A scorer from any callable (prompt text, response text) -> float: programmatic rewards.
template <class T, class Tok, class Fn>
Scorer<T> text_scorer(const Tok& tokenizer, Fn fn) {
  return [&tokenizer, fn](const Rollout<T>& r) {
    std::vector<T> s;
    for (std::size_t b = 0; b < r.prompts.size(); ++b)
      s.push_back(T(fn(tokenizer.decode(r.prompts[b]), tokenizer.decode(r.responses[b]))));
    return s;
  };
}

// The reward model's normalised score of each row of a generation, read at the response's EOS
// (or its last token).
template <class T, Backend B>
std::vector<T> reward_model_scores(nn::RewardModel<T, B>& rm, const Generation<T>& g, std::int32_t eos_id) {
  const std::vector<std::int64_t> from(g.response_lengths.size(), g.prompt_length);
  const std::vector<std::int32_t> at = nn::reward_positions(g.tokens.cview(), g.attention_mask.cview(), eos_id, from);
  Tensor<std::int32_t, B> ids_s, pos_s;
  Tensor<T, B> mask_s;
  return rm.scores(on_backend<B>(g.tokens.cview(), ids_s), on_backend<B>(g.positions.cview(), pos_s),
                   on_backend<B>(g.attention_mask.cview(), mask_s), at);
}

template <class T, Backend B>
Scorer<T> reward_model_scorer(nn::RewardModel<T, B>& rm, std::int32_t eos_id) {
  return [&rm, eos_id](const Rollout<T>& r) { return reward_model_scores(rm, r.generation, eos_id); };
}

}  // namespace rlhf::train
