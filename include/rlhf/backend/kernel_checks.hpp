#pragma once
// The shape checks of kernels whose shapes relate in more than one way (matmul, LayerNorm,
// attention, embedding, the ops over the vocabulary), shared by every backend so that a wrong call fails with the same
// message on each. They read shapes only; checks of values (ids inside the table, targets inside
// the vocabulary) are each backend's, since the values live in its memory, but report through
// the fail_* functions here.
#include <cmath>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "rlhf/backend/precision.hpp"
#include "rlhf/core/check.hpp"
#include "rlhf/core/sampling.hpp"
#include "rlhf/core/weight_layout.hpp"

namespace rlhf::check {

// x [..., C], w and b [C], mean and rstd [N] with N = numel(x) / C. Returns C.
template <class X, class W, class M>
std::int64_t layernorm(std::string_view op, const X& x, const W& w, const W& b, const M& mean, const M& rstd) {
  if (x.rank() < 1) fail(op, ": x has shape ", x.shape(), ", expected rank >= 1");
  const std::int64_t c = x.size(x.rank() - 1);
  const std::int64_t n = c ? x.numel() / c : 0;
  shape(op, "w", w, Shape{c});
  shape(op, "b", b, Shape{c});
  shape(op, "mean", mean, Shape{n});
  shape(op, "rstd", rstd, Shape{n});
  return c;
}

// layernorm_backward's arguments: dout and dx shaped like x, w and the statistics as above, dw
// and db [C]. Returns C.
template <class X, class G, class W, class M>
std::int64_t layernorm_backward_args(std::string_view op, const G& dx, const G& dw, const G& db, const X& dout,
                                     const X& x, const W& w, const M& mean, const M& rstd) {
  same(op, "dout", dout, "x", x);
  same(op, "dx", dx, "x", x);
  const std::int64_t c = layernorm(op, x, w, w, mean, rstd);
  shape(op, "dw", dw, Shape{c});
  shape(op, "db", db, Shape{c});
  return c;
}

// softmax over the last dimension of x (named `name`): rank >= 1. Returns that dimension.
template <class X>
std::int64_t softmax_rows(std::string_view op, std::string_view name, const X& x) {
  if (x.rank() < 1) fail(op, ": ", name, " has shape ", x.shape(), ", expected rank >= 1");
  return x.size(x.rank() - 1);
}

// table [V, C]; out (or dout) holds one row of C per id.
template <class O, class Tab, class Ids>
void embedding(std::string_view op, std::string_view out_name, const O& out, const Tab& table, const Ids& ids) {
  rank(op, "table", table, 2);
  const std::int64_t N = ids.numel(), C = table.size(1);
  if (out.numel() != N * C || out.rank() < 1 || out.size(out.rank() - 1) != C)
    fail(op, ": ", out_name, " has shape ", out.shape(), ", expected ", N, " rows (ids ", ids.shape(), ") of ", C,
         " columns (table ", table.shape(), ")");
}

template <class Tab>
[[noreturn]] void fail_id(std::string_view op, std::int32_t id, std::int64_t n, const Tab& table) {
  fail(op, ": id ", id, " at position ", n, " is outside the table ", table.shape());
}

// logits [N, V] with N > 0 rows and a non-empty vocabulary V > 0 (a row's logsumexp reads z[0]).
template <class L>
void logit_rows(std::string_view op, const L& logits) {
  rank(op, "logits", logits, 2);
  nonempty(op, "batch: logits has no rows", logits.size(0));
  if (logits.size(1) <= 0) fail(op, ": logits has shape ", logits.shape(), ", expected a non-empty vocabulary");
}

// logits [N, V] with ids [N] (any rank, same count).
template <class L, class I>
void vocab_rows(std::string_view op, const L& logits, const I& ids) {
  logit_rows(op, logits);
  if (ids.numel() != logits.size(0))
    fail(op, ": targets has shape ", ids.shape(), ", expected one per row of logits ", logits.shape());
}

[[noreturn]] inline void fail_target(std::string_view op, std::int32_t t, std::int64_t n, std::int64_t V) {
  fail(op, ": target ", t, " at row ", n, " is outside the vocabulary of ", V);
}

template <class T>
void temperature(std::string_view op, T t) {
  if (!(t > T(0)) || !std::isfinite(t)) fail(op, ": temperature must be positive, got ", t);
}

// qkv [B, T, 3C] of n_head heads; out (or dout) [B, T, C]; att [B, H, T, T].
template <class Q, class O, class A>
void attention(std::string_view op, const Q& qkv, std::string_view out_name, const O& out, const A& att,
               std::int64_t n_head) {
  rank(op, "qkv", qkv, 3);
  const std::int64_t B = qkv.size(0), T = qkv.size(1), C3 = qkv.size(2);
  if (C3 % 3 != 0) fail(op, ": qkv has shape ", qkv.shape(), ", its last dimension is not 3·C");
  const std::int64_t C = C3 / 3;
  if (n_head <= 0 || C % n_head != 0)
    fail(op, ": ", n_head, " heads do not divide C = ", C, " (qkv ", qkv.shape(), ")");
  shape(op, out_name, out, Shape{B, T, C});
  shape(op, "att", att, Shape{B, n_head, T, T});
}

// qkv [B, Tn, 3C] of H heads, caches [B, H, Tmax, D], key_mask [B, Tmax], out [B, Tn, C], and
// the Tn new tokens after `past` cached ones fit in the cache.
template <class O, class Kc, class M, class Q>
void attention_kv(std::string_view op, const O& out, const Kc& k_cache, const Kc& v_cache, const M& key_mask,
                  const Q& qkv, std::int64_t past, std::int64_t n_head) {
  rank(op, "qkv", qkv, 3);
  rank(op, "k_cache", k_cache, 4);
  const std::int64_t B = qkv.size(0), Tn = qkv.size(1), C = qkv.size(2) / 3, H = n_head;
  if (qkv.size(2) % 3 != 0 || H <= 0 || C % H != 0)
    fail(op, ": qkv ", qkv.shape(), " does not split into q, k, v of ", H, " heads");
  const std::int64_t D = C / H, Tmax = k_cache.size(2);
  shape(op, "k_cache", k_cache, Shape{B, H, Tmax, D});
  same(op, "v_cache", v_cache, "k_cache", k_cache);
  shape(op, "key_mask", key_mask, Shape{B, Tmax});
  shape(op, "out", out, Shape{B, Tn, C});
  if (past < 0 || past + Tn > Tmax)
    fail(op, ": ", Tn, " new tokens after ", past, " cached ones exceed the cache of ", Tmax, " positions");
}

// a [..., K] times w [K, N] (in_out) or [N, K] (out_in); out (or dout) [..., N].
template <class A, class W, class O>
void matmul(std::string_view op, const A& a, const W& w, WeightLayout layout, std::string_view out_name, const O& out) {
  rank(op, "w", w, 2);
  if (a.rank() < 1) fail(op, ": a has shape ", a.shape(), ", expected rank >= 1");
  const std::int64_t k = a.size(a.rank() - 1);
  const std::int64_t wk = layout == WeightLayout::in_out ? w.size(0) : w.size(1);
  const std::int64_t n = layout == WeightLayout::in_out ? w.size(1) : w.size(0);
  if (wk != k)
    fail(op, ": a ", a.shape(), " and w ", w.shape(), " (", to_string(layout), ") have different inner dimensions ", k,
         " and ", wk);
  if (out.rank() != a.rank() || out.size(out.rank() - 1) != n || out.numel() / (n ? n : 1) != a.numel() / (k ? k : 1))
    fail(op, ": ", out_name, " has shape ", out.shape(), ", expected a's leading dimensions of ", a.shape(), " and ", n,
         " columns");
}

// Reduced precision rounds float operands; double products (the gradient checks) have no such form.
template <class T>
void matmul_precision(std::string_view op, MatmulPrecision p) {
  if constexpr (!std::is_same_v<T, float>)
    if (p != MatmulPrecision::fp32)
      fail(op, ": ", name_of(p), " precision needs float tensors; this product is in ", sizeof(T) * 8, "-bit floats");
}

// ---- Whole argument lists of the ops over the vocabulary, as every backend checks them --------
// Each returns the rows N and the vocabulary V of logits [N, V]; the values (targets inside the
// vocabulary) are the backend's to check.

struct VocabRows {
  std::int64_t N, V;
};

template <class R, class L, class I, class M>
VocabRows cross_entropy_forward_args(std::string_view op, const R& losses, const R& lse, const L& logits,
                                     const I& targets, const M& mask) {
  vocab_rows(op, logits, targets);
  const VocabRows d{logits.size(0), logits.size(1)};
  shape(op, "losses", losses, Shape{d.N});
  shape(op, "lse", lse, Shape{d.N});
  optional_shape(op, "mask", mask, Shape{d.N});
  return d;
}

template <class D, class L, class I, class M>
VocabRows cross_entropy_backward_args(std::string_view op, const D& dlogits, const L& logits, const L& lse,
                                      const I& targets, const M& mask) {
  vocab_rows(op, logits, targets);
  same(op, "dlogits", dlogits, "logits", logits);
  const VocabRows d{logits.size(0), logits.size(1)};
  shape(op, "lse", lse, Shape{d.N});
  optional_shape(op, "mask", mask, Shape{d.N});
  return d;
}

template <class R, class L, class I, class T>
VocabRows logprob_forward_args(std::string_view op, const R& logp, const R& lse, const L& logits, const I& targets,
                               T t) {
  vocab_rows(op, logits, targets);
  temperature(op, t);
  const VocabRows d{logits.size(0), logits.size(1)};
  shape(op, "logp", logp, Shape{d.N});
  shape(op, "lse", lse, Shape{d.N});
  return d;
}

template <class D, class L, class I, class T>
VocabRows logprob_backward_args(std::string_view op, const D& dlogits, const L& dlogp, const L& logits, const L& lse,
                                const I& targets, T t) {
  vocab_rows(op, logits, targets);
  temperature(op, t);
  same(op, "dlogits", dlogits, "logits", logits);
  const VocabRows d{logits.size(0), logits.size(1)};
  shape(op, "dlogp", dlogp, Shape{d.N});
  shape(op, "lse", lse, Shape{d.N});
  return d;
}

template <class R, class L, class T>
VocabRows entropy_forward_args(std::string_view op, const R& entropy, const R& lse, const L& logits, T t) {
  logit_rows(op, logits);
  temperature(op, t);
  const VocabRows d{logits.size(0), logits.size(1)};
  shape(op, "entropy", entropy, Shape{d.N});
  shape(op, "lse", lse, Shape{d.N});
  return d;
}

template <class D, class L, class T>
VocabRows entropy_backward_args(std::string_view op, const D& dlogits, const L& dentropy, const L& logits, const L& lse,
                                const L& entropy, T t) {
  logit_rows(op, logits);
  temperature(op, t);
  same(op, "dlogits", dlogits, "logits", logits);
  const VocabRows d{logits.size(0), logits.size(1)};
  shape(op, "dentropy", dentropy, Shape{d.N});
  shape(op, "lse", lse, Shape{d.N});
  shape(op, "entropy", entropy, Shape{d.N});
  return d;
}

// tokens and logp [B] for logits [B, V] under valid sampling parameters.
template <class Tok, class R, class L>
VocabRows sample_args(std::string_view op, const Tok& tokens, const R& logp, const L& logits,
                      const SamplingParams& params) {
  params.validate();
  logit_rows(op, logits);
  const VocabRows d{logits.size(0), logits.size(1)};
  shape(op, "tokens", tokens, Shape{d.N});
  shape(op, "logp", logp, Shape{d.N});
  return d;
}

}  // namespace rlhf::check
