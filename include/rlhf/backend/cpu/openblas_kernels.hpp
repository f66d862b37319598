#pragma once
// OpenBLAS picks its GEMM kernels at load time from the CPU model. A release older than the CPU
// does not know it and falls back to its Prescott (SSE3) kernels: Debian 12's OpenBLAS 0.3.21 on
// Sapphire/Emerald Rapids runs sgemm 2-3x slower than with its SkylakeX kernels. The choice can
// only be made before the library loads, through the environment variable OPENBLAS_CORETYPE.
//
//   rlhf::openblas_coretype_hint()      the OPENBLAS_CORETYPE that would help, or nullptr
//   rlhf::reexec_with_fast_openblas(argv)   for a program's main(): when the hint is not null and
//                                       OPENBLAS_CORETYPE is unset, runs the program again
//                                       (execv of /proc/self/exe) with it set; otherwise returns
//
// Nothing here runs by itself: a library must not re-execute its host. The project's own programs
// (the rlhf tool, tests, benchmarks, examples) call reexec_with_fast_openblas first thing.
#include <cstdlib>
#include <string_view>

#ifdef RLHF_OPENBLAS
#include <unistd.h>
extern "C" char* openblas_get_corename(void);
#endif

namespace rlhf {

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

// Returns only when there is nothing to do (or execv failed: then the program goes on as it is).
inline void reexec_with_fast_openblas([[maybe_unused]] char** argv) {
#if defined(RLHF_OPENBLAS) && defined(__linux__)
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;  // the user's choice, or our second run
  const char* hint = openblas_coretype_hint();
  if (hint == nullptr) return;
  if (setenv("OPENBLAS_CORETYPE", hint, 0) != 0) return;
  execv("/proc/self/exe", argv);
#endif
}

}  // namespace rlhf
