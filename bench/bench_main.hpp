#pragma once
// The main() of our benchmark programs: the runtime settings first (it may run the program again,
// backend/cpu/fast_runtime.hpp), then Google Benchmark as BENCHMARK_MAIN would.
#include <benchmark/benchmark.h>

#include "rlhf/backend/cpu/fast_runtime.hpp"

namespace rlhf_bench {

inline int run_benchmarks(int argc, char** argv) {
  rlhf::reexec_with_fast_runtime(argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace rlhf_bench
