#pragma once
// A GPT-2 block with pre-LayerNorm residual branches:
//   x_mid = x + attn(ln_1(x));   x_out = x_mid + mlp(ln_2(x_mid))
// Backward follows llm.c: one residual-gradient buffer flows down through the blocks; each
// branch's backward adds its input gradient into it, which is exactly the residual's backward.
#include "rlhf/nn/attention.hpp"
#include "rlhf/nn/layernorm.hpp"
#include "rlhf/nn/mlp.hpp"

namespace rlhf::nn {

template <class T, class B>
struct Block {
  LayerNorm<T, B> ln_1, ln_2;
  CausalSelfAttention<T, B> attn;
  MLP<T, B> mlp;

  struct Cache {
    typename LayerNorm<T, B>::Cache ln_1, ln_2;
    typename CausalSelfAttention<T, B>::Cache attn;
    typename MLP<T, B>::Cache mlp;
    View<T, B> x_mid;  // [B, T, C] the residual stream between the two branches
  };
  struct Scratch {
    typename CausalSelfAttention<T, B>::Scratch attn;
    typename MLP<T, B>::Scratch mlp;
    View<T, B> dln;  // [B, T, C] gradient at a LayerNorm output
  };

  // x_in, x_out: [B, T, C].
  void forward(const B& be, View<T, B> x_out, const Cache& c, In<T, B> x_in, In<T, B> key_mask) const {
    ln_1.forward(be, c.ln_1, x_in);
    attn.forward(be, c.x_mid, c.attn, c.ln_1.out, key_mask);
    residual_forward(be, c.x_mid, x_in, c.x_mid);  // elementwise, so in place is fine
    ln_2.forward(be, c.ln_2, c.x_mid);
    mlp.forward(be, x_out, c.mlp, c.ln_2.out);
    residual_forward(be, x_out, c.x_mid, x_out);
  }

  // Generation: the same computation over Tn new tokens whose attention reads and extends the
  // layer's key/value cache. Only c.ln_1, c.attn (qkv, y), c.x_mid, c.ln_2 and c.mlp are used,
  // as scratch: nothing is kept for backward.
  void forward_cached(const B& be, View<T, B> x_out, const Cache& c, In<T, B> x_in, View<T, B> k_cache,
                      View<T, B> v_cache, In<T, B> key_mask, std::int64_t past) const {
    ln_1.forward(be, c.ln_1, x_in);
    attn.forward_cached(be, c.x_mid, c.attn, c.ln_1.out, k_cache, v_cache, key_mask, past);
    residual_forward(be, c.x_mid, x_in, c.x_mid);
    ln_2.forward(be, c.ln_2, c.x_mid);
    mlp.forward(be, x_out, c.mlp, c.ln_2.out);
    residual_forward(be, x_out, c.x_mid, x_out);
  }

  // dresidual holds dL/dx_out on entry and dL/dx_in on return.
  void backward(const B& be, View<T, B> dresidual, const Cache& c, const Scratch& s, In<T, B> x_in) const {
    zero_bytes(be, s.dln.data(), s.dln.bytes());
    mlp.backward(be, s.dln, dresidual, c.mlp, s.mlp, c.ln_2.out);
    ln_2.backward(be, dresidual, s.dln, c.ln_2, c.x_mid);
    zero_bytes(be, s.dln.data(), s.dln.bytes());
    attn.backward(be, s.dln, dresidual, c.attn, s.attn, c.ln_1.out);
    ln_1.backward(be, dresidual, s.dln, c.ln_1, x_in);
  }
};

}  // namespace rlhf::nn
