#pragma once
// The bias parts of matmul around the GEMM, as Thrust algorithms over __host__ __device__
// functors: broadcasting a bias [N] into every row of out [M, N] (the GEMM then adds with
// β = 1), and its gradient, the column sums of dout [M, N]. One call per column walks the rows in
// order: a fixed summation order, no atomics.
#include <cstdint>

#include "rlhf/backend/portable/elementwise.hpp"

namespace rlhf::portable {

template <class T>
struct BroadcastRow {
  T* out;
  const T* row;
  std::int64_t N;
  RLHF_HOST_DEVICE void operator()(std::int64_t i) const { out[i] = row[i % N]; }
};

// dbias[j] += Σ_i dout[i, j]
template <class T>
struct ColumnSums {
  T* dbias;
  const T* dout;
  std::int64_t M, N;
  RLHF_HOST_DEVICE void operator()(std::int64_t j) const {
    T sum = 0;
    for (std::int64_t i = 0; i < M; ++i) sum += dout[i * N + j];
    dbias[j] += sum;
  }
};

template <class Policy, class T>
void broadcast_rows(const Policy& policy, T* out, const T* row, std::int64_t M, std::int64_t N) {
  for_each_index(policy, M * N, BroadcastRow<T>{out, row, N});
}

template <class Policy, class T>
void add_column_sums(const Policy& policy, T* dbias, const T* dout, std::int64_t M, std::int64_t N) {
  for_each_index(policy, N, ColumnSums<T>{dbias, dout, M, N});
}

}  // namespace rlhf::portable
