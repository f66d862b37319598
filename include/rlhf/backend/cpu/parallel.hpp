#pragma once
// OpenMP thread queries that also compile without OpenMP.
#include <algorithm>
#include <cstdint>
#include <exception>
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

inline std::int64_t max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}
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

namespace rlhf {
struct cpu;

// A step over `rows` independent rows whose products total `multiply_adds`: how many slices of
// rows to run side by side (run_parts). Small steps (a generation step: a few rows through every
// weight matrix) run one slice per thread, each through the whole model, instead of waking the
// team for every small kernel; large ones run as one slice with threaded kernels.
inline std::int64_t row_parts(const cpu&, std::int64_t rows, std::int64_t multiply_adds) {
  constexpr std::int64_t sliced_below = std::int64_t{1} << 27;
  const std::int64_t threads = cpu_detail::max_threads();
  if (threads < 2 || rows < 2 || multiply_adds >= sliced_below) return 1;
  return std::min(threads, rows);
}

// Runs part(p) for p in [0, parts), one OpenMP thread each, with the BLAS single-threaded and the
// kernels inside running on their own thread. An exception in a part is rethrown after all
// parts ended (one may not leave an OpenMP region).
template <class Part>
void run_parts(const cpu&, std::int64_t parts, Part&& part) {
  if (parts <= 1) {
    part(std::int64_t{0});
    return;
  }
  const cpu_detail::BlasSingleThread blas_guard;
  std::exception_ptr failure;
#pragma omp parallel for schedule(static, 1) num_threads(static_cast<int>(parts))
  for (std::int64_t p = 0; p < parts; ++p) {
    try {
      part(p);
    } catch (...) {
#pragma omp critical(rlhf_run_parts)
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
}
}  // namespace rlhf
