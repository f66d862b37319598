#pragma once
// How the models split independent rows across host threads (see backend/cpu/parallel.hpp): on
// the GPU the kernels themselves are parallel and share one stream, so a step is one part.
#include <cstdint>

#include "rlhf/backend/cuda/tag.hpp"

namespace rlhf {

inline std::int64_t row_parts(const cuda&, std::int64_t, std::int64_t) { return 1; }

template <class Part>
void run_parts(const cuda&, std::int64_t parts, Part&& part) {
  for (std::int64_t p = 0; p < parts; ++p) part(p);
}

}  // namespace rlhf
