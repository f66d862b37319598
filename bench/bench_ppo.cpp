// One PPO iteration (rollout + update) of train::PPOTrainer, split into generation, scoring and
// update; bench/trl_ppo_peer.py runs the same iteration with TRL's PPOTrainer and bench/run_ppo.sh
// runs both. Config (both sides): bench/ppo_setup.hpp, the shapes of the pipeline's default
// (32 prompts of 16 random tokens: the fortunes prompts average 15 bytes).
//
// Counters: episodes/s, and the seconds per iteration of each part: generation_s (sampling with
// the KV cache, plus the reference's log-probs and the value model's values of the rollout),
// scoring_s (the reward model), update_s (advantages and every PPO epoch).
#include <benchmark/benchmark.h>

#include <vector>

#include "bench_main.hpp"
#include "model_configs.hpp"
#include "ppo_setup.hpp"
#include "rlhf/rlhf.hpp"

namespace {

void BM_ppo_iteration(benchmark::State& state) {
  rlhf_bench::PpoSetup<rlhf::cpu> setup;
  auto& trainer = setup.trainer;
  double generation = 0, scoring = 0, update = 0;
  for (auto _ : state) {
    const nlohmann::json m = trainer.step();
    generation += m["time/generation"].get<double>();
    scoring += m["time/scoring"].get<double>();
    update += m["time/update"].get<double>();
  }
  const double n = double(state.iterations());
  state.counters["episodes/s"] =
      benchmark::Counter(double(rlhf_bench::ppo_config().batch_size), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["generation_s"] = generation / n;
  state.counters["scoring_s"] = scoring / n;
  state.counters["update_s"] = update / n;
}

// The memory of PPO at scale: one iteration of one epoch with four GPT-2 124M models (policy,
// reference, value, reward), the same prompts and responses. bench/run_ppo.sh runs it alone and
// reads the process's peak RSS; its time is not compared.
void BM_ppo_memory_124m(benchmark::State& state) {
  rlhf_bench::PpoSetup<rlhf::cpu> setup(rlhf_bench::gpt2_124m(), 1);
  for (auto _ : state) benchmark::DoNotOptimize(setup.trainer.step());
}

}  // namespace

BENCHMARK(BM_ppo_iteration)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ppo_memory_124m)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

int main(int argc, char** argv) { return rlhf_bench::run_benchmarks(argc, argv); }
