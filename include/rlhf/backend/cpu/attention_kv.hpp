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
  const BlasSingleThread blas_guard;
#pragma omp parallel if(B * H * Tn * (past + Tn) * D >= min_parallel_work)
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
      for (std::int64_t i = 0; i < Tn; ++i) {
        const std::int64_t n = past + i + 1;  // keys this query may see
        auto s = scores.head(n);
        s.noalias() = (K.topRows(n) * mat(rows + i * 3 * C, 1, D, D).transpose()) * scale;
        T m = -std::numeric_limits<T>::infinity();
        for (std::int64_t j = 0; j < n; ++j)
          if (mask[j] != T(0)) m = std::max(m, s[j]);
        T sum = 0;
        for (std::int64_t j = 0; j < n; ++j) sum += (s[j] = mask[j] != T(0) ? std::exp(s[j] - m) : T(0));
        auto o = mat(out.data() + (b * Tn + i) * C + h * D, 1, D, D);
        if (sum > T(0)) o.noalias() = (s.transpose() * V.topRows(n)) / sum;
        else o.setZero();
      }
    }
  }
}

}  // namespace rlhf
