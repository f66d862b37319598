// The op table: every kernel of the backend contract (include/rlhf/backend/contract.hpp) as rows
// of shapes, tolerances and whether its gradient is checked, run by op_harness.hpp on every
// backend: the CPU backend (gradients), thrust_omp against the CPU (tests/portable/test_portable_ops.cpp), and the CUDA
// backend against the CPU (tests/cuda/test_cuda_ops.cu). An op is a struct (its tensors, its
// forward, its backward if it has one); a case is a row in `table()`. Adding an op means adding
// one struct and its rows here; every backend then runs it.
//
// Shapes are not multiples of any vector width or chunk. Tolerances: 1e-5 in float and 1e-12 in
// double where the backends sum in different orders; 0 (bit for bit) where no sum is involved.
// Kernels are called unqualified and found by argument-dependent lookup, as the models call
// them, so the including file decides which backends exist.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "op_harness.hpp"
#include "rlhf/backend/adamw_step.hpp"
#include "rlhf/core/philox.hpp"
#include "rlhf/core/sampling.hpp"
#include "rlhf/core/weight_layout.hpp"

namespace ops {

// Defaults every row may override.
struct Row {
  Tolerance tolerance() const { return {}; }
  bool gradient_check = false;
  double gradient_tolerance() const { return 1e-7; }
  std::size_t gradient_samples() const { return 60; }  // per differentiated input
  // Tokens (int outputs) must be equal.
  template <class Got, class Want>
  void compare_tokens(const std::string& name, const Got& got, const Want& want) const {
    CHECK(got.host(name) == want.host(name));
  }
};

inline std::string dims(std::initializer_list<std::int64_t> d) {
  std::string s;
  for (const std::int64_t x : d) s += (s.empty() ? "" : "x") + std::to_string(x);
  return s;
}

struct Gelu : Row {
  std::int64_t n;
  Gelu(std::int64_t n_, bool grad) : n(n_) { gradient_check = grad; }
  std::string name() const { return "gelu " + dims({n}); }
  std::vector<Spec> specs() const {
    std::vector<double> x = normal(1, 3.0, n);
    x[0] = 20, x[1] = -20, x[2] = 0;  // saturated tails and the origin
    return {{"x", Role::input, {n}, x},
            {"out", Role::output, {n}},
            {"dout", Role::upstream, {n}, normal(2, 1.0, n)},
            {"dx", Role::state, {n}, normal(3, 1.0, n)}};
  }
  template <class B, class T>
  void forward(const B& be, Tensors<T, B>& t) const {
    gelu_forward(be, t.out("out"), t.in("x"));
  }
  template <class B, class T>
  void backward(const B& be, Tensors<T, B>& t) const {
    gelu_backward(be, t.out("dx"), t.in("dout"), t.in("x"));
  }
};

struct Residual : Row {
  std::int64_t n;
  explicit Residual(std::int64_t n_) : n(n_) { gradient_check = true; }
  std::string name() const { return "residual " + dims({n}); }
  Tolerance tolerance() const { return {0, 0}; }
  std::vector<Spec> specs() const {
    return {{"a", Role::input, {n}, normal(5, 1.0, n)},
            {"b", Role::input, {n}, normal(6, 1.0, n)},
            {"out", Role::output, {n}},
            {"dout", Role::upstream, {n}, normal(7, 1.0, n)},
            {"da", Role::state, {n}, normal(8, 1.0, n)},
            {"db", Role::state, {n}, normal(9, 1.0, n)}};
  }
  template <class B, class T>
  void forward(const B& be, Tensors<T, B>& t) const {
    residual_forward(be, t.out("out"), t.in("a"), t.in("b"));
  }
  template <class B, class T>
  void backward(const B& be, Tensors<T, B>& t) const {
    residual_backward(be, t.out("da"), t.out("db"), t.in("dout"));
  }
};

struct LayerNorm : Row {
  std::int64_t rows, cols;
  LayerNorm(std::int64_t r, std::int64_t c, bool grad) : rows(r), cols(c) { gradient_check = grad; }
  std::string name() const { return "layernorm " + dims({rows, cols}); }
  std::vector<Spec> specs() const {
    const Shape x{rows, cols}, c{cols}, r{rows};
    return {{"x", Role::input, x, normal(11, 2.0, rows * cols)},
            {"w", Role::input, c, normal(12, 1.0, cols)},
            {"b", Role::input, c, normal(13, 1.0, cols)},
            {"out", Role::output, x},
            {"mean", Role::output, r},
            {"rstd", Role::output, r},
            {"dout", Role::upstream, x, normal(14, 1.0, rows * cols)},
            {"dx", Role::state, x, normal(15, 1.0, rows * cols)},
            {"dw", Role::state, c, normal(16, 1.0, cols)},
            {"db", Role::state, c, normal(17, 1.0, cols)}};
  }
  template <class B, class T>
  void forward(const B& be, Tensors<T, B>& t) const {
    layernorm_forward(be, t.out("out"), t.out("mean"), t.out("rstd"), t.in("x"), t.in("w"), t.in("b"), T(1e-5));
  }
  template <class B, class T>
  void backward(const B& be, Tensors<T, B>& t) const {
    layernorm_backward(be, t.out("dx"), t.out("dw"), t.out("db"), t.in("dout"), t.in("x"), t.in("w"), t.in("mean"),
                       t.in("rstd"));
  }
};

struct Softmax : Row {
  std::int64_t rows, cols;
  Softmax(std::int64_t r, std::int64_t c, bool grad) : rows(r), cols(c) { gradient_check = grad; }
  std::string name() const { return "softmax " + dims({rows, cols}); }
  std::vector<Spec> specs() const {
    const Shape x{rows, cols};
    return {{"x", Role::input, x, normal(21, 4.0, rows * cols)},
            {"out", Role::output, x},
            {"dout", Role::upstream, x, normal(22, 1.0, rows * cols)},
            {"dx", Role::state, x, normal(23, 1.0, rows * cols)}};
  }
  template <class B, class T>
  void forward(const B& be, Tensors<T, B>& t) const {
    softmax_forward(be, t.out("out"), t.in("x"));
  }
  template <class B, class T>
  void backward(const B& be, Tensors<T, B>& t) const {
    softmax_backward(be, t.out("dx"), t.in("dout"), t.in("out"));
  }
};

// ---- the vocabulary rows ---------------------------------------------------------------------

// Targets in [0, V), row 3 at -100 (masked out below, never read unless `every_row`).
inline std::vector<std::int32_t> targets(std::int64_t rows, std::int64_t V, bool every_row) {
  std::vector<std::int32_t> t(static_cast<std::size_t>(rows));
  for (std::size_t n = 0; n < t.size(); ++n) t[n] = std::int32_t((n * 7919 + 11) % std::size_t(V));
  if (!every_row && rows > 3) t[3] = -100;
  return t;
}
// Logits of scale `scale`; with `huge`, row 1 of ±1e4 values, whose softmax must stay finite.
inline std::vector<double> logits(std::int64_t rows, std::int64_t V, double scale, bool huge) {
  std::vector<double> z = normal(40, scale, rows * V);
  if (huge && rows > 1)
    for (std::int64_t v = 0; v < V; ++v) z[std::size_t(V + v)] *= 3000;
  return z;
}

enum class Masking { some, none, all };

// Fused cross-entropy: loss = Σ mask · −log softmax(z)[target] / Σ mask; backward scales by dloss.
struct CrossEntropy : Row {
  std::int64_t rows, V;
  Masking masking;
  CrossEntropy(std::int64_t r, std::int64_t v, Masking m, bool grad) : rows(r), V(v), masking(m) {
    gradient_check = grad;
  }
  std::string name() const {
    return "cross_entropy " + dims({rows, V}) +
           (masking == Masking::some   ? " masked"
            : masking == Masking::none ? " no mask"
                                       : " all masked");
  }
  std::vector<Spec> specs() const {
    const Shape z{rows, V}, r{rows};
    std::vector<double> mask(static_cast<std::size_t>(rows), masking == Masking::all ? 0.0 : 1.0);
    if (masking == Masking::some) mask[3] = mask[10 % rows] = 0, mask[5 % rows] = 0.5;
    std::vector<Spec> s{{"z", Role::input, z, logits(rows, V, gradient_check ? 2.0 : 3.0, !gradient_check)},
                        {"targets", Role::ids, r, {}, targets(rows, V, masking == Masking::none)},
                        {"losses", Role::output, r},
                        {"lse", Role::output, r},
                        {"loss", Role::output, {1}},
                        {"dloss", Role::upstream, {1}, {0.7}},
                        {"dz", Role::state, z, normal(41, 1.0, rows * V)}};
    if (masking != Masking::none) s.push_back({"mask", Role::constant, r, mask});
    return s;
  }
  template <class B, class T>
  rlhf::View<const T, B> mask(const Tensors<T, B>& t) const {
    return masking == Masking::none ? rlhf::View<const T, B>{} : t.in("mask");
  }
  template <class B, class T>
  void forward(const B& be, Tensors<T, B>& t) const {
    t.set_scalar("loss",
                 cross_entropy_forward(be, t.out("losses"), t.out("lse"), t.in("z"), t.ids("targets"), mask(t)));
  }
  template <class B, class T>
  void backward(const B& be, Tensors<T, B>& t) const {
    cross_entropy_backward(be, t.out("dz"), t.in("z"), t.in("lse"), t.ids("targets"), mask(t), t.scalar("dloss"));
  }
};

// Log-probabilities of the targets at temperature τ.
struct LogProb : Row {
  std::int64_t rows, V;
  LogProb(std::int64_t r, std::int64_t v, bool grad) : rows(r), V(v) { gradient_check = grad; }
  std::string name() const { return "logprob " + dims({rows, V}) + " at 0.7"; }
  std::vector<Spec> specs() const {
    const Shape z{rows, V}, r{rows};
    return {{"z", Role::input, z, logits(rows, V, gradient_check ? 2.0 : 3.0, !gradient_check)},
            {"targets", Role::ids, r, {}, targets(rows, V, true)},
            {"logp", Role::output, r},
            {"lse", Role::output, r},
            {"dlogp", Role::upstream, r, normal(42, 1.0, rows)},
            {"dz", Role::state, z, normal(43, 1.0, rows * V)}};
  }
  template <class B, class T>
  void forward(const B& be, Tensors<T, B>& t) const {
    logprob_forward(be, t.out("logp"), t.out("lse"), t.in("z"), t.ids("targets"), T(0.7));
  }
  template <class B, class T>
  void backward(const B& be, Tensors<T, B>& t) const {
    logprob_backward(be, t.out("dz"), t.in("dlogp"), t.in("z"), t.in("lse"), t.ids("targets"), T(0.7));
  }
};

// Entropy of softmax(z / τ) per row.
struct Entropy : Row {
  std::int64_t rows, V;
  Entropy(std::int64_t r, std::int64_t v, bool grad) : rows(r), V(v) { gradient_check = grad; }
  std::string name() const { return "entropy " + dims({rows, V}) + " at 0.7"; }
  std::vector<Spec> specs() const {
    const Shape z{rows, V}, r{rows};
    return {{"z", Role::input, z, logits(rows, V, gradient_check ? 2.0 : 3.0, !gradient_check)},
            {"entropy", Role::output, r},
            {"lse", Role::output, r},
            {"dentropy", Role::upstream, r, normal(44, 1.0, rows)},
            {"dz", Role::state, z, normal(45, 1.0, rows * V)}};
  }
  template <class B, class T>
  void forward(const B& be, Tensors<T, B>& t) const {
    entropy_forward(be, t.out("entropy"), t.out("lse"), t.in("z"), T(0.7));
  }
  template <class B, class T>
  void backward(const B& be, Tensors<T, B>& t) const {
    entropy_backward(be, t.out("dz"), t.in("dentropy"), t.in("z"), t.in("lse"), t.in("entropy"), T(0.7));
  }
};

// ---- embedding, matmul, attention ------------------------------------------------------------

// A lookup with repeated ids; backward scatter-adds (bit for bit: each table row sums its
// positions in order).
struct Embedding : Row {
  std::int64_t n, table_rows, C;
  Embedding(std::int64_t n_, std::int64_t rows_, std::int64_t c) : n(n_), table_rows(rows_), C(c) {
    gradient_check = true;
  }
  std::string name() const { return "embedding " + dims({n}) + " from " + dims({table_rows, C}); }
  Tolerance tolerance() const { return {0, 0}; }
  std::vector<Spec> specs() const {
    std::vector<std::int32_t> ids(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = std::int32_t((i * i) % std::size_t(table_rows));
    return {{"table", Role::input, {table_rows, C}, normal(50, 1.0, table_rows * C)},
            {"ids", Role::ids, {n}, {}, ids},
            {"out", Role::output, {n, C}},
            {"dout", Role::upstream, {n, C}, normal(51, 1.0, n * C)},
            {"dtable", Role::state, {table_rows, C}, normal(52, 1.0, table_rows * C)}};
  }
  template <class B, class T>
  void forward(const B& be, Tensors<T, B>& t) const {
    embedding_forward(be, t.out("out"), t.in("table"), t.ids("ids"));
  }
  template <class B, class T>
  void backward(const B& be, Tensors<T, B>& t) const {
    embedding_backward(be, t.out("dtable"), t.in("dout"), t.ids("ids"));
  }
};

// out = a · W (+ bias), W in either stored layout; a of rank 3 is flattened.
struct Matmul : Row {
  std::int64_t batch, M, K, N;
  rlhf::WeightLayout layout;
  bool bias;
  Matmul(std::int64_t b, std::int64_t m, std::int64_t k, std::int64_t n, rlhf::WeightLayout l, bool with_bias,
         bool grad)
      : batch(b), M(m), K(k), N(n), layout(l), bias(with_bias) {
    gradient_check = grad;
  }
  std::string name() const {
    return "matmul " + dims({batch, M, K}) + " by " + dims({K, N}) +
           (layout == rlhf::WeightLayout::in_out ? " in_out" : " out_in") + (bias ? " + bias" : "");
  }
  Shape weight() const { return layout == rlhf::WeightLayout::in_out ? Shape{K, N} : Shape{N, K}; }
  std::vector<Spec> specs() const {
    const Shape a{batch, M, K}, o{batch, M, N};
    std::vector<Spec> s{{"a", Role::input, a, normal(60, 1.0, batch * M * K)},
                        {"w", Role::input, weight(), normal(61, 0.5, K * N)},
                        {"out", Role::output, o},
                        {"dout", Role::upstream, o, normal(62, 1.0, batch * M * N)},
                        {"da", Role::state, a, normal(63, 1.0, batch * M * K)},
                        {"dw", Role::state, weight(), normal(64, 1.0, K * N)}};
    if (bias) {
      s.push_back({"bias", Role::input, {N}, normal(65, 1.0, N)});
      s.push_back({"dbias", Role::state, {N}, normal(66, 1.0, N)});
    }
    return s;
  }
  template <class B, class T>
  void forward(const B& be, Tensors<T, B>& t) const {
    matmul_forward(be, t.out("out"), t.in("a"), t.in("w"), bias ? t.in("bias") : rlhf::View<const T, B>{}, layout);
  }
  template <class B, class T>
  void backward(const B& be, Tensors<T, B>& t) const {
    matmul_backward(be, t.out("da"), t.out("dw"), bias ? t.out("dbias") : rlhf::View<T, B>{}, t.in("dout"), t.in("a"),
                    t.in("w"), layout);
  }
};

// Causal attention over qkv [B, T, 3C] with H heads; the key mask left-pads batch row 1 by 3
// (its first queries see no valid key: zero output, never NaN) and leaves a hole in row 2.
struct Attention : Row {
  std::int64_t B, T, H, D;
  bool masked;
  Attention(std::int64_t b, std::int64_t t, std::int64_t h, std::int64_t d, bool with_mask, bool grad)
      : B(b), T(t), H(h), D(d), masked(with_mask) {
    gradient_check = grad;
  }
  std::string name() const { return "attention " + dims({B, T, H, D}) + (masked ? " key mask" : ""); }
  std::vector<Spec> specs() const {
    const std::int64_t C = H * D;
    std::vector<double> mask(static_cast<std::size_t>(B * T), 1.0);
    for (int t = 0; t < 3 && B > 1; ++t) mask[std::size_t(T + t)] = 0;
    if (B > 2) mask[std::size_t(2 * T + 4)] = 0;
    std::vector<Spec> s{{"qkv", Role::input, {B, T, 3 * C}, normal(70, 1.0, B * T * 3 * C)},
                        {"out", Role::output, {B, T, C}},
                        {"att", Role::output, {B, H, T, T}},
                        {"dout", Role::upstream, {B, T, C}, normal(71, 1.0, B * T * C)},
                        {"dqkv", Role::state, {B, T, 3 * C}, normal(72, 1.0, B * T * 3 * C)},
                        {"datt", Role::scratch, {B, H, T, T}}};
    if (masked) s.push_back({"key_mask", Role::constant, {B, T}, mask});
    return s;
  }
  template <class Be, class X>
  void forward(const Be& be, Tensors<X, Be>& t) const {
    attention_forward(be, t.out("out"), t.out("att"), t.in("qkv"),
                      masked ? t.in("key_mask") : rlhf::View<const X, Be>{}, H);
  }
  template <class Be, class X>
  void backward(const Be& be, Tensors<X, Be>& t) const {
    attention_backward(be, t.out("dqkv"), t.out("datt"), t.in("dout"), t.in("qkv"), t.in("att"), H);
  }
};

// Attention over a KV cache of Tmax positions: a prompt of `prompt` tokens, then three decoding
// steps of one; batch row 1 left-padded by 2. Every step's output and the caches are compared.
struct AttentionKv : Row {
  std::int64_t B, H, D, Tmax, prompt;
  AttentionKv(std::int64_t b, std::int64_t h, std::int64_t d, std::int64_t tmax, std::int64_t p)
      : B(b), H(h), D(d), Tmax(tmax), prompt(p) {}
  std::string name() const {
    return "attention_kv " + dims({B, H, D}) + " cache " + dims({Tmax}) + " prompt " + dims({prompt});
  }
  std::vector<std::int64_t> steps() const { return {prompt, 1, 1, 1}; }
  std::vector<Spec> specs() const {
    const std::int64_t C = H * D;
    std::vector<double> mask(static_cast<std::size_t>(B * Tmax), 1.0);
    if (B > 1) mask[std::size_t(Tmax)] = mask[std::size_t(Tmax + 1)] = 0;
    std::vector<Spec> s{{"key_mask", Role::constant, {B, Tmax}, mask},
                        {"k_cache", Role::output, {B, H, Tmax, D}},
                        {"v_cache", Role::output, {B, H, Tmax, D}}};
    int step = 0;
    for (const std::int64_t n : steps()) {
      s.push_back({"qkv" + std::to_string(step), Role::constant, {B, n, 3 * C}, normal(80 + step, 1.0, B * n * 3 * C)});
      s.push_back({"out" + std::to_string(step), Role::output, {B, n, C}});
      ++step;
    }
    return s;
  }
  template <class Be, class X>
  void forward(const Be& be, Tensors<X, Be>& t) const {
    std::int64_t past = 0;
    int step = 0;
    for (const std::int64_t n : steps()) {
      const std::string i = std::to_string(step++);
      attention_kv_forward(be, t.out("out" + i), t.out("k_cache"), t.out("v_cache"), t.in("key_mask"), t.in("qkv" + i),
                           past, H);
      past += n;
    }
  }
};

// ---- sampling, initialisation, the optimizer ---------------------------------------------------

// sample_tokens on B rows of V logits: the same tokens as the CPU for the same Philox stream and
// offset. Rows 2-9 are all ties (the lower id goes first), row 10 has ties among its top logits.
// In float the backends' logsumexp may differ in the last bit, which moves a cumulative
// probability by about 1e-7: a draw in that gap picks the neighbouring token, in at most 1 row
// in 200; log-probs are compared where the tokens agree.
struct Sample : Row {
  std::int64_t B, V;
  rlhf::SamplingParams params;
  Sample(std::int64_t b, std::int64_t v, rlhf::SamplingParams p) : B(b), V(v), params(p) {}
  std::string name() const {
    return "sample_tokens " + dims({B, V}) + " temperature " + std::to_string(params.temperature) + " top_k " +
           std::to_string(params.top_k) + " top_p " + std::to_string(params.top_p);
  }
  std::vector<Spec> specs() const {
    std::vector<double> z = normal(90, 2.0, B * V);
    for (std::int64_t b = 2; b < 10 && b < B; ++b)
      for (std::int64_t v = 0; v < V; ++v) z[std::size_t(b * V + v)] = 1;
    if (B > 10)
      for (std::int64_t v = 0; v < V; v += 7) z[std::size_t(10 * V + v)] = 4;
    return {{"logits", Role::constant, {B, V}, z}, {"tokens", Role::tokens, {B}}, {"logp", Role::scratch, {B}}};
  }
  template <class Be, class X>
  void forward(const Be& be, Tensors<X, Be>& t) const {
    sample_tokens(be, t.tokens("tokens"), t.out("logp"), t.in("logits"), params, rlhf::PhiloxStream{2024, 3}, 17);
  }
  template <class X, class Be, class Ref>
  void compare_tokens(const std::string& name, const Tensors<X, Be>& got, const Tensors<X, Ref>& want) const {
    const std::vector<double> tokens = got.host(name), want_tokens = want.host(name), logp = got.host("logp"),
                              want_logp = want.host("logp");
    REQUIRE(tokens.size() == want_tokens.size());
    std::size_t differ = 0;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i] != want_tokens[i]) {
        ++differ;
        continue;
      }
      CAPTURE(i);
      CHECK(max_rel_error({logp[i]}, {want_logp[i]}) <= Tolerance{}.of<X>());
    }
    if (std::is_same_v<X, float>) CHECK(differ * 200 <= tokens.size());
    else CHECK(differ == 0);
  }
};

// The Philox fills and the constant fill: the CPU backend's numbers bit for bit. The offset is
// odd: the fill starts inside a Philox block and a Box-Muller pair.
struct Fills : Row {
  std::int64_t n;
  explicit Fills(std::int64_t n_) : n(n_) {}
  std::string name() const { return "fill_normal, fill_uniform, fill_constant " + dims({n}); }
  Tolerance tolerance() const { return {0, 0}; }
  std::vector<Spec> specs() const {
    return {{"normal", Role::output, {n}}, {"uniform", Role::output, {n}}, {"constant", Role::output, {n}}};
  }
  template <class Be, class X>
  void forward(const Be& be, Tensors<X, Be>& t) const {
    const rlhf::PhiloxStream rng{0x1234'5678'9ABCull, 42};
    fill_normal(be, t.out("normal"), rng, 3, X(0.5), X(0.02));
    fill_uniform(be, t.out("uniform"), rng, 3, X(-1), X(2));
    fill_constant(be, t.out("constant"), X(0.25));
  }
};

// Three AdamW steps (bias correction of steps 1-3, weight decay), then the gradient norm's
// Σ x² and a scale of the gradient.
struct AdamW : Row {
  std::int64_t n;
  explicit AdamW(std::int64_t n_) : n(n_) {}
  std::string name() const { return "adamw_update x3, sum_of_squares, scale " + dims({n}); }
  std::vector<Spec> specs() const {
    return {{"param", Role::state, {n}, normal(100, 1.0, n)},
            {"m", Role::state, {n}},
            {"v", Role::state, {n}},
            {"g1", Role::constant, {n}, normal(101, 0.5, n)},
            {"g2", Role::constant, {n}, normal(102, 0.5, n)},
            {"g3", Role::state, {n}, normal(103, 0.5, n)},
            {"sum_of_squares", Role::output, {1}}};
  }
  template <class Be, class X>
  void forward(const Be& be, Tensors<X, Be>& t) const {
    const double lr = 1e-2, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1;
    for (int step = 1; step <= 3; ++step) {
      const rlhf::AdamWStep s{lr, b1, b2, eps, wd, 1 - std::pow(b1, step), 1 - std::pow(b2, step)};
      adamw_update(be, t.out("param"), t.in("g" + std::to_string(step)), t.out("m"), t.out("v"), s);
    }
    t.set_scalar("sum_of_squares", X(sum_of_squares(be, t.in("g3"))));
    scale(be, t.out("g3"), X(0.3));
  }
};

// Every row, in the order they run. The gradient-checked rows are small: a difference quotient of
// a sum over a thousand exponentials would lose the digits the check needs.
inline auto table() {
  using rlhf::WeightLayout;
  return std::tuple{
      Gelu{10007, false},
      Gelu{257, true},
      Residual{10007},
      LayerNorm{37, 129, false},
      LayerNorm{5, 33, true},
      LayerNorm{56, 128, false},  // the default pipeline's rows × width
      Softmax{37, 129, false},
      Softmax{7, 19, true},
      CrossEntropy{37, 1003, Masking::some, false},
      CrossEntropy{37, 1003, Masking::none, false},
      CrossEntropy{37, 1003, Masking::all, false},
      CrossEntropy{64, 50257, Masking::some, false},  // GPT-2's vocabulary
      CrossEntropy{13, 41, Masking::some, true},
      LogProb{37, 1003, false},
      LogProb{13, 41, true},
      Entropy{37, 1003, false},
      Entropy{13, 41, true},
      Embedding{37, 17, 129},
      Matmul{1, 37, 65, 31, WeightLayout::in_out, true, false},
      Matmul{1, 37, 65, 31, WeightLayout::out_in, false, false},
      Matmul{3, 13, 64, 257, WeightLayout::out_in, false, false},  // a tied LM head
      Matmul{2, 5, 7, 6, WeightLayout::in_out, true, true},
      Matmul{2, 5, 7, 6, WeightLayout::out_in, true, true},
      Attention{3, 11, 2, 5, true, false},
      Attention{3, 11, 2, 5, false, false},
      Attention{3, 11, 2, 5, true, true},
      AttentionKv{3, 2, 5, 16, 9},
      Sample{256, 1003, {1.0, 0, 1.0}},
      Sample{256, 1003, {0.7, 20, 1.0}},
      Sample{256, 1003, {1.0, 0, 0.9}},
      Sample{256, 1003, {0.8, 50, 0.5}},
      Sample{256, 1003, {1.3, 1, 1.0}},
      Sample{256, 1003, {0.0, 0, 1.0}},
      Fills{10007},
      AdamW{10007},
  };
}

// ---- bad input: the same error, word for word, on every backend -------------------------------

template <class T, class Be>
rlhf::Tensor<T, Be> tensor(Shape shape, std::vector<T> values = {}) {
  values.resize(static_cast<std::size_t>(shape.numel()), T(0));
  return rlhf::Tensor<T, Be>(shape, std::span<const T>(values));
}

// What each bad input breaks, in the order call_bad_input numbers them.
inline std::vector<std::string> bad_inputs() {
  return {"a target outside the vocabulary",
          "a target of -100 where log-probs read every row",
          "a zero temperature",
          "an id outside the embedding table",
          "a LayerNorm weight of the wrong shape",
          "heads that do not divide the width",
          "outputs and inputs of different shapes",
          "a weight whose inner dimension differs"};
}

// Calls bad input number `which` on backend Be (float): each throws rlhf::error.
template <class Be>
void call_bad_input(const Be& be, std::size_t which) {
  using F = rlhf::Tensor<float, Be>;
  using I = rlhf::Tensor<std::int32_t, Be>;
  const F logits = tensor<float, Be>({3, 5}), mask = tensor<float, Be>({3}, {1, 0, 1});
  F losses = tensor<float, Be>({3}), lse = tensor<float, Be>({3});
  const I bad = tensor<std::int32_t, Be>({3}, {1, -100, 5});
  switch (which) {
    case 0: cross_entropy_forward(be, losses.view(), lse.view(), logits.cview(), bad.cview(), mask.cview()); return;
    case 1: logprob_forward(be, losses.view(), lse.view(), logits.cview(), bad.cview(), 1.0f); return;
    case 2: entropy_forward(be, losses.view(), lse.view(), logits.cview(), 0.0f); return;
    case 3: {
      const F table = tensor<float, Be>({4, 2});
      F out = tensor<float, Be>({2, 2});
      const I ids = tensor<std::int32_t, Be>({2}, {3, 4});
      embedding_forward(be, out.view(), table.cview(), ids.cview());
      return;
    }
    case 4: {
      const F x = tensor<float, Be>({2, 3}), w = tensor<float, Be>({4});
      F y = tensor<float, Be>({2, 3}), m = tensor<float, Be>({2}), r = tensor<float, Be>({2});
      layernorm_forward(be, y.view(), m.view(), r.view(), x.cview(), w.cview(), w.cview(), 1e-5f);
      return;
    }
    case 5: {
      const F qkv = tensor<float, Be>({2, 4, 12});
      F out = tensor<float, Be>({2, 4, 4}), att = tensor<float, Be>({2, 2, 4, 4});
      attention_forward(be, out.view(), att.view(), qkv.cview(), rlhf::View<const float, Be>{}, 3);
      return;
    }
    case 6: {
      F a = tensor<float, Be>({3, 4}), b = tensor<float, Be>({4, 3});
      gelu_forward(be, a.view(), b.cview());
      return;
    }
    case 7: {
      const F a = tensor<float, Be>({2, 3, 4}), w = tensor<float, Be>({3, 5});
      F out = tensor<float, Be>({2, 3, 5});
      matmul_forward(be, out.view(), a.cview(), w.cview(), rlhf::View<const float, Be>{}, rlhf::WeightLayout::in_out);
      return;
    }
    default: FAIL("no bad input " << which);
  }
}

}  // namespace ops
