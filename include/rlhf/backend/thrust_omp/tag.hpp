#pragma once
// rlhf::thrust_omp: the CUDA backend's kernels on the host. Its memory is the CPU backend's
// (host, 64-byte aligned); its kernels are the Thrust kernels of backend/thrust, run by Thrust's
// OpenMP system (thrust::omp::par) instead of on a CUDA stream, and its steps are scheduled as on
// the GPU: one slice, every task in order. So every line a GPU runs but the cuBLAS products and
// the stream handling runs here too, on any machine, and a model, trainer or op table compiled
// for it checks that code against the CPU backend without a GPU (tests/ops, tests/portable).
// Needs Thrust's headers (the CUDA toolkit's include/cccl) and OpenMP; no CUDA runtime.
#include <thrust/system/omp/execution_policy.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "rlhf/core/backend.hpp"
#include "rlhf/backend/cpu/tag.hpp"
#include "rlhf/backend/thrust/executor.hpp"

namespace rlhf {

struct thrust_omp {
  static constexpr std::string_view name = "thrust_omp";
  static constexpr bool host_accessible = true;

  static void* allocate(std::size_t bytes) { return cpu::allocate(bytes); }
  static void deallocate(void* p) { cpu::deallocate(p); }
  static void copy(void* dst, const void* src, std::size_t bytes) { cpu::copy(dst, src, bytes); }
  static void copy_from_host(void* dst, const void* src, std::size_t bytes) { cpu::copy(dst, src, bytes); }
  static void copy_to_host(void* dst, const void* src, std::size_t bytes) { cpu::copy(dst, src, bytes); }
  static void fill_zero(void* dst, std::size_t bytes) { cpu::fill_zero(dst, bytes); }
};

static_assert(Backend<thrust_omp>);

// Memory operations (backend/contract.hpp): every kernel has returned before the next call.
inline void copy_bytes(const thrust_omp&, void* dst, const void* src, std::size_t bytes) { cpu::copy(dst, src, bytes); }
inline void zero_bytes(const thrust_omp&, void* dst, std::size_t bytes) { cpu::fill_zero(dst, bytes); }
inline void bytes_to_host(const thrust_omp&, void* dst, const void* src, std::size_t bytes) {
  cpu::copy(dst, src, bytes);
}
inline void bytes_from_host(const thrust_omp&, void* dst, const void* src, std::size_t bytes) {
  cpu::copy(dst, src, bytes);
}

// How the Thrust kernels run (thrust/executor.hpp).
inline auto thrust_policy(const thrust_omp&) { return thrust::omp::par; }
inline void after_kernel(const thrust_omp&, const char*) {}  // a host kernel has no launch to fail

namespace thrust_omp_detail {
template <class T>
class HostScratch {
 public:
  explicit HostScratch(std::size_t count) : values_(count) {}
  T* data() { return values_.empty() ? nullptr : values_.data(); }
  const T* data() const { return values_.empty() ? nullptr : values_.data(); }

 private:
  std::vector<T> values_;
};
}  // namespace thrust_omp_detail

template <class T>
thrust_omp_detail::HostScratch<T> kernel_scratch(const thrust_omp&, std::size_t count) {
  return thrust_omp_detail::HostScratch<T>(count);
}

// Scheduled as on the GPU (cuda/parallel.hpp): the kernels are parallel, a step is one slice.
inline std::int64_t row_parts(const thrust_omp&, std::int64_t, std::int64_t) { return 1; }
template <class Task>
void run_tasks(const thrust_omp&, std::int64_t tasks, std::int64_t /*concurrency*/, Task&& task) {
  for (std::int64_t i = 0; i < tasks; ++i) task(i);
}

static_assert(ThrustExecuted<thrust_omp>);

}  // namespace rlhf
