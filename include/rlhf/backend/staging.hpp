#pragma once
// Host data (batches are built on the host) as a view of the model's backend: the data itself
// for the CPU backend, a copy in a staging tensor for a device. The staging tensor is reallocated
// only when the shape changes, so a training loop of same-shaped batches allocates nothing.
#include "rlhf/backend/cpu/tag.hpp"
#include "rlhf/core/tensor.hpp"

namespace rlhf {

template <Backend B, class T>
View<const T, B> on_backend(View<const T, cpu> host, Tensor<std::remove_const_t<T>, B>& staging) {
  if constexpr (std::is_same_v<B, cpu>) {
    return host;
  } else {
    if (staging.shape() != host.shape()) staging = Tensor<std::remove_const_t<T>, B>(host.shape());
    B::copy_from_host(staging.data(), host.data(), host.bytes());
    return staging.cview();
  }
}

}  // namespace rlhf
