#pragma once
// Causal attention over a key/value cache, for generation (forward only).
//   qkv:      [B, Tn, 3C]  projections of Tn new tokens per row (q | k | v, as attention.hpp)
//   k_cache, v_cache: [B, H, Tmax, D]  keys and values of earlier positions
//   key_mask: [B, Tmax]  1 for a real token and 0 for padding, for every cached position and the
//             Tn new ones
//   out:      [B, Tn, C]
// The new keys and values are appended at positions [past, past + Tn); new query i then attends
// to positions [0, past + i] whose key_mask is nonzero. Prefill is the call with past = 0 and
// the whole prompt; each decoding step is a call with Tn = 1. A query with no valid key gets a
// zero output, as in attention_forward.
#include <algorithm>
#include <cmath>
#include <limits>

#include "rlhf/backend/cpu/eigen.hpp"
#include "rlhf/backend/cpu/parallel.hpp"
#include "rlhf/core/check.hpp"

namespace rlhf {

template <class T>
void attention_kv_forward(const cpu&, View<T, cpu> out, View<T, cpu> k_cache, View<T, cpu> v_cache,
                          In<T, cpu> key_mask, In<T, cpu> qkv, std::int64_t past, std::int64_t n_head) {
  using namespace cpu_detail;
  constexpr std::string_view op = "attention_kv_forward";
  check::rank(op, "qkv", qkv, 3);
  check::rank(op, "k_cache", k_cache, 4);
  const std::int64_t B = qkv.size(0), Tn = qkv.size(1), C = qkv.size(2) / 3, H = n_head;
  if (qkv.size(2) % 3 != 0 || H <= 0 || C % H != 0)
    fail(op, ": qkv ", qkv.shape(), " does not split into q, k, v of ", H, " heads");
  const std::int64_t D = C / H, Tmax = k_cache.size(2);
  check::shape(op, "k_cache", k_cache, Shape{B, H, Tmax, D});
  check::same(op, "v_cache", v_cache, "k_cache", k_cache);
  check::shape(op, "key_mask", key_mask, Shape{B, Tmax});
  check::shape(op, "out", out, Shape{B, Tn, C});
  if (past < 0 || past + Tn > Tmax)
    fail(op, ": ", Tn, " new tokens after ", past, " cached ones exceed the cache of ", Tmax, " positions");
  const T scale = T(1) / std::sqrt(T(D));
  constexpr std::int64_t kv_parallel_work = std::int64_t{1} << 20;  // multiply-adds of Q·Kᵀ
  const BlasSingleThread blas_guard;
  // A decoding step of a small model is a few microseconds of work per head: not worth a team.
#pragma omp parallel if(B * H * Tn * (past + Tn) * D >= kv_parallel_work)
  {
    Vec<T> scores(past + Tn);  // one per thread, sized once
#pragma omp for schedule(static)
    for (std::int64_t bh = 0; bh < B * H; ++bh) {
      const std::int64_t b = bh / H, h = bh % H;
      auto K = mat(k_cache.data() + bh * Tmax * D, Tmax, D, D);
      auto V = mat(v_cache.data() + bh * Tmax * D, Tmax, D, D);
      const T* rows = qkv.data() + b * Tn * 3 * C + h * D;
      K.middleRows(past, Tn) = mat(rows + C, Tn, D, 3 * C);
      V.middleRows(past, Tn) = mat(rows + 2 * C, Tn, D, 3 * C);
      const T* mask = key_mask.data() + b * Tmax;
      const T* keys = K.data();
      const T* values = V.data();
      // One query against n ≤ Tmax keys of D dimensions: plain loops the compiler vectorises over
      // D. Through BLAS, the call overhead of B·H tiny GEMVs per decoding step would dominate.
      for (std::int64_t i = 0; i < Tn; ++i) {
        const std::int64_t n = past + i + 1;  // keys this query may see
        const T* q = rows + i * 3 * C;
        T* s = scores.data();
        T m = -std::numeric_limits<T>::infinity();
        for (std::int64_t j = 0; j < n; ++j) {
          s[j] = -std::numeric_limits<T>::infinity();  // a masked key: exp gives 0
          if (mask[j] == T(0)) continue;
          T dot = 0;
#pragma omp simd reduction(+ : dot)
          for (std::int64_t d = 0; d < D; ++d) dot += keys[j * D + d] * q[d];
          s[j] = dot * scale;
          m = std::max(m, s[j]);
        }
        T* o = out.data() + (b * Tn + i) * C + h * D;
        std::fill(o, o + D, T(0));
        if (m == -std::numeric_limits<T>::infinity()) continue;  // no valid key: zero output, as attention_forward
        auto p = scores.head(n).array();
        p = (p - m).exp();  // Eigen's vectorised exp
        const T sum = p.sum();
        for (std::int64_t j = 0; j < n; ++j) {
          if (mask[j] == T(0)) continue;
#pragma omp simd
          for (std::int64_t d = 0; d < D; ++d) o[d] += s[j] * values[j * D + d];
        }
        const T inv = T(1) / sum;
        for (std::int64_t d = 0; d < D; ++d) o[d] *= inv;
      }
    }
  }
}

}  // namespace rlhf
