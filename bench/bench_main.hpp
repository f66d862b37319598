#pragma once
// The main() of our benchmark programs: for the CPU ones the runtime settings first (it may run
// the program again, backend/cpu/fast_runtime.hpp), then Google Benchmark as BENCHMARK_MAIN would.
#include <benchmark/benchmark.h>

#include "rlhf/backend/cpu/fast_runtime.hpp"

namespace rlhf_bench {

// Google Benchmark's own main, as BENCHMARK_MAIN expands to.
inline int run_registered_benchmarks(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

// The CPU benchmarks' main: the runtime settings first, then the benchmarks.
inline int run_benchmarks(int argc, char** argv) {
  rlhf::reexec_with_fast_runtime(argv);
  return run_registered_benchmarks(argc, argv);
}

}  // namespace rlhf_bench
