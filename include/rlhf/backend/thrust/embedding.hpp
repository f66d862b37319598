#pragma once
// The embedding lookup and scatter-add backward of a Thrust-executed backend
// (thrust/executor.hpp): the functors of backend/portable/embedding.hpp under the backend's
// policy, with the CPU kernel's checks: an id outside the table fails naming the op, the position
// and the table's shape.
#include "rlhf/backend/kernel_checks.hpp"
#include "rlhf/backend/portable/embedding.hpp"
#include "rlhf/backend/thrust/elementwise.hpp"

namespace rlhf {

namespace thrust_detail {
struct IdAt {
  std::int64_t position = -1;  // -1: every id is inside
  std::int32_t id = 0;
};

// The first id outside [0, V), skipping rows whose weight is 0 (a null weight skips none):
// searched where the ids live, only the offending id comes back to the host.
template <ThrustExecuted B, class W = float>
IdAt first_id_outside(const B& be, In<std::int32_t, B> ids, std::int64_t V, const W* weight = nullptr) {
  IdAt hit;
  hit.position = portable::first_id_outside(thrust_policy(be), ids.data(), ids.numel(), V, weight);
  after_kernel(be, "first_id_outside");
  if (hit.position >= 0) bytes_to_host(be, &hit.id, ids.data() + hit.position, sizeof hit.id);
  return hit;
}

template <ThrustExecuted B, class Tab>
void check_ids(const B& be, std::string_view op, In<std::int32_t, B> ids, const Tab& table) {
  const IdAt hit = first_id_outside(be, ids, table.size(0));
  if (hit.position >= 0) check::fail_id(op, hit.id, hit.position, table);
}
}  // namespace thrust_detail

template <ThrustExecuted B, class T>
void embedding_forward(const B& be, View<T, B> out, In<T, B> table, In<std::int32_t, B> ids) {
  check::embedding("embedding_forward", "out", out, table, ids);
  thrust_detail::check_ids(be, "embedding_forward", ids, table);
  portable::embedding_forward(thrust_policy(be), out.data(), table.data(), ids.data(), ids.numel(), table.size(1));
  after_kernel(be, "embedding_forward");
}

template <ThrustExecuted B, class T>
void embedding_backward(const B& be, View<T, B> dtable, In<T, B> dout, In<std::int32_t, B> ids) {
  check::embedding("embedding_backward", "dout", dout, dtable, ids);
  thrust_detail::check_ids(be, "embedding_backward", ids, dtable);
  portable::embedding_backward(thrust_policy(be), dtable.data(), dout.data(), ids.data(), ids.numel(), dtable.size(1));
  after_kernel(be, "embedding_backward");
}

}  // namespace rlhf
