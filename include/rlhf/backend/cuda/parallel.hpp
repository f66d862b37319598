#pragma once
// How the models split independent rows across host threads (see backend/cpu/parallel.hpp): on
// the GPU the kernels themselves are parallel and share one stream, so a step is one slice.
#include <cstdint>

#include "rlhf/backend/cuda/tag.hpp"

namespace rlhf {

inline std::int64_t row_parts(const cuda&, std::int64_t, std::int64_t) { return 1; }

// Every task, in order on the backend's stream: concurrency is the host's business.
template <class Task>
void run_tasks(const cuda&, std::int64_t tasks, std::int64_t /*concurrency*/, Task&& task) {
  for (std::int64_t i = 0; i < tasks; ++i) task(i);
}

}  // namespace rlhf
