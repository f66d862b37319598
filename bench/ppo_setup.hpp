#pragma once
// The PPO iteration that bench_ppo (CPU) and bench_cuda (GPU) time, on any backend: the shapes
// of the pipeline's default (configs/default.json) — GPT-2 architecture, vocab 257, context 96,
// 4 layers, 4 heads, width 128; 32 prompts of 16 random tokens; exactly 40 sampled tokens per
// response (no EOS); 4 PPO epochs of minibatches of 8 episodes; the score from a reward model of
// the same size, the value model initialised from it. The model and the epochs can be changed
// (bench_ppo's memory benchmark runs four GPT-2 124M models for one epoch).
#include <cstdint>
#include <vector>

#include "rlhf/rlhf.hpp"

namespace rlhf_bench {

inline rlhf::nn::GPTConfig ppo_model() { return {257, 96, 128, 4, 4, 1e-5, 0.02}; }

inline rlhf::train::PPOConfig ppo_config(std::int64_t epochs = 4) {
  rlhf::train::PPOConfig cfg;
  cfg.batch_size = 32;
  cfg.max_new_tokens = 40;
  cfg.ppo_epochs = epochs;
  cfg.mini_batch_size = 8;
  cfg.learning_rate = 1e-5;
  cfg.kl_coef = 0.05;
  return cfg;
}

// Policy and reference from the same weights, the value model from the reward model's.
template <class B>
struct PpoModels {
  rlhf::nn::GPT<float, B> policy;
  rlhf::nn::GPT<float, B> reference;
  rlhf::nn::RewardModel<float, B> value;
  rlhf::nn::RewardModel<float, B> rm;
  explicit PpoModels(const rlhf::nn::GPTConfig& model = ppo_model())
      : policy(model), reference(model, rlhf::nn::Trainable::no), value(model), rm(model, rlhf::nn::Trainable::no) {
    policy.init_weights(0);
    B::copy(reference.parameters().data(), policy.parameters().data(), policy.parameters().bytes());
    rm.init_weights(1);
    B::copy(value.gpt().parameters().data(), rm.gpt().parameters().data(), rm.gpt().parameters().bytes());
  }
};

inline std::vector<std::vector<std::int32_t>> ppo_prompts() {
  std::vector<std::vector<std::int32_t>> out;
  const rlhf::PhiloxStream rng{3, 0};
  for (int i = 0; i < 64; ++i) {
    std::vector<std::int32_t> p;
    for (int j = 0; j < 16; ++j) p.push_back(1 + std::int32_t(rng.word(std::uint64_t(i * 16 + j)) % 254));
    out.push_back(p);
  }
  return out;
}

// The models (a base, so built first), the prompts and the trainer over them.
template <class B>
struct PpoSetup : PpoModels<B> {
  static constexpr std::int32_t no_eos = -1;  // every response is exactly 40 tokens
  std::vector<std::vector<std::int32_t>> prompts = ppo_prompts();
  rlhf::train::PPOTrainer<float, B> trainer;
  explicit PpoSetup(const rlhf::nn::GPTConfig& model = ppo_model(), std::int64_t epochs = 4)
      : PpoModels<B>(model),
        trainer(this->policy, this->reference, this->value, rlhf::train::reward_model_scorer(this->rm, no_eos), prompts,
                no_eos, ppo_config(epochs)) {}
};

}  // namespace rlhf_bench
