// Whole-model benchmarks of GPT<float, cpu>: a training step (forward, backward, gradient
// clipping and AdamW) at the tiny config and at GPT-2 124M (T = 64, 256, 1024), and KV-cached
// generation at the tiny config and at 124M after prompts of 64, 256 and 768 tokens.
// bench/torch_gpt_peer.py runs the same in PyTorch; bench/run_gpt.sh runs both.
//
// Counters: tokens/s (training: batch × length per step; generation: new tokens per second over
// the whole batch) and, for training, FLOP/s of the step's matmuls: 3 × those of the forward
// (the four Linear layers per block, causal attention's two products, the tied LM head), to read
// against the machine's sgemm peak.
#include <benchmark/benchmark.h>

#include <vector>

#include "bench_main.hpp"
#include "model_configs.hpp"
#include "model_flops.hpp"
#include "rlhf/rlhf.hpp"

namespace {

using rlhf::cpu;
using rlhf::Tensor;
using rlhf::nn::GPT;
using rlhf::nn::GPTConfig;

GPTConfig tiny() { return {256, 128, 128, 4, 4, 1e-5, 0.02}; }
using rlhf_bench::gpt2_124m;

void train_step(benchmark::State& state, GPTConfig config, std::int64_t B, std::int64_t T) {
  GPT<float, cpu> model(config);
  model.init_weights(1);
  rlhf::optim::AdamW<float, cpu> opt(model.layout(), {0.9, 0.95, 1e-8, 0.1});
  Tensor<std::int32_t, cpu> ids({B, T}), targets({B, T});
  const rlhf::PhiloxStream rng{7, 0};
  for (std::int64_t i = 0; i < B * T; ++i) {
    ids.data()[i] = static_cast<std::int32_t>(rng.word(2 * std::uint64_t(i)) % config.vocab_size);
    targets.data()[i] = static_cast<std::int32_t>(rng.word(2 * std::uint64_t(i) + 1) % config.vocab_size);
  }
  for (auto _ : state) {
    model.zero_grad();
    model.forward(ids);
    benchmark::DoNotOptimize(model.lm_loss(targets));
    model.backward_lm_loss();
    rlhf::optim::clip_grad_norm(cpu{}, model.gradients().view(), 1.0);
    opt.step(model.parameters().view(), model.gradients(), 1e-4);
  }
  state.counters["tokens/s"] = benchmark::Counter(double(B * T), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["FLOP/s"] =
      benchmark::Counter(rlhf_bench::train_flops(config, B, T), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_train_step_tiny(benchmark::State& state) { train_step(state, tiny(), 16, 128); }
void BM_train_step_124m(benchmark::State& state) { train_step(state, gpt2_124m(), 4, 64); }
// How the step's cost grows with the sequence (bench/run_gpt.sh plots tokens/s and peak RSS).
void BM_train_step_124m_T256(benchmark::State& state) { train_step(state, gpt2_124m(), 4, 256); }
void BM_train_step_124m_T1024(benchmark::State& state) { train_step(state, gpt2_124m(), 4, 1024); }

// KV-cached sampling (temperature 1, no EOS) of `new_tokens` after each prompt; tokens/s counts
// the new tokens of the whole batch over the whole call (the prompts' prefill included).
void generate(benchmark::State& state, GPTConfig model_config, std::vector<std::vector<std::int32_t>> prompts,
              std::int64_t new_tokens) {
  GPT<float, cpu> model(model_config);
  model.init_weights(1);
  rlhf::GenerationConfig config;
  config.max_new_tokens = new_tokens;
  config.sampling.temperature = 1.0;
  std::uint64_t seed = 0;
  for (auto _ : state) {
    config.seed = seed++;
    benchmark::DoNotOptimize(rlhf::generate(model, prompts, config).tokens.data());
  }
  state.counters["tokens/s"] =
      benchmark::Counter(double(prompts.size()) * double(new_tokens), benchmark::Counter::kIsIterationInvariantRate);
}

// Batch 16, a one-token prompt, 127 new tokens (the tiny context is 128).
void BM_generate_tiny(benchmark::State& state) {
  generate(state, tiny(), std::vector<std::vector<std::int32_t>>(16, std::vector<std::int32_t>{0}), 127);
}

// GPT-2 124M, one sequence: a prompt of P tokens, then 32 new tokens. Each new token reads every
// weight once (0.5 GB), so decoding is bound by memory bandwidth.
void generate_124m(benchmark::State& state, std::int32_t P) {
  std::vector<std::int32_t> prompt(static_cast<std::size_t>(P));
  for (std::int32_t i = 0; i < P; ++i)
    prompt[static_cast<std::size_t>(i)] = (i * 7919) % std::int32_t(gpt2_124m().vocab_size);
  generate(state, gpt2_124m(), {prompt}, 32);
}
void BM_generate_124m_P64(benchmark::State& state) { generate_124m(state, 64); }
void BM_generate_124m_P256(benchmark::State& state) { generate_124m(state, 256); }
void BM_generate_124m_P768(benchmark::State& state) { generate_124m(state, 768); }

}  // namespace

BENCHMARK(BM_train_step_tiny)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_train_step_124m)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(5.0);
BENCHMARK(BM_train_step_124m_T256)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(5.0);
BENCHMARK(BM_train_step_124m_T1024)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(5.0);
BENCHMARK(BM_generate_tiny)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_generate_124m_P64)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_generate_124m_P256)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_generate_124m_P768)->Unit(benchmark::kMillisecond)->UseRealTime();
int main(int argc, char** argv) { return rlhf_bench::run_benchmarks(argc, argv); }
