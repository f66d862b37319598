#pragma once
// Embedding module: a table [V, C] looked up by int32 ids; backward scatter-adds into dtable.
#include "rlhf/core/tensor.hpp"

namespace rlhf::nn {

template <class T, class B>
struct Embedding {
  View<T, B> table, dtable;

  void forward(const B& be, View<T, B> out, In<std::int32_t, B> ids) const { embedding_forward(be, out, table, ids); }
  void backward(const B& be, In<T, B> dout, In<std::int32_t, B> ids) const {
    embedding_backward(be, dtable, dout, ids);
  }
};

}  // namespace rlhf::nn
