#pragma once
// CausalSelfAttention: c_attn (C -> 3C), causal multi-head attention with an optional
// key-padding mask, c_proj (C -> C), as GPT-2's GPT2Attention.
#include "rlhf/nn/linear.hpp"

namespace rlhf::nn {

template <class T, class B>
struct CausalSelfAttention {
  Linear<T, B> c_attn, c_proj;
  std::int64_t n_head = 1;

  struct Cache {
    View<T, B> qkv;  // [B, T, 3C]
    View<T, B> att;  // [B, H, T, T] probabilities
    View<T, B> y;    // [B, T, C] heads merged, before c_proj
  };
  // Gradient buffers shared by all layers (zeroed here before use).
  struct Scratch {
    View<T, B> dqkv, datt, dy;
  };

  // in: [B, T, C] (the LayerNorm output); out: [B, T, C].
  void forward(const B& be, View<T, B> out, const Cache& c, In<T, B> in, In<T, B> key_mask) const {
    c_attn.forward(be, c.qkv, in);
    attention_forward(be, c.y, c.att, c.qkv, key_mask, n_head);
    c_proj.forward(be, out, c.y);
  }
  // Generation: the new tokens' keys and values join the cache (attention_kv_forward).
  void forward_cached(const B& be, View<T, B> out, const Cache& c, In<T, B> in, View<T, B> k_cache, View<T, B> v_cache,
                      In<T, B> key_mask, std::int64_t past) const {
    c_attn.forward(be, c.qkv, in);
    attention_kv_forward(be, c.y, k_cache, v_cache, key_mask, c.qkv, past, n_head);
    c_proj.forward(be, out, c.y);
  }

  // Accumulates into din.
  void backward(const B& be, View<T, B> din, In<T, B> dout, const Cache& c, const Scratch& s, In<T, B> in) const {
    zero_bytes(be, s.dqkv.data(), s.dqkv.bytes());
    zero_bytes(be, s.datt.data(), s.datt.bytes());
    zero_bytes(be, s.dy.data(), s.dy.bytes());
    c_proj.backward(be, s.dy, dout, c.y);
    attention_backward(be, s.dqkv, s.datt, s.dy, c.qkv, c.att, n_head);
    c_attn.backward(be, din, s.dqkv, in);
  }
};

}  // namespace rlhf::nn
