// Reward-model training steps: InstructGPT's K-wise form (each of a prompt's K completions is
// forwarded once, and all C(K,2) comparisons share the K rewards) against the naive expansion of
// the same comparisons into pairs (2·C(K,2) forwards per prompt, what a pairwise-only trainer
// does with ranked data), at K = 4 and K = 9. Counter: comparisons/s; the K-wise/naive ratio
// approaches 2·C(K,2)/K = K - 1.
//
// Model: the tiny config of bench_gpt (vocab 256, context 128, 4 layers, 4 heads, width 128);
// sequences of 64 tokens; 4 prompts per step. A step is zero-grad, forward, loss, backward,
// gradient clipping and AdamW.
#include <benchmark/benchmark.h>

#include <vector>

#include "bench_main.hpp"
#include "rlhf/rlhf.hpp"

namespace {

using rlhf::cpu;
using rlhf::Tensor;

constexpr std::int64_t prompts = 4, length = 64;

rlhf::nn::GPTConfig tiny() { return {256, 128, 128, 4, 4, 1e-5, 0.02}; }

void reward_step(benchmark::State& state, bool kwise) {
  const auto K = static_cast<std::int32_t>(state.range(0));
  const std::int64_t pairs_per_prompt = std::int64_t(K) * (K - 1) / 2;
  rlhf::nn::RewardModel<float, cpu> model(tiny());
  model.init_weights(1);
  rlhf::optim::AdamW<float, cpu> opt(model.gpt().layout(), {0.9, 0.95, 1e-8, 0.0});
  // K-wise: prompts × K rows, ranks 1..K. Naive: prompts × C(K,2) pairs, each (better, worse).
  const std::int64_t rows = kwise ? prompts * K : prompts * 2 * pairs_per_prompt;
  Tensor<std::int32_t, cpu> ids({rows, length});
  const rlhf::PhiloxStream rng{3, 0};
  for (std::int64_t i = 0; i < ids.numel(); ++i) ids.data()[i] = std::int32_t(rng.word(std::uint64_t(i)) % 256);
  const std::vector<std::int32_t> read_at(std::size_t(rows), std::int32_t(length - 1));
  std::vector<rlhf::data::RankedGroup> groups;
  std::vector<std::int32_t> ranks(static_cast<std::size_t>(K), 0);
  for (std::int32_t i = 0; i < K; ++i) ranks[std::size_t(i)] = i + 1;
  for (std::int64_t p = 0; p < prompts; ++p) groups.push_back({p * K, ranks});
  std::vector<float> host(static_cast<std::size_t>(rows), 0.0f), d(static_cast<std::size_t>(rows), 0.0f);
  Tensor<float, cpu> drewards({rows});
  for (auto _ : state) {
    model.zero_grad();
    const auto r = model.rewards(ids, {}, {}, read_at);
    std::copy_n(r.data(), rows, host.begin());
    if (kwise) {
      rlhf::loss::kwise_loss<float>(host, groups, d);
    } else {  // rows [0, P) better, [P, 2P) worse
      const std::size_t P = std::size_t(rows / 2);
      const std::span<const float> all(host);
      rlhf::loss::pairwise_loss<float>(all.first(P), all.last(P), std::span(d).first(P), std::span(d).last(P));
    }
    std::copy(d.begin(), d.end(), drewards.data());
    model.backward(drewards);
    rlhf::optim::clip_grad_norm(cpu{}, model.gpt().gradients().view(), 1.0);
    opt.step(model.gpt().parameters().view(), model.gpt().gradients(), 1e-4);
  }
  state.counters["comparisons/s"] =
      benchmark::Counter(double(prompts * pairs_per_prompt), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["forwards/step"] = double(rows);
}

void BM_reward_kwise(benchmark::State& state) { reward_step(state, true); }
void BM_reward_pairs_expanded(benchmark::State& state) { reward_step(state, false); }

}  // namespace

BENCHMARK(BM_reward_kwise)->Arg(4)->Arg(9)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_reward_pairs_expanded)->Arg(4)->Arg(9)->Unit(benchmark::kMillisecond)->UseRealTime();

int main(int argc, char** argv) { return rlhf_bench::run_benchmarks(argc, argv); }
