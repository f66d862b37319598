// The machine's limits, the denominators of "% of limit" in docs/performance.md:
//   BM_sgemm_limit   cblas_sgemm at 1024 x 768 x 3072 (a GPT-2 MLP product), row-major, through
//                    whichever BLAS this program links; bench/run_limits.sh runs it once per kernel
//                    set that can be shipped (OpenBLAS's core types, BLIS) and keeps the best;
//   BM_stream_triad  a[i] = b[i] + s * c[i] over three 128 MiB arrays with OpenMP (STREAM's triad:
//                    12 bytes per element, the write-allocate traffic not counted), the bandwidth
//                    that memory-bound work can reach.
// Google Benchmark's own main: no re-exec into the library's runtime settings
// (backend/cpu/fast_runtime.hpp), so that the kernel set under test is the one the caller chose.
#include <cblas.h>

#include <cstdint>
#include <vector>

#include "bench_common.hpp"

namespace {

using namespace rlhf_bench;

void BM_sgemm_limit(benchmark::State& state) {
  const std::int64_t M = 1024, K = 768, N = 3072;
  std::vector<float> a(M * K), w(K * N), out(M * N);
  fill_uniform(a.data(), M * K, -1, 1, 1);
  fill_uniform(w.data(), K * N, -0.05f, 0.05f, 2);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.f, a.data(), K, w.data(), N, 0.f, out.data(), N);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, 2.0 * double(M) * double(N) * double(K));
}

void BM_stream_triad(benchmark::State& state) {
  const std::int64_t n = std::int64_t(32) << 20;  // 128 MiB per array: far beyond any cache
  std::vector<float> a(n), b(n), c(n);
#pragma omp parallel for schedule(static)  // first touch by the threads that use the pages
  for (std::int64_t i = 0; i < n; ++i) a[i] = 0.f, b[i] = 1.f, c[i] = 2.f;
  const float s = 3.f;
  for (auto _ : state) {
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
    benchmark::DoNotOptimize(a.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, 3.0 * 4.0 * double(n));
}

}  // namespace

BENCHMARK(BM_sgemm_limit)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_stream_triad)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
