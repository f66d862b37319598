#pragma once
// LayerNorm module: weight and bias of [C], mean and rstd per row cached for backward.
#include "rlhf/core/tensor.hpp"

namespace rlhf::nn {

template <class T, class B>
struct LayerNorm {
  View<T, B> weight, bias, dweight, dbias;
  T eps = T(1e-5);

  struct Cache {
    View<T, B> out, mean, rstd;  // [N, C], [N], [N]
  };

  void forward(const B& be, const Cache& c, In<T, B> in) const {
    layernorm_forward(be, c.out, c.mean, c.rstd, in, weight, bias, eps);
  }
  // Accumulates into din.
  void backward(const B& be, View<T, B> din, In<T, B> dout, const Cache& c, In<T, B> in) const {
    layernorm_backward(be, din, dweight, dbias, dout, in, weight, c.mean, c.rstd);
  }
};

}  // namespace rlhf::nn
