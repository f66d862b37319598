#pragma once
// OpenMP thread queries that also compile without OpenMP.
#include <cstdint>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace rlhf::cpu_detail {

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
