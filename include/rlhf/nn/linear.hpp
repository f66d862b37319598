#pragma once
// Linear layer in GPT-2's Conv1D layout: out = in · weight + bias, weight [in, out].
// A module holds views of its parameters and of their gradients (inside the model's two
// buffers); forward and backward are the kernels with those views filled in.
#include "rlhf/core/tensor.hpp"
#include "rlhf/core/weight_layout.hpp"

namespace rlhf::nn {

template <class T, class B>
struct Linear {
  View<T, B> weight, bias;    // [in, out], [out]
  View<T, B> dweight, dbias;  // their gradients (backward accumulates)

  void forward(const B& be, View<T, B> out, In<T, B> in) const {
    matmul_forward(be, out, in, weight, bias, WeightLayout::in_out);
  }
  // din may be absent (View{}) when the input needs no gradient.
  void backward(const B& be, View<T, B> din, In<T, B> dout, In<T, B> in) const {
    matmul_backward(be, din, dweight, dbias, dout, in, weight, WeightLayout::in_out);
  }
};

}  // namespace rlhf::nn
