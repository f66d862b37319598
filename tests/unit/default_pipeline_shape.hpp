// configs/default.json's model and PPO iteration, for the tests that run at the default
// pipeline's shape (tests/unit/test_invariance.cpp, tests/ops/model_parity.hpp): byte vocabulary,
// 4 layers of 128 in a context of 96; 8 episodes of up to 40 new tokens in one minibatch and one
// epoch, at the config's temperature, KL coefficient and learning rate.
#pragma once

#include "rlhf/nn/gpt_config.hpp"
#include "rlhf/train/ppo.hpp"

namespace testing {

inline rlhf::nn::GPTConfig default_pipeline_model() {
  rlhf::nn::GPTConfig c;
  c.vocab_size = 257;
  c.n_positions = 96;
  c.n_embd = 128;
  c.n_layer = 4;
  c.n_head = 4;
  return c;
}

inline rlhf::train::PPOConfig default_pipeline_ppo() {
  rlhf::train::PPOConfig c;
  c.batch_size = 8;
  c.mini_batch_size = 8;
  c.ppo_epochs = 1;
  c.max_new_tokens = 40;
  c.sampling.temperature = 0.8;
  c.kl_coef = 0.3;
  c.learning_rate = 1e-4;
  return c;
}

}  // namespace testing
