// One PPO iteration (rollout + update) of train::PPOTrainer, split into generation, scoring and
// update; bench/trl_ppo_peer.py runs the same iteration with TRL's PPOTrainer and bench/run_ppo.sh
// runs both. Config (both sides), the shapes of the pipeline's default (configs/default.json):
// GPT-2 architecture, vocab 257, context 96, 4 layers, 4 heads, width 128; 32 prompts of 16
// random tokens (the fortunes prompts average 15 bytes); exactly 40 sampled tokens per response
// (no EOS); 4 PPO epochs of minibatches of 8 episodes; the score from a reward model of the same
// size.
//
// Counters: episodes/s, and the seconds per iteration of each part: generation_s (sampling with
// the KV cache, plus the reference's log-probs and the value model's values of the rollout),
// scoring_s (the reward model), update_s (advantages and every PPO epoch).
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "bench_main.hpp"
#include "rlhf/rlhf.hpp"

namespace {

using rlhf::cpu;

rlhf::nn::GPTConfig tiny() { return {257, 96, 128, 4, 4, 1e-5, 0.02}; }

void BM_ppo_iteration(benchmark::State& state) {
  rlhf::nn::GPT<float, cpu> policy(tiny());
  rlhf::nn::GPT<float, cpu> reference(tiny(), rlhf::nn::Trainable::no);
  rlhf::nn::RewardModel<float, cpu> value(tiny());
  rlhf::nn::RewardModel<float, cpu> rm(tiny(), rlhf::nn::Trainable::no);
  policy.init_weights(0);
  std::memcpy(reference.parameters().data(), policy.parameters().data(), policy.parameters().bytes());
  rm.init_weights(1);
  std::memcpy(value.gpt().parameters().data(), rm.gpt().parameters().data(), rm.gpt().parameters().bytes());

  std::vector<std::vector<std::int32_t>> prompts;
  const rlhf::PhiloxStream rng{3, 0};
  for (int i = 0; i < 64; ++i) {
    std::vector<std::int32_t> p;
    for (int j = 0; j < 16; ++j) p.push_back(1 + std::int32_t(rng.word(std::uint64_t(i * 16 + j)) % 254));
    prompts.push_back(p);
  }
  rlhf::train::PPOConfig cfg;
  cfg.batch_size = 32;
  cfg.max_new_tokens = 40;
  cfg.ppo_epochs = 4;
  cfg.mini_batch_size = 8;
  cfg.learning_rate = 1e-5;
  cfg.kl_coef = 0.05;
  const std::int32_t no_eos = -1;  // every response is exactly 40 tokens
  rlhf::train::PPOTrainer<float, cpu> trainer(policy, reference, value, rlhf::train::reward_model_scorer(rm, no_eos),
                                              prompts, no_eos, cfg);
  double generation = 0, scoring = 0, update = 0;
  for (auto _ : state) {
    const nlohmann::json m = trainer.step();
    generation += m["time/generation"].get<double>();
    scoring += m["time/scoring"].get<double>();
    update += m["time/update"].get<double>();
  }
  const double n = double(state.iterations());
  state.counters["episodes/s"] = benchmark::Counter(double(cfg.batch_size), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["generation_s"] = generation / n;
  state.counters["scoring_s"] = scoring / n;
  state.counters["update_s"] = update / n;
}

}  // namespace

BENCHMARK(BM_ppo_iteration)->Unit(benchmark::kMillisecond)->UseRealTime();

int main(int argc, char** argv) { return rlhf_bench::run_benchmarks(argc, argv); }
