// PPO with a reward written in C++: any callable (prompt, response) -> float scores the episodes
// in place of a reward model, for research on programmatic rewards. Here the reward is the share
// of the response's letters that are 'e'; the policy is a small byte-level GPT (a fresh one, or
// the SFT checkpoint given as the first argument), the reference its frozen copy, and the value
// model a fresh reward model. The mean reward climbs while the KL to the reference stays bounded.
//
//   ppo_custom_reward [SFT_CHECKPOINT_DIR [ITERATIONS]]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "rlhf/rlhf.hpp"
#include "rlhf/train/ppo.hpp"

using rlhf::cpu;
using T = float;

// The programmatic reward: share of 'e' among the response's letters.
float e_share(const std::string& /*prompt*/, const std::string& response) {
  int letters = 0, e = 0;
  for (const char c : response) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) ++letters;
    e += c == 'e' || c == 'E';
  }
  return letters ? float(e) / float(letters) : 0.0f;
}

int main(int argc, char** argv) {
  rlhf::reexec_with_fast_runtime(argv);
  try {
    const rlhf::data::ByteTokenizer tok;
    const int iterations = argc > 2 ? std::atoi(argv[2]) : 30;
    // Policy (trained) and reference (frozen) start from the same weights.
    std::unique_ptr<rlhf::nn::GPT<T, cpu>> policy, reference;
    if (argc > 1) {
      policy = rlhf::io::load_gpt<T>(argv[1]);
      reference = rlhf::io::load_gpt<T>(argv[1], cpu{}, rlhf::nn::Trainable::no);
    } else {
      rlhf::nn::GPTConfig c;
      c.vocab_size = tok.vocab_size();
      c.n_positions = 64;
      c.n_embd = 64;
      c.n_layer = 2;
      c.n_head = 2;
      policy = std::make_unique<rlhf::nn::GPT<T, cpu>>(c);
      reference = std::make_unique<rlhf::nn::GPT<T, cpu>>(c, rlhf::nn::Trainable::no);
      policy->init_weights(1);
      std::memcpy(reference->parameters().data(), policy->parameters().data(), policy->parameters().bytes());
    }
    if (policy->config().vocab_size != tok.vocab_size())
      rlhf::fail("this example uses the byte tokenizer (vocab_size 257)");
    rlhf::nn::RewardModel<T, cpu> value(policy->config());
    value.init_weights(2);

    std::vector<std::vector<std::int32_t>> prompts;
    for (const char* p : {"The ", "A good ", "Once ", "Here is ", "We ", "Never "}) prompts.push_back(tok.encode(p));

    rlhf::train::PPOConfig cfg;
    cfg.batch_size = 24;
    cfg.mini_batch_size = 8;
    cfg.ppo_epochs = 4;
    cfg.max_new_tokens = 24;
    cfg.learning_rate = 1e-3;
    cfg.kl_coef = 0.02;
    rlhf::train::PPOTrainer<T, cpu> trainer(*policy, *reference, value, rlhf::train::text_scorer<T>(tok, e_share),
                                            prompts, tok.eos_id(), cfg);
    for (int i = 0; i < iterations; ++i) {
      const auto m = trainer.step();
      if (i % 5 == 0 || i + 1 == iterations)
        std::printf("iteration %3d  reward %.3f  kl %.3f  policy/loss %+.4f  value/loss %.4f\n", i + 1,
                    m["objective/scores"].get<double>(), m["objective/kl"].get<double>(),
                    m["policy/loss"].get<double>(), m["value/loss"].get<double>());
    }
    const auto& r = trainer.last_rollout();
    for (std::size_t b = 0; b < 3 && b < r.responses.size(); ++b)
      std::printf("sample: %s|%s\n", tok.decode(r.prompts[b]).c_str(), tok.decode(r.responses[b]).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ppo_custom_reward: %s\n", e.what());
    return 1;
  }
  return 0;
}
