#pragma once
// OpenMP thread queries that also compile without OpenMP.
#include <cstdint>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace rlhf::cpu_detail {

// Below this much work (elements or multiply-adds) a kernel runs on the calling thread: waking
// the OpenMP team costs more than it saves, and on a busy machine far more.
inline constexpr std::int64_t min_parallel_work = std::int64_t{1} << 15;

inline std::int64_t thread_count() {
#ifdef _OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}
inline std::int64_t thread_index() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

}  // namespace rlhf::cpu_detail
