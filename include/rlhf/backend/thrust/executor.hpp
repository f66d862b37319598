#pragma once
// A backend whose kernels are the Thrust functors of backend/portable, run by a Thrust execution
// policy of its choosing: the CUDA backend (its stream, cuda/executor.cuh) and thrust_omp (host
// memory, OpenMP threads, thrust_omp.hpp). The kernels themselves (shape checks, then the
// functor; backend/thrust/*.hpp) are written once over this concept, so the code a GPU runs is
// the code CI runs on its CPUs. A backend opts in with three free functions, found by
// argument-dependent lookup like the kernels:
//   thrust_policy(be)          the execution policy its kernels run under;
//   after_kernel(be, name)     called after each kernel: where a launch error surfaces, naming it;
//   kernel_scratch<T>(be, n)   n elements of temporary memory for one call, ordered like the
//                              kernels (an object with data(); null when n is 0).
#include <concepts>
#include <cstdint>

#include "rlhf/core/backend.hpp"

namespace rlhf {

template <class B>
concept ThrustExecuted = Backend<B> && requires(const B& be) {
  thrust_policy(be);
  after_kernel(be, "kernel");
  { kernel_scratch<std::int64_t>(be, std::size_t{1}).data() } -> std::same_as<std::int64_t*>;
};

}  // namespace rlhf
