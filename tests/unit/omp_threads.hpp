// The OpenMP thread count for a scope: the invariance tests run the same work on one and two
// threads, and the finite-difference checks run their many tiny forwards on one.
#pragma once
#ifdef _OPENMP
#include <omp.h>
#endif

namespace testing {

class OmpThreads {
 public:
#ifdef _OPENMP
  explicit OmpThreads(int n) : saved_(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~OmpThreads() { omp_set_num_threads(saved_); }
#else
  explicit OmpThreads(int) {}
#endif
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
#ifdef _OPENMP
  int saved_;
#endif
};

}  // namespace testing
