#pragma once
// Embedding lookup and its scatter-add backward as Thrust algorithms over __host__ __device__
// functors, and the search for an id outside [0, V) that the backends turn into an error.
//   ids [N] int32   table [V, C]   out [N, C]
// Backward gives each column to one call, which walks the ids in order: no two calls write the
// same element and repeated ids add up in the same order as on the CPU (bit-identical sums).
#include <cstdint>

#include <thrust/find.h>
#include <thrust/iterator/counting_iterator.h>

#include "rlhf/backend/portable/elementwise.hpp"

namespace rlhf::portable {

template <class T>
struct EmbeddingForward {
  T* out;
  const T* table;
  const std::int32_t* ids;
  std::int64_t C;
  RLHF_HOST_DEVICE void operator()(std::int64_t i) const {
    const std::int64_t n = i / C, c = i % C;
    out[i] = table[ids[n] * C + c];
  }
};

template <class T>
struct EmbeddingBackward {
  T* dtable;
  const T* dout;
  const std::int32_t* ids;
  std::int64_t N, C;
  RLHF_HOST_DEVICE void operator()(std::int64_t c) const {
    for (std::int64_t n = 0; n < N; ++n) dtable[ids[n] * C + c] += dout[n * C + c];
  }
};

template <class Policy, class T>
void embedding_forward(const Policy& policy, T* out, const T* table, const std::int32_t* ids, std::int64_t N,
                       std::int64_t C) {
  for_each_index(policy, N * C, EmbeddingForward<T>{out, table, ids, C});
}

template <class Policy, class T>
void embedding_backward(const Policy& policy, T* dtable, const T* dout, const std::int32_t* ids, std::int64_t N,
                        std::int64_t C) {
  for_each_index(policy, C, EmbeddingBackward<T>{dtable, dout, ids, N, C});
}

// Whether ids[n] lies outside [0, V); rows whose weight is 0 are never read (cross-entropy's
// masked targets may hold -100), a null weight checks every row.
template <class W>
struct IdOutside {
  const std::int32_t* ids;
  const W* weight;
  std::int64_t V;
  RLHF_HOST_DEVICE bool operator()(std::int64_t n) const {
    if (weight && weight[n] == W(0)) return false;
    return ids[n] < 0 || ids[n] >= V;
  }
};

// The first n with ids[n] outside [0, V), or -1 when there is none.
template <class Policy, class W = float>
std::int64_t first_id_outside(const Policy& policy, const std::int32_t* ids, std::int64_t N, std::int64_t V,
                              const W* weight = nullptr) {
  if (N <= 0) return -1;
  const thrust::counting_iterator<std::int64_t> first(0), last(N);
  const auto hit = thrust::find_if(policy, first, last, IdOutside<W>{ids, weight, V});
  return hit == last ? -1 : *hit;
}

}  // namespace rlhf::portable
