#pragma once
// The CUDA backend's embedding lookup and scatter-add backward: the functors of
// backend/portable/embedding.hpp on the backend's stream, with the CPU kernel's checks: an id
// outside the table fails naming the op, the position and the table's shape. (nvcc only.)
#include "rlhf/backend/cuda/elementwise.cuh"
#include "rlhf/backend/kernel_checks.hpp"
#include "rlhf/backend/portable/embedding.hpp"

namespace rlhf {

namespace cuda_detail {
struct IdAt {
  std::int64_t position = -1;  // -1: every id is inside
  std::int32_t id = 0;
};

// The first id outside [0, V), skipping rows whose weight is 0 (a null weight skips none):
// searched on the device, only the offending id comes back to the host.
template <class W = float>
IdAt first_id_outside(const cuda& be, In<std::int32_t, cuda> ids, std::int64_t V, const W* weight = nullptr) {
  IdAt hit;
  hit.position = portable::first_id_outside(on_stream(be), ids.data(), ids.numel(), V, weight);
  check_launch("first_id_outside");
  if (hit.position >= 0) cuda::copy_to_host(&hit.id, ids.data() + hit.position, sizeof hit.id);
  return hit;
}

template <class Tab>
void check_ids(const cuda& be, std::string_view op, In<std::int32_t, cuda> ids, const Tab& table) {
  const IdAt hit = first_id_outside(be, ids, table.size(0));
  if (hit.position >= 0) check::fail_id(op, hit.id, hit.position, table);
}
}  // namespace cuda_detail

template <class T>
void embedding_forward(const cuda& be, View<T, cuda> out, In<T, cuda> table, In<std::int32_t, cuda> ids) {
  check::embedding("embedding_forward", "out", out, table, ids);
  cuda_detail::check_ids(be, "embedding_forward", ids, table);
  portable::embedding_forward(cuda_detail::on_stream(be), out.data(), table.data(), ids.data(), ids.numel(),
                              table.size(1));
  cuda_detail::check_launch("embedding_forward");
}

template <class T>
void embedding_backward(const cuda& be, View<T, cuda> dtable, In<T, cuda> dout, In<std::int32_t, cuda> ids) {
  check::embedding("embedding_backward", "dout", dout, dtable, ids);
  cuda_detail::check_ids(be, "embedding_backward", ids, dtable);
  portable::embedding_backward(cuda_detail::on_stream(be), dtable.data(), dout.data(), ids.data(), ids.numel(),
                               dtable.size(1));
  cuda_detail::check_launch("embedding_backward");
}

}  // namespace rlhf
