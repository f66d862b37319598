#pragma once
// MLP: c_fc (C -> 4C), tanh-GELU, c_proj (4C -> C), as GPT-2's GPT2MLP.
#include "rlhf/nn/linear.hpp"

namespace rlhf::nn {

template <class T, class B>
struct MLP {
  Linear<T, B> c_fc, c_proj;

  struct Cache {
    View<T, B> h, g;  // [B, T, 4C] before and after GELU
  };
  struct Scratch {
    View<T, B> dh, dg;
  };

  void forward(const B& be, View<T, B> out, const Cache& c, In<T, B> in) const {
    c_fc.forward(be, c.h, in);
    gelu_forward(be, c.g, c.h);
    c_proj.forward(be, out, c.g);
  }
  // Accumulates into din.
  void backward(const B& be, View<T, B> din, In<T, B> dout, const Cache& c, const Scratch& s, In<T, B> in) const {
    zero_bytes(be, s.dh.data(), s.dh.bytes());
    zero_bytes(be, s.dg.data(), s.dg.bytes());
    c_proj.backward(be, s.dg, dout, c.g);
    gelu_backward(be, s.dh, s.dg, c.h);
    c_fc.backward(be, din, s.dh, in);
  }
};

}  // namespace rlhf::nn
