#pragma once
// The causal attention (with key-padding mask) and attention over a KV cache of a
// Thrust-executed backend (thrust/executor.hpp): the functors of backend/portable/attention.hpp
// under the backend's policy, with the CPU kernels' signatures and shape checks.
#include "rlhf/backend/kernel_checks.hpp"
#include "rlhf/backend/portable/attention.hpp"
#include "rlhf/backend/thrust/elementwise.hpp"

namespace rlhf {

template <ThrustExecuted B, class T>
void attention_forward(const B& be, View<T, B> out, View<T, B> att, In<T, B> qkv, In<T, B> key_mask,
                       std::int64_t n_head) {
  check::attention("attention_forward", qkv, "out", out, att, n_head);
  const std::int64_t Bn = qkv.size(0), Tn = qkv.size(1), C = qkv.size(2) / 3;
  check::optional_shape("attention_forward", "key_mask", key_mask, Shape{Bn, Tn});
  portable::attention_forward(thrust_policy(be), out.data(), att.data(), qkv.data(), key_mask.data(),
                              portable::AttentionDims{Bn, Tn, C, n_head, C / n_head});
  after_kernel(be, "attention_forward");
}

template <ThrustExecuted B, class T>
void attention_backward(const B& be, View<T, B> dqkv, View<T, B> datt, In<T, B> dout, In<T, B> qkv, In<T, B> att,
                        std::int64_t n_head) {
  check::attention("attention_backward", qkv, "dout", dout, att, n_head);
  check::same("attention_backward", "dqkv", dqkv, "qkv", qkv);
  check::same("attention_backward", "datt", datt, "att", att);
  const std::int64_t Bn = qkv.size(0), Tn = qkv.size(1), C = qkv.size(2) / 3;
  portable::attention_backward(thrust_policy(be), dqkv.data(), datt.data(), dout.data(), qkv.data(), att.data(),
                               portable::AttentionDims{Bn, Tn, C, n_head, C / n_head});
  after_kernel(be, "attention_backward");
}

template <ThrustExecuted B, class T>
void attention_kv_forward(const B& be, View<T, B> out, View<T, B> k_cache, View<T, B> v_cache, In<T, B> key_mask,
                          In<T, B> qkv, std::int64_t past, std::int64_t n_head) {
  check::attention_kv("attention_kv_forward", out, k_cache, v_cache, key_mask, qkv, past, n_head);
  const std::int64_t C = qkv.size(2) / 3;
  const portable::KvDims d{qkv.size(0), qkv.size(1), C, n_head, C / n_head, k_cache.size(2), past};
  portable::attention_kv_forward(thrust_policy(be), out.data(), k_cache.data(), v_cache.data(), key_mask.data(),
                                 qkv.data(), d);
  after_kernel(be, "attention_kv_forward");
}

}  // namespace rlhf
