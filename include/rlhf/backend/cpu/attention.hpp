#pragma once
// Causal multi-head self-attention with an optional key-padding mask.
//   qkv:  [B, T, 3C]  (q | k | v, each split into H heads of size D = C / H, as GPT-2's c_attn)
//   out:  [B, T, C]
//   att:  [B, H, T, T] the attention probabilities, kept for backward (upper triangle zero)
//   key_mask: optional [B, T], 1 for a real token and 0 for padding; padded keys get no weight
// A query that sees no valid key (a pad position at the start of a left-padded row) gets a zero
// row of probabilities and a zero output, never NaN.
// Work is split over (batch, head); within a head the products run in row blocks so that the
// upper triangle, which the causal mask throws away, is mostly never computed.
#include <algorithm>
#include <cmath>
#include <limits>

#include "rlhf/backend/cpu/eigen.hpp"
#include "rlhf/backend/cpu/parallel.hpp"
#include "rlhf/backend/kernel_checks.hpp"

namespace rlhf {

namespace cpu_detail {
inline constexpr std::int64_t attention_row_block = 64;
}  // namespace cpu_detail

template <class T>
void attention_forward(const cpu&, View<T, cpu> out, View<T, cpu> att, In<T, cpu> qkv, In<T, cpu> key_mask,
                       std::int64_t n_head) {
  using namespace cpu_detail;
  check::attention("attention_forward", qkv, "out", out, att, n_head);
  const std::int64_t B = qkv.size(0), Tn = qkv.size(1), C = qkv.size(2) / 3, H = n_head, D = C / H;
  check::optional_shape("attention_forward", "key_mask", key_mask, Shape{B, Tn});
  const T scale = T(1) / std::sqrt(T(D));
  [[maybe_unused]] const BlasSingleThread blas_guard;  // RAII; empty without BLAS
#pragma omp parallel for schedule(dynamic, 1) if (B * H * Tn * Tn * D >= cpu_detail::min_parallel_work)
  for (std::int64_t bh = 0; bh < B * H; ++bh) {
    const std::int64_t b = bh / H, h = bh % H;
    const T* base = qkv.data() + b * Tn * 3 * C + h * D;
    auto Q = mat(base, Tn, D, 3 * C);
    auto K = mat(base + C, Tn, D, 3 * C);
    auto V = mat(base + 2 * C, Tn, D, 3 * C);
    auto P = mat(att.data() + bh * Tn * Tn, Tn, Tn, Tn);
    auto O = mat(out.data() + b * Tn * C + h * D, Tn, D, C);
    const T* mask = key_mask.present() ? key_mask.data() + b * Tn : nullptr;
    for (std::int64_t r0 = 0; r0 < Tn; r0 += attention_row_block) {
      const std::int64_t nr = std::min(attention_row_block, Tn - r0), r1 = r0 + nr;
      // The scale rides on the GEMM's alpha: no temporary.
      P.block(r0, 0, nr, r1).noalias() = (scale * Q.middleRows(r0, nr)) * K.topRows(r1).transpose();
      for (std::int64_t i = r0; i < r1; ++i) {
        MutRowArray<T> p(P.data() + i * Tn, i + 1);  // the keys query i may see
        if (mask) {
          const RowArray<T> valid(mask, i + 1);
          const T m = (valid != T(0)).select(p, -std::numeric_limits<T>::infinity()).maxCoeff();
          p = (valid != T(0)).select((p - m).exp(), T(0));
        } else {
          p = (p - p.maxCoeff()).exp();
        }
        const T sum = p.sum();
        p *= sum > T(0) ? T(1) / sum : T(0);  // no valid key: the row stays zero
        std::fill(P.data() + i * Tn + i + 1, P.data() + (i + 1) * Tn, T(0));
      }
      O.middleRows(r0, nr).noalias() = P.block(r0, 0, nr, r1) * V.topRows(r1);
    }
  }
}

// With S = scale · Q Kᵀ (masked), P = softmax(S), O = P V:
//   dV += Pᵀ dO,  dP = dO Vᵀ,  dS = P ∘ (dP - rowsum(P ∘ dP)),  dQ += scale · dS K,  dK += scale · dSᵀ Q
// datt: [B, H, T, T] scratch for dP / dS (overwritten).
template <class T>
void attention_backward(const cpu&, View<T, cpu> dqkv, View<T, cpu> datt, In<T, cpu> dout, In<T, cpu> qkv,
                        In<T, cpu> att, std::int64_t n_head) {
  using namespace cpu_detail;
  check::attention("attention_backward", qkv, "dout", dout, att, n_head);
  check::same("attention_backward", "dqkv", dqkv, "qkv", qkv);
  check::same("attention_backward", "datt", datt, "att", att);
  const std::int64_t B = qkv.size(0), Tn = qkv.size(1), C = qkv.size(2) / 3, H = n_head, D = C / H;
  const T scale = T(1) / std::sqrt(T(D));
  [[maybe_unused]] const BlasSingleThread blas_guard;  // RAII; empty without BLAS
#pragma omp parallel for schedule(dynamic, 1) if (B * H * Tn * Tn * D >= cpu_detail::min_parallel_work)
  for (std::int64_t bh = 0; bh < B * H; ++bh) {
    const std::int64_t b = bh / H, h = bh % H;
    const std::int64_t off = b * Tn * 3 * C + h * D;
    auto Q = mat(qkv.data() + off, Tn, D, 3 * C);
    auto K = mat(qkv.data() + off + C, Tn, D, 3 * C);
    auto V = mat(qkv.data() + off + 2 * C, Tn, D, 3 * C);
    auto dQ = mat(dqkv.data() + off, Tn, D, 3 * C);
    auto dK = mat(dqkv.data() + off + C, Tn, D, 3 * C);
    auto dV = mat(dqkv.data() + off + 2 * C, Tn, D, 3 * C);
    auto P = mat(att.data() + bh * Tn * Tn, Tn, Tn, Tn);
    auto dS = mat(datt.data() + bh * Tn * Tn, Tn, Tn, Tn);
    auto dO = mat(dout.data() + b * Tn * C + h * D, Tn, D, C);
    for (std::int64_t r0 = 0; r0 < Tn; r0 += attention_row_block) {
      const std::int64_t nr = std::min(attention_row_block, Tn - r0), r1 = r0 + nr;
      dV.topRows(r1).noalias() += P.block(r0, 0, nr, r1).transpose() * dO.middleRows(r0, nr);
      dS.block(r0, 0, nr, r1).noalias() = dO.middleRows(r0, nr) * V.topRows(r1).transpose();
      for (std::int64_t i = r0; i < r1; ++i) {
        const RowArray<T> p(P.data() + i * Tn, i + 1);
        MutRowArray<T> d(dS.data() + i * Tn, i + 1);
        const T dot = (p * d).sum();
        d = p * (d - dot) * scale;
        std::fill(dS.data() + i * Tn + i + 1, dS.data() + i * Tn + r1, T(0));
      }
      dQ.middleRows(r0, nr).noalias() += dS.block(r0, 0, nr, r1) * K.topRows(r1);
      dK.topRows(r1).noalias() += dS.block(r0, 0, nr, r1).transpose() * Q.middleRows(r0, nr);
    }
  }
}

}  // namespace rlhf
