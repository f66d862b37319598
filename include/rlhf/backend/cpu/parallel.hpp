#pragma once
// OpenMP thread queries that also compile without OpenMP.
#include <cstdint>
#include <optional>
#ifdef _OPENMP
#include <omp.h>
#endif

#ifdef RLHF_OPENBLAS
extern "C" int openblas_get_num_threads(void);
extern "C" void openblas_set_num_threads(int);
extern "C" int openblas_get_parallel(void);  // 0 sequential, 1 pthreads, 2 OpenMP
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

// Constructed before an OpenMP loop whose iterations call BLAS (attention's per-head products):
// our team owns the cores, so the BLAS must not start threads of its own inside it. The OpenMP
// build of OpenBLAS sees that by itself; the pthreads build (Debian's default) would put 2 × 2
// threads on 2 cores and serialise them on a lock, 10-40× slower. The setting is process-wide
// while the guard lives.
struct BlasSingleThread {
#ifdef RLHF_OPENBLAS
  int saved = openblas_get_parallel() == 1 ? openblas_get_num_threads() : 1;
  BlasSingleThread() {
    if (saved > 1) openblas_set_num_threads(1);
  }
  ~BlasSingleThread() {
    if (saved > 1) openblas_set_num_threads(saved);
  }
  BlasSingleThread(const BlasSingleThread&) = delete;
  BlasSingleThread& operator=(const BlasSingleThread&) = delete;
#endif
};

// BlasSingleThread when `when` holds, else nothing (small products: matmul.hpp).
struct BlasSingleThreadIf {
  std::optional<BlasSingleThread> guard;
  explicit BlasSingleThreadIf(bool when) {
    if (when) guard.emplace();
  }
};

}  // namespace rlhf::cpu_detail
