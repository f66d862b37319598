#pragma once
// Embedding lookup: out[n, :] = table[ids[n], :]. Token and position embeddings are both this
// op (positions are ids too, which is how left padding gets its position ids).
//   ids: [N] int32 (any rank, flattened)   table: [V, C]   out: [N, C]
// Backward scatter-adds dout rows into dtable; rows of repeated ids add up.
#include <cstdint>

#include "rlhf/backend/cpu/eigen.hpp"
#include "rlhf/backend/cpu/parallel.hpp"
#include "rlhf/backend/kernel_checks.hpp"

namespace rlhf {

namespace cpu_detail {
template <class O, class Tab, class Ids>
void check_embedding(std::string_view op, std::string_view out_name, const O& out, const Tab& table, const Ids& ids) {
  check::embedding(op, out_name, out, table, ids);
  for (std::int64_t n = 0; n < ids.numel(); ++n) {
    const std::int32_t id = ids.data()[n];
    if (id < 0 || id >= table.size(0)) check::fail_id(op, id, n, table);
  }
}
}  // namespace cpu_detail

template <class T>
void embedding_forward(const cpu&, View<T, cpu> out, In<T, cpu> table, In<std::int32_t, cpu> ids) {
  cpu_detail::check_embedding("embedding_forward", "out", out, table, ids);
  const std::int64_t N = ids.numel(), C = table.size(1);
#pragma omp parallel for schedule(static) if (N * C >= cpu_detail::min_parallel_work)
  for (std::int64_t n = 0; n < N; ++n) {
    const T* src = table.data() + ids.data()[n] * C;
    std::copy(src, src + C, out.data() + n * C);
  }
}

template <class T>
void embedding_backward(const cpu&, View<T, cpu> dtable, In<T, cpu> dout, In<std::int32_t, cpu> ids) {
  cpu_detail::check_embedding("embedding_backward", "dout", dout, View<const T, cpu>(dtable), ids);
  const std::int64_t N = ids.numel(), C = dtable.size(1);
  // Threads split the columns, so no two threads ever write the same element.
#pragma omp parallel if (N * C >= cpu_detail::min_parallel_work)
  {
    const std::int64_t nt = cpu_detail::thread_count(), t = cpu_detail::thread_index();
    const std::int64_t c0 = C * t / nt, c1 = C * (t + 1) / nt;
    for (std::int64_t n = 0; n < N; ++n) {
      T* dst = dtable.data() + ids.data()[n] * C;
      const T* src = dout.data() + n * C;
      for (std::int64_t c = c0; c < c1; ++c) dst[c] += src[c];
    }
  }
}

}  // namespace rlhf
