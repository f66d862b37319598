// GPU benchmarks of the CUDA backend, timed by CUDA events around each iteration (Google
// Benchmark's manual time): a GPT-2 124M training step (forward, backward, gradient clipping,
// AdamW) at batch 8 and 16 × 1024 tokens with fp32, tf32 and bf16 matmuls; KV-cached generation
// of GPT-2 124M at batch 1, 16 and 64; one PPO iteration at the pipeline's default shapes
// (bench/ppo_setup.hpp).
//
// Counters: tokens/s; for training FLOP/s of the step's matmuls (bench/model_flops.hpp)
// and, when the environment gives the device's peak for the precision (peak_tflops), MFU =
// FLOP/s / peak. Without a GPU the program says so and exits 77.
#include <benchmark/benchmark.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_main.hpp"
#include "model_configs.hpp"
#include "model_flops.hpp"
#include "ppo_setup.hpp"
#include "rlhf/backend/cuda.hpp"
#include "rlhf/rlhf.hpp"

namespace {

using gpu = rlhf::cuda;  // libcu++ declares a global namespace `cuda`
using rlhf::Tensor;
using rlhf::nn::GPT;
using rlhf::nn::GPTConfig;

using rlhf_bench::gpt2_124m;

// Elapsed seconds between two events on the default stream.
class EventTimer {
 public:
  EventTimer() {
    RLHF_CUDA_CHECK(cudaEventCreate(&start_));
    RLHF_CUDA_CHECK(cudaEventCreate(&stop_));
  }
  ~EventTimer() {
    (void)cudaEventDestroy(start_);
    (void)cudaEventDestroy(stop_);
  }
  void start() { RLHF_CUDA_CHECK(cudaEventRecord(start_)); }
  double stop() {
    RLHF_CUDA_CHECK(cudaEventRecord(stop_));
    RLHF_CUDA_CHECK(cudaEventSynchronize(stop_));
    float ms = 0;
    RLHF_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
    return double(ms) / 1e3;
  }

 private:
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

Tensor<std::int32_t, gpu> random_ids(std::int64_t B, std::int64_t T, std::int64_t vocab, std::uint64_t seed) {
  std::vector<std::int32_t> v(static_cast<std::size_t>(B * T));
  const rlhf::PhiloxStream rng{seed, 0};
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::int32_t(rng.word(i) % std::uint64_t(vocab));
  return Tensor<std::int32_t, gpu>(rlhf::Shape{B, T}, std::span<const std::int32_t>(v));
}

// The device's peak TFLOP/s for a precision: RLHF_PEAK_TFLOPS_FP32, _TF32 or _BF16 (dense, no
// sparsity; an H100 SXM's are 67, 495 and 989), else RLHF_PEAK_TFLOPS; 0 when neither is set.
double peak_tflops(const std::string& precision) {
  std::string var = "RLHF_PEAK_TFLOPS_" + precision;
  for (char& c : var) c = char(std::toupper(static_cast<unsigned char>(c)));
  if (const char* v = std::getenv(var.c_str())) return std::atof(v);
  if (const char* v = std::getenv("RLHF_PEAK_TFLOPS")) return std::atof(v);
  return 0;
}

// Args: batch B (× 1024 tokens) and the matmul precision (0 fp32, 1 tf32, 2 bf16: weights,
// gradients and AdamW in fp32 throughout, backend/precision.hpp).
void BM_cuda_train_step_124m(benchmark::State& state) {
  const std::int64_t B = state.range(0), T = 1024;
  const auto precision = static_cast<rlhf::MatmulPrecision>(state.range(1));
  const std::string name{rlhf::name_of(precision)};
  state.SetLabel(name);
  const GPTConfig config = gpt2_124m();
  GPT<float, gpu> model(config, gpu{nullptr, precision});
  model.init_weights(1);
  rlhf::optim::AdamW<float, gpu> opt(model.layout(), {0.9, 0.95, 1e-8, 0.1});
  const auto ids = random_ids(B, T, config.vocab_size, 7), targets = random_ids(B, T, config.vocab_size, 8);
  EventTimer timer;
  for (auto _ : state) {
    timer.start();
    model.zero_grad();
    model.forward(ids.cview());
    benchmark::DoNotOptimize(model.lm_loss(targets.cview()));
    model.backward_lm_loss();
    rlhf::optim::clip_grad_norm(model.backend(), model.gradients().view(), 1.0);
    opt.step(model.parameters().view(), model.gradients(), 1e-4);
    state.SetIterationTime(timer.stop());
  }
  const double flops = rlhf_bench::train_flops(config, B, T);
  state.counters["tokens/s"] = benchmark::Counter(double(B * T), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  if (const double peak = peak_tflops(name); peak > 0)
    state.counters["MFU"] = benchmark::Counter(flops / (peak * 1e12), benchmark::Counter::kIsIterationInvariantRate);
}

// Batch B, a 16-token prompt, 128 new tokens sampled at temperature 1 with the KV cache.
void BM_cuda_generate_124m(benchmark::State& state) {
  const std::int64_t B = state.range(0), new_tokens = 128;
  GPT<float, gpu> model(gpt2_124m());
  model.init_weights(2);
  std::vector<std::vector<std::int32_t>> prompts;
  const rlhf::PhiloxStream rng{4, 0};
  for (std::int64_t b = 0; b < B; ++b) {
    std::vector<std::int32_t> p;
    for (int j = 0; j < 16; ++j) p.push_back(std::int32_t(rng.word(std::uint64_t(b * 16 + j)) % 50257));
    prompts.push_back(p);
  }
  rlhf::GenerationConfig config;
  config.max_new_tokens = new_tokens;
  EventTimer timer;
  for (auto _ : state) {
    timer.start();
    benchmark::DoNotOptimize(rlhf::generate(model, prompts, config));
    state.SetIterationTime(timer.stop());
  }
  state.counters["tokens/s"] =
      benchmark::Counter(double(B * new_tokens), benchmark::Counter::kIsIterationInvariantRate);
}

// One PPO iteration at the pipeline's default shapes (bench/ppo_setup.hpp, as bench_ppo).
void BM_cuda_ppo_iteration(benchmark::State& state) {
  rlhf_bench::PpoSetup<gpu> setup;
  EventTimer timer;
  for (auto _ : state) {
    timer.start();
    benchmark::DoNotOptimize(setup.trainer.step());
    state.SetIterationTime(timer.stop());
  }
  state.counters["episodes/s"] =
      benchmark::Counter(double(rlhf_bench::ppo_config().batch_size), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_cuda_train_step_124m)
    ->ArgNames({"B", "precision"})
    ->ArgsProduct({{8, 16},
                   {int(rlhf::MatmulPrecision::fp32), int(rlhf::MatmulPrecision::tf32),
                    int(rlhf::MatmulPrecision::bf16)}})
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();
BENCHMARK(BM_cuda_generate_124m)->Arg(1)->Arg(16)->Arg(64)->Unit(benchmark::kMillisecond)->UseManualTime();
BENCHMARK(BM_cuda_ppo_iteration)->Unit(benchmark::kMillisecond)->UseManualTime();

int main(int argc, char** argv) {
  if (gpu::device_count() == 0) {
    std::printf("bench_cuda: no CUDA device or driver on this machine\n");
    return 77;
  }
  return rlhf_bench::run_registered_benchmarks(argc, argv);
}
