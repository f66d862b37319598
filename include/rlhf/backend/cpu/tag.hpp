#pragma once
// rlhf::cpu: host memory, 64-byte aligned (one cache line, a full AVX-512 register), kernels on
// Eigen and OpenMP. The object carries the precision of its matrix products (backend/precision.hpp:
// fp32 unless asked; tf32 and bf16 are emulated here, for checking a run's numerics) and a
// scheduling choice, side_by_side.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "rlhf/core/backend.hpp"
#include "rlhf/backend/precision.hpp"
#include "rlhf/core/host_memory.hpp"

namespace rlhf {

// Whether independent parts of a step (the slices of a generation step's rows, PPO's policy and
// value passes) run side by side, one thread each with unthreaded kernels, or one after another
// with threaded kernels. `automatic` lets row_parts (cpu/parallel.hpp) decide from the step's
// size; `always` and `never` force one schedule, so tests can run both. It is a schedule only:
// the same work is done either way, and the results differ at most by float summation order.
enum class SideBySide : std::uint8_t { automatic, always, never };

struct cpu {
  static constexpr std::string_view name = "cpu";
  static constexpr bool host_accessible = true;
  static constexpr std::size_t alignment = 64;

  MatmulPrecision precision = MatmulPrecision::fp32;
  SideBySide side_by_side = SideBySide::automatic;

  static void* allocate(std::size_t bytes) {
    if (bytes == 0) return nullptr;
    // More than the machine has: refused, rather than granted by overcommit and OOM-killed later.
    if (const double memory = host_memory_bytes(); memory > 0 && double(bytes) > memory) throw std::bad_alloc();
    const std::size_t rounded = (bytes + alignment - 1) / alignment * alignment;
    void* p = std::aligned_alloc(alignment, rounded);
    if (!p) throw std::bad_alloc();
    return p;
  }
  static void deallocate(void* p) { std::free(p); }
  static void copy(void* dst, const void* src, std::size_t bytes) {
    if (bytes) std::memcpy(dst, src, bytes);
  }
  static void copy_from_host(void* dst, const void* src, std::size_t bytes) { copy(dst, src, bytes); }
  static void copy_to_host(void* dst, const void* src, std::size_t bytes) { copy(dst, src, bytes); }
  static void fill_zero(void* dst, std::size_t bytes) {
    if (bytes) std::memset(dst, 0, bytes);
  }
};

static_assert(Backend<cpu>);

// Memory operations ordered with the backend object's kernels (backend/contract.hpp): on the CPU
// every kernel has returned before the next call, so these are plain copies.
inline void copy_bytes(const cpu&, void* dst, const void* src, std::size_t bytes) { cpu::copy(dst, src, bytes); }
inline void zero_bytes(const cpu&, void* dst, std::size_t bytes) { cpu::fill_zero(dst, bytes); }
inline void bytes_to_host(const cpu&, void* dst, const void* src, std::size_t bytes) { cpu::copy(dst, src, bytes); }
inline void bytes_from_host(const cpu&, void* dst, const void* src, std::size_t bytes) { cpu::copy(dst, src, bytes); }

}  // namespace rlhf
