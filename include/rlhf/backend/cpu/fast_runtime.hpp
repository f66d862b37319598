#pragma once
// Two settings of the CPU runtime that can only be made before the libraries load, through the
// environment, and that decide a large share of the CPU backend's speed:
//
//   OPENBLAS_CORETYPE  OpenBLAS picks its GEMM kernels from the CPU model. A release older than
//                      the CPU does not know it and falls back to its Prescott (SSE3) kernels:
//                      Debian 12's OpenBLAS 0.3.21 on Sapphire/Emerald Rapids runs sgemm 2-3x
//                      slower than with its SkylakeX kernels.
//   OMP_WAIT_POLICY    With the pthreads build of OpenBLAS (Debian's default), our OpenMP team
//                      and OpenBLAS's own threads share the cores. libgomp's default (active)
//                      wait keeps idle team threads spinning on the cores a GEMM needs: a training
//                      step of the tiny GPT ran 2.6x slower, of GPT-2 124M 1.8x (2 cores).
//                      PASSIVE makes waiting threads sleep.
//
//   rlhf::fast_runtime_settings()     the variables worth setting here (those not set already)
//   rlhf::reexec_with_fast_runtime(argv)   for a program's main(), first thing: when some
//                                     setting is missing, runs the program again (execv of
//                                     /proc/self/exe) with it; otherwise returns
//
// Nothing here runs by itself: a library must not re-execute its host. The project's own programs
// (the rlhf tool, tests, benchmarks, examples) call reexec_with_fast_runtime.
#include <cstdlib>
#include <string_view>
#include <utility>
#include <vector>

#ifdef RLHF_OPENBLAS
#include <unistd.h>
extern "C" char* openblas_get_corename(void);
extern "C" int openblas_get_parallel(void);  // 0 sequential, 1 pthreads, 2 OpenMP
#endif

namespace rlhf {

// The OPENBLAS_CORETYPE that would replace a fallback to generic kernels, or nullptr.
inline const char* openblas_coretype_hint() {
#if defined(RLHF_OPENBLAS) && (defined(__x86_64__) || defined(__i386__))
  const std::string_view core = openblas_get_corename();
  if (core != "prescott" && core != "Prescott" && core != "core2" && core != "Core2") return nullptr;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return nullptr;
}

// (name, value) of each setting above that is unset and would help.
inline std::vector<std::pair<const char*, const char*>> fast_runtime_settings() {
  std::vector<std::pair<const char*, const char*>> settings;
#ifdef RLHF_OPENBLAS
  if (std::getenv("OPENBLAS_CORETYPE") == nullptr)
    if (const char* core = openblas_coretype_hint()) settings.emplace_back("OPENBLAS_CORETYPE", core);
  if (std::getenv("OMP_WAIT_POLICY") == nullptr && openblas_get_parallel() == 1)
    settings.emplace_back("OMP_WAIT_POLICY", "PASSIVE");
#endif
  return settings;
}

// Returns only when there is nothing to do (or execv failed: then the program goes on as it is).
// The second run finds every variable set, so it returns.
inline void reexec_with_fast_runtime([[maybe_unused]] char** argv) {
#if defined(RLHF_OPENBLAS) && defined(__linux__)
  const auto settings = fast_runtime_settings();
  if (settings.empty()) return;
  for (const auto& [name, value] : settings)
    if (setenv(name, value, 0) != 0) return;
  execv("/proc/self/exe", argv);
#endif
}

}  // namespace rlhf
