#pragma once
// The CUDA backend's causal attention (with key-padding mask) and attention over a KV cache:
// the functors of backend/portable/attention.hpp on the backend's stream, with the CPU kernels'
// signatures and shape checks. (nvcc only.)
#include "rlhf/backend/cuda/elementwise.cuh"
#include "rlhf/backend/kernel_checks.hpp"
#include "rlhf/backend/portable/attention.hpp"

namespace rlhf {

template <class T>
void attention_forward(const cuda& be, View<T, cuda> out, View<T, cuda> att, In<T, cuda> qkv, In<T, cuda> key_mask,
                       std::int64_t n_head) {
  check::attention("attention_forward", qkv, "out", out, att, n_head);
  const std::int64_t B = qkv.size(0), Tn = qkv.size(1), C = qkv.size(2) / 3;
  check::optional_shape("attention_forward", "key_mask", key_mask, Shape{B, Tn});
  portable::attention_forward(cuda_detail::on_stream(be), out.data(), att.data(), qkv.data(), key_mask.data(),
                              portable::AttentionDims{B, Tn, C, n_head, C / n_head});
  cuda_detail::check_launch("attention_forward");
}

template <class T>
void attention_backward(const cuda& be, View<T, cuda> dqkv, View<T, cuda> datt, In<T, cuda> dout, In<T, cuda> qkv,
                        In<T, cuda> att, std::int64_t n_head) {
  check::attention("attention_backward", qkv, "dout", dout, att, n_head);
  check::same("attention_backward", "dqkv", dqkv, "qkv", qkv);
  check::same("attention_backward", "datt", datt, "att", att);
  const std::int64_t B = qkv.size(0), Tn = qkv.size(1), C = qkv.size(2) / 3;
  portable::attention_backward(cuda_detail::on_stream(be), dqkv.data(), datt.data(), dout.data(), qkv.data(),
                               att.data(), portable::AttentionDims{B, Tn, C, n_head, C / n_head});
  cuda_detail::check_launch("attention_backward");
}

template <class T>
void attention_kv_forward(const cuda& be, View<T, cuda> out, View<T, cuda> k_cache, View<T, cuda> v_cache,
                          In<T, cuda> key_mask, In<T, cuda> qkv, std::int64_t past, std::int64_t n_head) {
  check::attention_kv("attention_kv_forward", out, k_cache, v_cache, key_mask, qkv, past, n_head);
  const std::int64_t C = qkv.size(2) / 3;
  const portable::KvDims d{qkv.size(0), qkv.size(1), C, n_head, C / n_head, k_cache.size(2), past};
  portable::attention_kv_forward(cuda_detail::on_stream(be), out.data(), k_cache.data(), v_cache.data(),
                                 key_mask.data(), qkv.data(), d);
  cuda_detail::check_launch("attention_kv_forward");
}

}  // namespace rlhf
