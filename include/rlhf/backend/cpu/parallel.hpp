#pragma once
// OpenMP thread queries that also compile without OpenMP, reductions whose bits do not depend
// on which thread finishes first, and the CPU's schedules for independent parts of a step.
#include <algorithm>
#include <cstdint>
#include <exception>
#include <optional>
#include <vector>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "rlhf/backend/cpu/tag.hpp"

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

// Runs chunk(t, begin, end) on each thread t of a team (a team of one unless `threaded`): thread
// t gets the t-th of the team's contiguous chunks of [0, n). Returns the team's size. The split
// is fixed, so what a thread computes depends on the team's size only.
template <class Chunk>
std::int64_t run_chunks(std::int64_t n, bool threaded, Chunk&& chunk) {
  std::int64_t team = 1;
#pragma omp parallel if (threaded)
  {
    const std::int64_t t = thread_index(), nt = thread_count();
    if (t == 0) team = nt;
    chunk(t, n * t / nt, n * (t + 1) / nt);
  }
  return team;
}

// Σ of chunk(begin, end) over run_chunks' chunks of [0, n), the chunks' sums added in chunk
// order. An OpenMP reduction(+) adds the threads' partials in the order they finish, so its last
// bits change from run to run; this gives the same bits on every run with the same team size.
template <class Acc, class Chunk>
Acc ordered_sum(std::int64_t n, bool threaded, Chunk&& chunk) {
  thread_local std::vector<Acc> partials;  // the calling thread's, kept: no allocation per call
  const auto most = static_cast<std::size_t>(threaded ? max_threads() : 1);
  if (partials.size() < most) partials.resize(most);
  Acc* partial = partials.data();
  const std::int64_t team =
      run_chunks(n, threaded, [&](std::int64_t t, std::int64_t i0, std::int64_t i1) { partial[t] = chunk(i0, i1); });
  Acc total = partial[0];
  for (std::int64_t t = 1; t < team; ++t) total += partial[t];
  return total;
}

// BlasSingleThread when `when` holds, else nothing (small products: matmul.hpp).
struct BlasSingleThreadIf {
  std::optional<BlasSingleThread> guard;
  explicit BlasSingleThreadIf(bool when) {
    if (when) guard.emplace();
  }
};

}  // namespace rlhf::cpu_detail

namespace rlhf {

// A step over `rows` independent rows whose products total `multiply_adds`: into how many slices
// of rows to cut it, the slices then run side by side (run_tasks). Small steps (a generation
// step: a few rows through every weight matrix) run one slice per thread, each through the whole
// model, instead of waking the team for every small kernel; large ones run as one slice with
// threaded kernels. The backend object's side_by_side setting forces either answer (the tests
// run both); whatever it answers, every row is computed.
inline std::int64_t row_parts(const cpu& be, std::int64_t rows, std::int64_t multiply_adds) {
  constexpr std::int64_t sliced_below = std::int64_t{1} << 27;
  const std::int64_t threads = cpu_detail::max_threads();
  if (rows < 2 || be.side_by_side == SideBySide::never) return 1;
  if (be.side_by_side == SideBySide::always) return std::min(std::max<std::int64_t>(threads, 2), rows);
  if (threads < 2 || multiply_adds >= sliced_below) return 1;
  return std::min(threads, rows);
}

// Runs task(i) once for every i in [0, tasks), whatever `concurrency` says: that only chooses the
// schedule. concurrency <= 1: one after another on the calling thread, the kernels inside
// threaded as usual. Otherwise up to `concurrency` tasks at once, one OpenMP thread each (never
// more threads than OpenMP's limit), with the BLAS single-threaded and the kernels inside running
// on their own thread. An exception in a task is rethrown after all tasks ended (one may not
// leave an OpenMP region).
template <class Task>
void run_tasks(const cpu&, std::int64_t tasks, std::int64_t concurrency, Task&& task) {
  if (concurrency <= 1 || tasks <= 1) {
    for (std::int64_t i = 0; i < tasks; ++i) task(i);
    return;
  }
  // A team of one (concurrency forced on one thread) still runs the tasks in turn inside the
  // region, so their kernels see the schedule a wider team would give each task.
  const int threads = static_cast<int>(std::min({concurrency, tasks, cpu_detail::max_threads()}));
  [[maybe_unused]] const cpu_detail::BlasSingleThread blas_guard;  // RAII; empty without BLAS
  std::exception_ptr failure;
#pragma omp parallel for schedule(static, 1) num_threads(threads)
  for (std::int64_t i = 0; i < tasks; ++i) {
    try {
      task(i);
    } catch (...) {
#pragma omp critical(rlhf_run_tasks)
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
}
}  // namespace rlhf
