#pragma once
// Causal multi-head attention with a key-padding mask, and attention over a KV cache, as Thrust
// algorithms over __host__ __device__ functors; layouts and semantics of the CPU kernels
// (backend/cpu/attention.hpp, attention_kv.hpp):
//   qkv [B, T, 3C] (q | k | v, H heads of D = C / H)   out [B, T, C]   att [B, H, T, T]
// One call per (batch, head, query) row computes that row's probabilities and output; backward
// makes one pass per query row (dS, dQ) and one per key row (dK, dV), so each gradient element
// has one writer and a fixed summation order. A query that sees no valid key gets a zero row
// and a zero output, never NaN.
//
// These are the reference forms: every row reads its keys and values from memory. They are
// exact and testable on any Thrust system; a fused tiled kernel is what long sequences on a
// GPU need for speed.
#include <cstdint>

#include "rlhf/backend/portable/rows.hpp"

namespace rlhf::portable {

struct AttentionDims {
  std::int64_t B, T, C, H, D;
  // Element offsets of q, k or v (part 0, 1, 2) of token t in batch row b, head h.
  RLHF_HOST_DEVICE std::int64_t qkv(std::int64_t b, std::int64_t t, std::int64_t h, int part) const {
    return (b * T + t) * 3 * C + part * C + h * D;
  }
  RLHF_HOST_DEVICE std::int64_t out(std::int64_t b, std::int64_t t, std::int64_t h) const {
    return (b * T + t) * C + h * D;
  }
};

// Row (b, h, i) of att: softmax over the keys j ≤ i whose mask is nonzero of scale · q_i · k_j;
// out_i = Σ_j att_ij v_j.
template <class T>
struct AttentionForward {
  T *out, *att;
  const T *qkv, *key_mask;
  AttentionDims d;
  T scale;
  RLHF_HOST_DEVICE void operator()(std::int64_t row) const {
    const std::int64_t i = row % d.T, bh = row / d.T, b = bh / d.H, h = bh % d.H;
    const T* q = qkv + d.qkv(b, i, h, 0);
    T* p = att + row * d.T;
    const T* mask = key_mask ? key_mask + b * d.T : nullptr;
    T top = T(0);
    bool any = false;
    for (std::int64_t j = 0; j <= i; ++j) {
      if (mask && mask[j] == T(0)) continue;
      const T* k = qkv + d.qkv(b, j, h, 1);
      T s = 0;
      for (std::int64_t e = 0; e < d.D; ++e) s += q[e] * k[e];
      p[j] = s * scale;
      top = any && top > p[j] ? top : p[j];
      any = true;
    }
    T sum = 0;
    for (std::int64_t j = 0; j <= i; ++j) {
      p[j] = (mask && mask[j] == T(0)) ? T(0) : detail::exp_of(p[j] - top);
      sum += p[j];
    }
    const T inv = sum > T(0) ? T(1) / sum : T(0);
    for (std::int64_t j = 0; j < d.T; ++j) p[j] = j <= i ? p[j] * inv : T(0);
    T* o = out + d.out(b, i, h);
    for (std::int64_t e = 0; e < d.D; ++e) o[e] = T(0);
    for (std::int64_t j = 0; j <= i; ++j) {
      if (p[j] == T(0)) continue;
      const T* v = qkv + d.qkv(b, j, h, 2);
      for (std::int64_t e = 0; e < d.D; ++e) o[e] += p[j] * v[e];
    }
  }
};

// Per query row i: dP_ij = dO_i · v_j, dS_ij = scale · P_ij (dP_ij − Σ_j P_ij dP_ij) into datt,
// then dQ_i += Σ_j dS_ij k_j.
template <class T>
struct AttentionBackwardQueries {
  T *dqkv, *datt;
  const T *dout, *qkv, *att;
  AttentionDims d;
  T scale;
  RLHF_HOST_DEVICE void operator()(std::int64_t row) const {
    const std::int64_t i = row % d.T, bh = row / d.T, b = bh / d.H, h = bh % d.H;
    const T* p = att + row * d.T;
    T* ds = datt + row * d.T;
    const T* go = dout + d.out(b, i, h);
    T dot = 0;
    for (std::int64_t j = 0; j <= i; ++j) {
      const T* v = qkv + d.qkv(b, j, h, 2);
      T s = 0;
      for (std::int64_t e = 0; e < d.D; ++e) s += go[e] * v[e];
      ds[j] = s;
      dot += p[j] * s;
    }
    for (std::int64_t j = 0; j < d.T; ++j) ds[j] = j <= i ? p[j] * (ds[j] - dot) * scale : T(0);
    T* dq = dqkv + d.qkv(b, i, h, 0);
    for (std::int64_t j = 0; j <= i; ++j) {
      const T* k = qkv + d.qkv(b, j, h, 1);
      for (std::int64_t e = 0; e < d.D; ++e) dq[e] += ds[j] * k[e];
    }
  }
};

// Per key row j: dK_j += Σ_{i ≥ j} dS_ij q_i,  dV_j += Σ_{i ≥ j} P_ij dO_i.
template <class T>
struct AttentionBackwardKeys {
  T* dqkv;
  const T *datt, *dout, *qkv, *att;
  AttentionDims d;
  RLHF_HOST_DEVICE void operator()(std::int64_t row) const {
    const std::int64_t j = row % d.T, bh = row / d.T, b = bh / d.H, h = bh % d.H;
    T* dk = dqkv + d.qkv(b, j, h, 1);
    T* dv = dqkv + d.qkv(b, j, h, 2);
    for (std::int64_t i = j; i < d.T; ++i) {
      const T ds = datt[(bh * d.T + i) * d.T + j], p = att[(bh * d.T + i) * d.T + j];
      const T* q = qkv + d.qkv(b, i, h, 0);
      const T* go = dout + d.out(b, i, h);
      for (std::int64_t e = 0; e < d.D; ++e) {
        dk[e] += ds * q[e];
        dv[e] += p * go[e];
      }
    }
  }
};

template <class Policy, class T>
void attention_forward(const Policy& policy, T* out, T* att, const T* qkv, const T* key_mask, AttentionDims d) {
  const T scale = T(1) / detail::sqrt_of(T(d.D));
  for_each_index(policy, d.B * d.H * d.T, AttentionForward<T>{out, att, qkv, key_mask, d, scale});
}

template <class Policy, class T>
void attention_backward(const Policy& policy, T* dqkv, T* datt, const T* dout, const T* qkv, const T* att,
                        AttentionDims d) {
  const T scale = T(1) / detail::sqrt_of(T(d.D));
  for_each_index(policy, d.B * d.H * d.T, AttentionBackwardQueries<T>{dqkv, datt, dout, qkv, att, d, scale});
  for_each_index(policy, d.B * d.H * d.T, AttentionBackwardKeys<T>{dqkv, datt, dout, qkv, att, d});
}

// ---- Attention over a KV cache (generation) -------------------------------------------------
//   qkv [B, Tn, 3C] new tokens   k_cache, v_cache [B, H, Tmax, D]   key_mask [B, Tmax]
// The new keys and values go to positions [past, past + Tn); query i attends to [0, past + i].

struct KvDims {
  std::int64_t B, Tn, C, H, D, Tmax, past;
};

// Copies element e of the new keys and values of (b, h, t) into the caches.
template <class T>
struct KvAppend {
  T *k_cache, *v_cache;
  const T* qkv;
  KvDims d;
  RLHF_HOST_DEVICE void operator()(std::int64_t i) const {
    const std::int64_t e = i % d.D, t = (i / d.D) % d.Tn, bh = i / (d.D * d.Tn), b = bh / d.H, h = bh % d.H;
    const std::int64_t src = (b * d.Tn + t) * 3 * d.C + h * d.D + e, dst = (bh * d.Tmax + d.past + t) * d.D + e;
    k_cache[dst] = qkv[src + d.C];
    v_cache[dst] = qkv[src + 2 * d.C];
  }
};

// One new query (b, h, i) against its cached keys, in two passes (the maximum, then the
// normalised sum straight into out), so that no scratch row is needed.
template <class T>
struct KvAttend {
  T* out;
  const T *k_cache, *v_cache, *key_mask, *qkv;
  KvDims d;
  T scale;
  RLHF_HOST_DEVICE void operator()(std::int64_t row) const {
    const std::int64_t i = row % d.Tn, bh = row / d.Tn, b = bh / d.H, h = bh % d.H, n = d.past + i + 1;
    const T* q = qkv + (b * d.Tn + i) * 3 * d.C + h * d.D;
    const T* keys = k_cache + bh * d.Tmax * d.D;
    const T* values = v_cache + bh * d.Tmax * d.D;
    const T* mask = key_mask + b * d.Tmax;
    T* o = out + (b * d.Tn + i) * d.C + h * d.D;
    T top = T(0);
    bool any = false;
    for (std::int64_t j = 0; j < n; ++j) {
      if (mask[j] == T(0)) continue;
      T s = 0;
      for (std::int64_t e = 0; e < d.D; ++e) s += q[e] * keys[j * d.D + e];
      s *= scale;
      top = any && top > s ? top : s;
      any = true;
    }
    for (std::int64_t e = 0; e < d.D; ++e) o[e] = T(0);
    if (!any) return;
    T sum = 0;
    for (std::int64_t j = 0; j < n; ++j) {
      if (mask[j] == T(0)) continue;
      T s = 0;
      for (std::int64_t e = 0; e < d.D; ++e) s += q[e] * keys[j * d.D + e];
      const T p = detail::exp_of(s * scale - top);
      sum += p;
      for (std::int64_t e = 0; e < d.D; ++e) o[e] += p * values[j * d.D + e];
    }
    for (std::int64_t e = 0; e < d.D; ++e) o[e] /= sum;
  }
};

template <class Policy, class T>
void attention_kv_forward(const Policy& policy, T* out, T* k_cache, T* v_cache, const T* key_mask, const T* qkv,
                          KvDims d) {
  for_each_index(policy, d.B * d.H * d.Tn * d.D, KvAppend<T>{k_cache, v_cache, qkv, d});
  const T scale = T(1) / detail::sqrt_of(T(d.D));
  for_each_index(policy, d.B * d.H * d.Tn, KvAttend<T>{out, k_cache, v_cache, key_mask, qkv, d, scale});
}

}  // namespace rlhf::portable
