// Google Benchmark programs for the CPU kernels (float) at the shapes of GPT-2 124M, plus raw
// OpenBLAS sgemm at the same shapes as a reference peak (when the build routes Eigen to OpenBLAS).
// Counter conventions: bench/bench_common.hpp and docs/performance.md. Run all of it, with the
// PyTorch peer, through bench/run.sh.
#include <cmath>
#include <cstdint>
#include <string>

#include "bench_common.hpp"
#include "rlhf/rlhf.hpp"

#ifdef RLHF_BENCH_CBLAS
#include <cblas.h>
#endif

namespace {

using namespace rlhf;
using namespace rlhf_bench;
using Tf = Tensor<float, cpu>;

Tf random_tensor(Shape s, float lo, float hi, unsigned seed) {
  Tf t(s);
  fill_uniform(t.data(), t.numel(), lo, hi, seed);
  return t;
}

#ifdef RLHF_BENCH_CBLAS
// Raw cblas_sgemm at a matmul shape, row-major like our tensors: the forward product
// (out = a · W, or a · Wᵀ for out_in), and the two products of the backward pass
// (da += dout · Wᵀ, dw += aᵀ · dout, or dw += doutᵀ · a for out_in), beta = 1 as ours.
void register_cblas(const GemmShape& g) {
  const int M = int(g.M), K = int(g.K), N = int(g.N);
  const double gemm_flops = 2.0 * double(g.M) * double(g.N) * double(g.K);
  benchmark::RegisterBenchmark(
      ("sgemm_openblas/" + gemm_name(g)).c_str(),
      [=](benchmark::State& state) {
        Tf a = random_tensor({g.M, g.K}, -1, 1, 1), w = random_tensor({g.K, g.N}, -0.05f, 0.05f, 2), out({g.M, g.N});
        for (auto _ : state) {
          if (g.out_in)  // W [N, K]
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.f, a.data(), K, w.data(), K, 0.f,
                        out.data(), N);
          else  // W [K, N]
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.f, a.data(), K, w.data(), N, 0.f,
                        out.data(), N);
          benchmark::DoNotOptimize(out.data());
          benchmark::ClobberMemory();
        }
        set_flops(state, gemm_flops);
      })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(
      ("sgemm_openblas_bwd/" + gemm_name(g)).c_str(),
      [=](benchmark::State& state) {
        Tf a = random_tensor({g.M, g.K}, -1, 1, 1), w = random_tensor({g.K, g.N}, -0.05f, 0.05f, 2);
        Tf dout = random_tensor({g.M, g.N}, -1e-3f, 1e-3f, 4), da({g.M, g.K}), dw({g.K, g.N});
        for (auto _ : state) {
          if (g.out_in) {  // W, dW [N, K]
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, K, N, 1.f, dout.data(), N, w.data(), K, 1.f,
                        da.data(), K);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, K, M, 1.f, dout.data(), N, a.data(), K, 1.f,
                        dw.data(), K);
          } else {  // W, dW [K, N]
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, K, N, 1.f, dout.data(), N, w.data(), N, 1.f,
                        da.data(), K);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, M, 1.f, a.data(), K, dout.data(), N, 1.f,
                        dw.data(), N);
          }
          benchmark::DoNotOptimize(dw.data());
          benchmark::ClobberMemory();
        }
        set_flops(state, 2 * gemm_flops);
      })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}
#endif

// ---- matmul ---------------------------------------------------------------------------------
void register_matmul() {
  for (const GemmShape& g : gemm_shapes()) {
    const WeightLayout layout = g.out_in ? WeightLayout::out_in : WeightLayout::in_out;
    const Shape wshape = g.out_in ? Shape{g.N, g.K} : Shape{g.K, g.N};
    const bool has_bias = !g.out_in;  // the LM head has no bias
    const double gemm_flops = 2.0 * double(g.M) * double(g.N) * double(g.K);
    benchmark::RegisterBenchmark(
        ("matmul_forward/" + gemm_name(g)).c_str(),
        [=](benchmark::State& state) {
          Tf a = random_tensor({g.M, g.K}, -1, 1, 1), w = random_tensor(wshape, -0.05f, 0.05f, 2);
          Tf bias = random_tensor({g.N}, -0.1f, 0.1f, 3), out({g.M, g.N});
          for (auto _ : state) {
            matmul_forward(cpu{}, out.view(), a, w, has_bias ? bias.cview() : View<const float, cpu>{}, layout);
            benchmark::DoNotOptimize(out.data());
            benchmark::ClobberMemory();
          }
          set_flops(state, gemm_flops);
        })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(
        ("matmul_backward/" + gemm_name(g)).c_str(),
        [=](benchmark::State& state) {
          Tf a = random_tensor({g.M, g.K}, -1, 1, 1), w = random_tensor(wshape, -0.05f, 0.05f, 2);
          Tf dout = random_tensor({g.M, g.N}, -1e-3f, 1e-3f, 4);
          Tf da({g.M, g.K}), dw(wshape), dbias({g.N});
          for (auto _ : state) {
            matmul_backward(cpu{}, da.view(), dw.view(), has_bias ? dbias.view() : View<float, cpu>{}, dout, a, w,
                            layout);
            benchmark::DoNotOptimize(dw.data());
            benchmark::ClobberMemory();
          }
          set_flops(state, 2 * gemm_flops);
        })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
#ifdef RLHF_BENCH_CBLAS
    register_cblas(g);  // right after ours, so that both run under the same machine state
#endif
  }
}

// ---- attention ------------------------------------------------------------------------------
std::string attention_name(std::int64_t B, std::int64_t T, std::int64_t H, std::int64_t C) {
  std::string s = "B";  // appended piecewise: GCC 12's -Wrestrict misfires on "B" + std::string
  s += std::to_string(B);
  s += "xT";
  s += std::to_string(T);
  s += "xH";
  s += std::to_string(H);
  s += "xC";
  s += std::to_string(C);
  return s;
}

void register_attention() {
  constexpr std::int64_t H = 12, C = n_embd;
  for (std::int64_t B : {1, 4}) {
    for (std::int64_t T : {64, 256, 1024}) {
      const double useful = 2.0 * double(B) * double(T) * double(T) * double(C);  // 2 GEMMs × 2·T·T·D/2 × B·H
      const std::string shape = attention_name(B, T, H, C);
      benchmark::RegisterBenchmark(("attention_forward/" + shape).c_str(),
                                   [=](benchmark::State& state) {
                                     Tf qkv = random_tensor({B, T, 3 * C}, -1, 1, 5), out({B, T, C}), att({B, H, T, T});
                                     for (auto _ : state) {
                                       attention_forward(cpu{}, out.view(), att.view(), qkv, View<const float, cpu>{},
                                                         H);
                                       benchmark::DoNotOptimize(out.data());
                                       benchmark::ClobberMemory();
                                     }
                                     set_flops(state, useful);
                                   })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(
          ("attention_backward/" + shape).c_str(),
          [=](benchmark::State& state) {
            Tf qkv = random_tensor({B, T, 3 * C}, -1, 1, 5), out({B, T, C}), att({B, H, T, T});
            attention_forward(cpu{}, out.view(), att.view(), qkv, View<const float, cpu>{}, H);
            Tf dout = random_tensor({B, T, C}, -1e-3f, 1e-3f, 6), dqkv({B, T, 3 * C}), datt({B, H, T, T});
            for (auto _ : state) {
              attention_backward(cpu{}, dqkv.view(), datt.view(), dout, qkv, att, H);
              benchmark::DoNotOptimize(dqkv.data());
              benchmark::ClobberMemory();
            }
            set_flops(state, 2 * useful);
          })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
}

// ---- memory-bound ops -----------------------------------------------------------------------
void register_layernorm() {
  constexpr std::int64_t N = 1024, C = n_embd;
  const double nc = double(N) * C * sizeof(float);
  const std::string shape = std::to_string(N) + "x" + std::to_string(C);
  benchmark::RegisterBenchmark(("layernorm_forward/" + shape).c_str(),
                               [=](benchmark::State& state) {
                                 Tf x = random_tensor({N, C}, -2, 2, 7), w = random_tensor({C}, 0.5f, 1.5f, 8),
                                    b = random_tensor({C}, -0.1f, 0.1f, 9);
                                 Tf out({N, C}), mean({N}), rstd({N});
                                 for (auto _ : state) {
                                   layernorm_forward(cpu{}, out.view(), mean.view(), rstd.view(), x, w, b, 1e-5f);
                                   benchmark::DoNotOptimize(out.data());
                                   benchmark::ClobberMemory();
                                 }
                                 set_bytes(state, 2 * nc);  // read x, write out
                               })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark(("layernorm_backward/" + shape).c_str(),
                               [=](benchmark::State& state) {
                                 Tf x = random_tensor({N, C}, -2, 2, 7), w = random_tensor({C}, 0.5f, 1.5f, 8),
                                    b = random_tensor({C}, -0.1f, 0.1f, 9);
                                 Tf out({N, C}), mean({N}), rstd({N});
                                 layernorm_forward(cpu{}, out.view(), mean.view(), rstd.view(), x, w, b, 1e-5f);
                                 Tf dout = random_tensor({N, C}, -1e-3f, 1e-3f, 10), dx({N, C}), dw({C}), db({C});
                                 for (auto _ : state) {
                                   layernorm_backward(cpu{}, dx.view(), dw.view(), db.view(), dout, x, w, mean, rstd);
                                   benchmark::DoNotOptimize(dx.data());
                                   benchmark::ClobberMemory();
                                 }
                                 set_bytes(state, 4 * nc);  // read x, dout; read + write dx
                               })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
}

void register_gelu() {
  constexpr std::int64_t N = 1024, C = 4 * n_embd;
  const double nc = double(N) * C * sizeof(float);
  const std::string shape = std::to_string(N) + "x" + std::to_string(C);
  benchmark::RegisterBenchmark(("gelu_forward/" + shape).c_str(),
                               [=](benchmark::State& state) {
                                 Tf x = random_tensor({N, C}, -3, 3, 11), out({N, C});
                                 for (auto _ : state) {
                                   gelu_forward(cpu{}, out.view(), x);
                                   benchmark::DoNotOptimize(out.data());
                                   benchmark::ClobberMemory();
                                 }
                                 set_bytes(state, 2 * nc);  // read x, write out
                               })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark(
      ("gelu_backward/" + shape).c_str(),
      [=](benchmark::State& state) {
        Tf x = random_tensor({N, C}, -3, 3, 11), dout = random_tensor({N, C}, -1e-3f, 1e-3f, 12), dx({N, C});
        for (auto _ : state) {
          gelu_backward(cpu{}, dx.view(), dout, x);
          benchmark::DoNotOptimize(dx.data());
          benchmark::ClobberMemory();
        }
        set_bytes(state, 4 * nc);  // read x, dout; read + write dx
      })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
}

// Ops over the vocabulary: logits [256, 50257] (two sequences of 128 tokens, or one of 256).
void register_vocab_ops() {
  constexpr std::int64_t N = 256, V = vocab;
  const double nv = double(N) * V * sizeof(float);
  const std::string shape = std::to_string(N) + "x" + std::to_string(V);
  auto make_targets = [] {
    Tensor<std::int32_t, cpu> t({N});
    for (std::int64_t n = 0; n < N; ++n) t.data()[n] = std::int32_t((n * 7919) % V);
    return t;
  };
  benchmark::RegisterBenchmark(("cross_entropy_forward/" + shape).c_str(),
                               [=](benchmark::State& state) {
                                 Tf logits = random_tensor({N, V}, -8, 8, 13), losses({N}), lse({N});
                                 auto targets = make_targets();
                                 for (auto _ : state) {
                                   float loss = cross_entropy_forward(cpu{}, losses.view(), lse.view(), logits, targets,
                                                                      View<const float, cpu>{});
                                   benchmark::DoNotOptimize(loss);
                                 }
                                 set_bytes(state, nv);  // read logits
                               })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark(
      ("cross_entropy_backward/" + shape).c_str(),
      [=](benchmark::State& state) {
        Tf logits = random_tensor({N, V}, -8, 8, 13), losses({N}), lse({N}), dlogits({N, V});
        auto targets = make_targets();
        cross_entropy_forward(cpu{}, losses.view(), lse.view(), logits, targets, View<const float, cpu>{});
        for (auto _ : state) {
          cross_entropy_backward(cpu{}, dlogits.view(), logits, lse, targets, View<const float, cpu>{}, 1.0f);
          benchmark::DoNotOptimize(dlogits.data());
          benchmark::ClobberMemory();
        }
        set_bytes(state, 3 * nv);  // read logits; read + write dlogits
      })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark(("logprob_forward/" + shape).c_str(),
                               [=](benchmark::State& state) {
                                 Tf logits = random_tensor({N, V}, -8, 8, 13), logp({N}), lse({N});
                                 auto targets = make_targets();
                                 for (auto _ : state) {
                                   logprob_forward(cpu{}, logp.view(), lse.view(), logits, targets, 0.7f);
                                   benchmark::DoNotOptimize(logp.data());
                                   benchmark::ClobberMemory();
                                 }
                                 set_bytes(state, nv);
                               })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark(("logprob_backward/" + shape).c_str(),
                               [=](benchmark::State& state) {
                                 Tf logits = random_tensor({N, V}, -8, 8, 13), logp({N}), lse({N}), dlogits({N, V});
                                 Tf dlogp = random_tensor({N}, -1, 1, 14);
                                 auto targets = make_targets();
                                 logprob_forward(cpu{}, logp.view(), lse.view(), logits, targets, 0.7f);
                                 for (auto _ : state) {
                                   logprob_backward(cpu{}, dlogits.view(), dlogp, logits, lse, targets, 0.7f);
                                   benchmark::DoNotOptimize(dlogits.data());
                                   benchmark::ClobberMemory();
                                 }
                                 set_bytes(state, 3 * nv);
                               })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark(("entropy_forward/" + shape).c_str(),
                               [=](benchmark::State& state) {
                                 Tf logits = random_tensor({N, V}, -8, 8, 13), ent({N}), lse({N});
                                 for (auto _ : state) {
                                   entropy_forward(cpu{}, ent.view(), lse.view(), logits, 0.7f);
                                   benchmark::DoNotOptimize(ent.data());
                                   benchmark::ClobberMemory();
                                 }
                                 set_bytes(state, nv);
                               })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark(("entropy_backward/" + shape).c_str(),
                               [=](benchmark::State& state) {
                                 Tf logits = random_tensor({N, V}, -8, 8, 13), ent({N}), lse({N}), dlogits({N, V});
                                 Tf dent = random_tensor({N}, -1, 1, 15);
                                 entropy_forward(cpu{}, ent.view(), lse.view(), logits, 0.7f);
                                 for (auto _ : state) {
                                   entropy_backward(cpu{}, dlogits.view(), dent, logits, lse, ent, 0.7f);
                                   benchmark::DoNotOptimize(dlogits.data());
                                   benchmark::ClobberMemory();
                                 }
                                 set_bytes(state, 3 * nv);
                               })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace

int main(int argc, char** argv) {
  rlhf::reexec_with_fast_runtime(argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_matmul();
  register_attention();
  register_layernorm();
  register_gelu();
  register_vocab_ops();
#ifdef EIGEN_USE_BLAS
  benchmark::AddCustomContext("rlhf_matmul_path", "Eigen -> BLAS (EIGEN_USE_BLAS)");
#else
  benchmark::AddCustomContext("rlhf_matmul_path", "Eigen's own GEMM");
#endif
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
