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
#include "rlhf/backend/kernel_checks.hpp"

namespace rlhf {

namespace cpu_detail {
// One query q [D] against keys and values [n, D] (rows with mask 0 skipped): o = softmax(q·Kᵀ ·
// scale) · V, or zeros when no key is valid. Plain loops over D-vectors, of fixed length when
// Dfix is not Eigen::Dynamic: through BLAS, the call overhead of B·H tiny GEMVs per decoding step
// would dominate. scores: [n] scratch.
template <class T, int Dfix>
void attend_one(T* o, const T* q, const T* keys, const T* values, const T* mask, std::int64_t n, std::int64_t D,
                T scale, T* scores) {
  using Row = Eigen::Matrix<T, Dfix, 1>;
  using RowMap = Eigen::Map<const Row>;
  const RowMap qv(q, D);
  T m = -std::numeric_limits<T>::infinity();
  for (std::int64_t j = 0; j < n; ++j) {
    scores[j] = mask[j] == T(0) ? -std::numeric_limits<T>::infinity() : RowMap(keys + j * D, D).dot(qv) * scale;
    m = std::max(m, scores[j]);
  }
  Eigen::Map<Row> ov(o, D);
  if (m == -std::numeric_limits<T>::infinity()) {  // no valid key: zero output, as attention_forward
    ov.setZero();
    return;
  }
  auto p = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(scores, n);
  p = (p - m).exp();  // masked keys: exp(-inf) = 0; Eigen's vectorised exp
  // Two accumulators over alternate keys: each FMA chain waits on half as many others.
  Row acc0 = Row::Zero(D), acc1 = Row::Zero(D);
  std::int64_t j = 0;
  for (; j + 1 < n; j += 2) {
    acc0.noalias() += scores[j] * RowMap(values + j * D, D);
    acc1.noalias() += scores[j + 1] * RowMap(values + (j + 1) * D, D);
  }
  if (j < n) acc0.noalias() += scores[j] * RowMap(values + j * D, D);
  ov = (acc0 + acc1) / p.sum();
}
}  // namespace cpu_detail

template <class T>
void attention_kv_forward(const cpu&, View<T, cpu> out, View<T, cpu> k_cache, View<T, cpu> v_cache, In<T, cpu> key_mask,
                          In<T, cpu> qkv, std::int64_t past, std::int64_t n_head) {
  using namespace cpu_detail;
  check::attention_kv("attention_kv_forward", out, k_cache, v_cache, key_mask, qkv, past, n_head);
  const std::int64_t B = qkv.size(0), Tn = qkv.size(1), C = qkv.size(2) / 3, H = n_head, D = C / H,
                     Tmax = k_cache.size(2);
  const T scale = T(1) / std::sqrt(T(D));
  constexpr std::int64_t kv_parallel_work = std::int64_t{1} << 20;  // multiply-adds of Q·Kᵀ
  [[maybe_unused]] const BlasSingleThread blas_guard;               // RAII; empty without BLAS
  // A decoding step of a small model is a few microseconds of work per head: not worth a team.
#pragma omp parallel if (B * H * Tn * (past + Tn) * D >= kv_parallel_work)
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
      for (std::int64_t i = 0; i < Tn; ++i) {
        T* o = out.data() + (b * Tn + i) * C + h * D;
        const T* q = rows + i * 3 * C;
        const std::int64_t n = past + i + 1;  // keys this query may see
        switch (D) {                          // GPT-2's head sizes get loops of fixed length, kept in registers
          case 32: cpu_detail::attend_one<T, 32>(o, q, keys, values, mask, n, D, scale, scores.data()); break;
          case 64: cpu_detail::attend_one<T, 64>(o, q, keys, values, mask, n, D, scale, scores.data()); break;
          case 128: cpu_detail::attend_one<T, 128>(o, q, keys, values, mask, n, D, scale, scores.data()); break;
          default: cpu_detail::attend_one<T, Eigen::Dynamic>(o, q, keys, values, mask, n, D, scale, scores.data());
        }
      }
    }
  }
}

}  // namespace rlhf
