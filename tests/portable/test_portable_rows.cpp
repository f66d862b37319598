// The CUDA backend's row-wise kernels and embedding (backend/portable/rows.hpp, embedding.hpp)
// run by Thrust's OpenMP system against the CPU backend's kernels of the same name, float and
// double: LayerNorm, softmax, fused cross-entropy with a mask, log-probs and entropy at a
// temperature, embedding with repeated ids; backward kernels accumulate onto non-zero gradients.
// In double, each backward also against finite differences of its own forward; and the search
// for an id outside the vocabulary; the bias parts of matmul (backend/portable/bias.hpp).
#include <doctest/doctest.h>

#include <thrust/execution_policy.h>

#include <vector>

#include "compare.hpp"
#include "rlhf/backend/cpu.hpp"
#include "rlhf/backend/portable/bias.hpp"
#include "rlhf/backend/portable/embedding.hpp"
#include "rlhf/backend/portable/rows.hpp"
#include "rlhf/core/tensor.hpp"

using rlhf::cpu;
using rlhf::Shape;
using rlhf::Tensor;

namespace {

// Sizes that are not multiples of any vector width or chunk.
constexpr std::int64_t rows = 37, cols = 129, vocab = 1003;

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Targets in [0, vocab) with row 3 at -100 (masked out by the mask below, never read).
std::vector<std::int32_t> targets() {
  std::vector<std::int32_t> t(static_cast<std::size_t>(rows));
  for (std::size_t n = 0; n < t.size(); ++n) t[n] = std::int32_t((n * 7919 + 11) % vocab);
  t[3] = -100;
  return t;
}

template <class T>
std::vector<T> mask() {
  std::vector<T> m(static_cast<std::size_t>(rows), T(1));
  m[3] = m[10] = T(0);
  m[5] = T(0.5);
  return m;
}

// Logits of scale 3 with one row of ±1e4 values, whose softmax must stay finite.
template <class T>
std::vector<T> logits() {
  std::vector<T> z = compare::normal<T>(40, 3.0, rows * vocab);
  for (std::int64_t v = 0; v < vocab; ++v) z[std::size_t(vocab + v)] *= T(3000);
  return z;
}

}  // namespace

TEST_CASE_TEMPLATE("portable layernorm forward and backward equal the CPU kernels", T, float, double) {
  const std::vector<T> x = compare::normal<T>(1, 2.0, rows * cols), w = compare::normal<T>(2, 1.0, cols),
                       b = compare::normal<T>(3, 1.0, cols), dout = compare::normal<T>(4, 1.0, rows * cols),
                       dx0 = compare::normal<T>(5, 1.0, rows * cols), dw0 = compare::normal<T>(6, 1.0, cols);
  const T eps = T(1e-5);
  const Shape xs{rows, cols}, cs{cols}, ns{rows};
  const Tensor<T, cpu> xt = compare::tensor<cpu>(xs, x), wt = compare::tensor<cpu>(cs, w), bt = compare::tensor<cpu>(cs, b), dt = compare::tensor<cpu>(xs, dout);
  Tensor<T, cpu> out(xs), mean(ns), rstd(ns), dx = compare::tensor<cpu>(xs, dx0), dw = compare::tensor<cpu>(cs, dw0), db = compare::tensor<cpu>(cs, dw0);
  rlhf::layernorm_forward(cpu{}, out.view(), mean.view(), rstd.view(), xt.cview(), wt.cview(), bt.cview(), eps);
  rlhf::layernorm_backward(cpu{}, dx.view(), dw.view(), db.view(), dt.cview(), xt.cview(), wt.cview(), mean.cview(),
                           rstd.cview());

  std::vector<T> p_out = compare::zeros<T>(rows * cols), p_mean = compare::zeros<T>(rows), p_rstd = compare::zeros<T>(rows), p_dx = dx0,
                 p_dw = dw0, p_db = dw0;
  rlhf::portable::layernorm_forward(thrust::device, p_out.data(), p_mean.data(), p_rstd.data(), x.data(), w.data(),
                                    b.data(), rows, cols, eps);
  rlhf::portable::layernorm_backward(thrust::device, p_dx.data(), p_dw.data(), p_db.data(), dout.data(), x.data(),
                                     w.data(), p_mean.data(), p_rstd.data(), rows, cols);
  CHECK(compare::max_rel_error(p_out, out.to_vector()) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(p_mean, mean.to_vector()) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(p_rstd, rstd.to_vector()) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(p_dx, dx.to_vector()) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(p_dw, dw.to_vector()) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(p_db, db.to_vector()) <= compare::tolerance<T>());
}

TEST_CASE("portable layernorm backward against finite differences (double)") {
  std::vector<double> x = compare::normal<double>(7, 2.0, rows * cols), w = compare::normal<double>(8, 1.0, cols),
                      b = compare::normal<double>(9, 1.0, cols);
  const std::vector<double> r = compare::normal<double>(10, 1.0, rows * cols);  // loss = Σ r ∘ out
  std::vector<double> out = compare::zeros<double>(rows * cols), mean = compare::zeros<double>(rows), rstd = compare::zeros<double>(rows);
  const auto loss = [&] {
    rlhf::portable::layernorm_forward(thrust::device, out.data(), mean.data(), rstd.data(), x.data(), w.data(),
                                      b.data(), rows, cols, 1e-5);
    return dot(r, out);
  };
  loss();
  std::vector<double> dx = compare::zeros<double>(rows * cols), dw = compare::zeros<double>(cols), db = compare::zeros<double>(cols);
  rlhf::portable::layernorm_backward(thrust::device, dx.data(), dw.data(), db.data(), r.data(), x.data(), w.data(),
                                     mean.data(), rstd.data(), rows, cols);
  compare::check_gradient(x, loss, dx, 13);
  compare::check_gradient(w, loss, dw, 1);
  compare::check_gradient(b, loss, db, 1);
}

TEST_CASE_TEMPLATE("portable softmax forward and backward equal the CPU kernels", T, float, double) {
  const std::vector<T> x = compare::normal<T>(11, 4.0, rows * cols), dout = compare::normal<T>(12, 1.0, rows * cols),
                       dx0 = compare::normal<T>(13, 1.0, rows * cols);
  const Shape xs{rows, cols};
  const Tensor<T, cpu> xt = compare::tensor<cpu>(xs, x), dt = compare::tensor<cpu>(xs, dout);
  Tensor<T, cpu> y(xs), dx = compare::tensor<cpu>(xs, dx0);
  rlhf::softmax_forward(cpu{}, y.view(), xt.cview());
  rlhf::softmax_backward(cpu{}, dx.view(), dt.cview(), y.cview());
  std::vector<T> p_y = compare::zeros<T>(rows * cols), p_dx = dx0;
  rlhf::portable::softmax_forward(thrust::device, p_y.data(), x.data(), rows, cols);
  rlhf::portable::softmax_backward(thrust::device, p_dx.data(), dout.data(), p_y.data(), rows, cols);
  CHECK(compare::max_rel_error(p_y, y.to_vector()) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(p_dx, dx.to_vector()) <= compare::tolerance<T>());
}

TEST_CASE_TEMPLATE("portable cross-entropy with a mask equals the CPU kernel", T, float, double) {
  const std::vector<T> z = logits<T>(), m = mask<T>(), d0 = compare::normal<T>(14, 1.0, rows * vocab);
  const std::vector<std::int32_t> t = targets();
  const Shape zs{rows, vocab}, ns{rows};
  const Tensor<T, cpu> zt = compare::tensor<cpu>(zs, z), mt = compare::tensor<cpu>(ns, m);
  const Tensor<std::int32_t, cpu> tt = compare::tensor<cpu>(ns, t);
  Tensor<T, cpu> losses(ns), lse(ns), dz = compare::tensor<cpu>(zs, d0);
  const T loss = rlhf::cross_entropy_forward(cpu{}, losses.view(), lse.view(), zt.cview(), tt.cview(), mt.cview());
  rlhf::cross_entropy_backward(cpu{}, dz.view(), zt.cview(), lse.cview(), tt.cview(), mt.cview(), T(0.7));

  std::vector<T> p_losses = compare::zeros<T>(rows), p_lse = compare::zeros<T>(rows), p_dz = d0;
  const T p_loss = rlhf::portable::cross_entropy_forward(thrust::device, p_losses.data(), p_lse.data(), z.data(),
                                                         t.data(), m.data(), rows, vocab);
  rlhf::portable::cross_entropy_backward(thrust::device, p_dz.data(), z.data(), p_lse.data(), t.data(), m.data(), rows,
                                         vocab, T(0.7));
  CHECK(std::isfinite(double(p_loss)));
  CHECK(compare::max_rel_error(std::vector<T>{p_loss}, std::vector<T>{loss}) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(p_losses, losses.to_vector()) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(p_lse, lse.to_vector()) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(p_dz, dz.to_vector()) <= compare::tolerance<T>());

  // Without a mask every row counts (row 3's target made valid); with every row masked the loss
  // is 0 and backward adds nothing.
  std::vector<std::int32_t> all = t;
  all[3] = 1;
  const Tensor<std::int32_t, cpu> allt = compare::tensor<cpu>(ns, all);
  const T unmasked = rlhf::cross_entropy_forward(cpu{}, losses.view(), lse.view(), zt.cview(), allt.cview(), {});
  CHECK(compare::max_rel_error(std::vector<T>{rlhf::portable::cross_entropy_forward(
                                   thrust::device, p_losses.data(), p_lse.data(), z.data(), all.data(),
                                   static_cast<const T*>(nullptr), rows, vocab)},
                               std::vector<T>{unmasked}) <= compare::tolerance<T>());
  const std::vector<T> none = compare::zeros<T>(rows);
  CHECK(rlhf::portable::cross_entropy_forward(thrust::device, p_losses.data(), p_lse.data(), z.data(), t.data(),
                                              none.data(), rows, vocab) == T(0));
  std::vector<T> untouched = d0;
  rlhf::portable::cross_entropy_backward(thrust::device, untouched.data(), z.data(), p_lse.data(), t.data(),
                                         none.data(), rows, vocab, T(1));
  CHECK(untouched == d0);
}

TEST_CASE_TEMPLATE("portable log-probs and entropy at a temperature equal the CPU kernels", T, float, double) {
  const std::vector<T> z = logits<T>(), g = compare::normal<T>(15, 1.0, rows),
                       d0 = compare::normal<T>(16, 1.0, rows * vocab);
  std::vector<std::int32_t> t = targets();
  t[3] = 0;  // log-probs read every row
  const T tau = T(0.7);
  const Shape zs{rows, vocab}, ns{rows};
  const Tensor<T, cpu> zt = compare::tensor<cpu>(zs, z), gt = compare::tensor<cpu>(ns, g);
  const Tensor<std::int32_t, cpu> tt = compare::tensor<cpu>(ns, t);
  Tensor<T, cpu> logp(ns), lse(ns), h(ns), hlse(ns), dz = compare::tensor<cpu>(zs, d0);
  rlhf::logprob_forward(cpu{}, logp.view(), lse.view(), zt.cview(), tt.cview(), tau);
  rlhf::logprob_backward(cpu{}, dz.view(), gt.cview(), zt.cview(), lse.cview(), tt.cview(), tau);
  rlhf::entropy_forward(cpu{}, h.view(), hlse.view(), zt.cview(), tau);
  rlhf::entropy_backward(cpu{}, dz.view(), gt.cview(), zt.cview(), hlse.cview(), h.cview(), tau);

  std::vector<T> p_logp = compare::zeros<T>(rows), p_lse = compare::zeros<T>(rows), p_h = compare::zeros<T>(rows), p_hlse = compare::zeros<T>(rows),
                 p_dz = d0;
  rlhf::portable::logprob_forward(thrust::device, p_logp.data(), p_lse.data(), z.data(), t.data(), rows, vocab, tau);
  rlhf::portable::logprob_backward(thrust::device, p_dz.data(), g.data(), z.data(), p_lse.data(), t.data(), rows, vocab,
                                   tau);
  rlhf::portable::entropy_forward(thrust::device, p_h.data(), p_hlse.data(), z.data(), rows, vocab, tau);
  rlhf::portable::entropy_backward(thrust::device, p_dz.data(), g.data(), z.data(), p_hlse.data(), p_h.data(), rows,
                                   vocab, tau);
  CHECK(compare::max_rel_error(p_logp, logp.to_vector()) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(p_lse, lse.to_vector()) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(p_h, h.to_vector()) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(p_dz, dz.to_vector()) <= compare::tolerance<T>());
}

TEST_CASE("portable vocabulary ops' backward against finite differences (double)") {
  // Small logits and fewer columns: the difference quotient of a sum over 1003 exponentials
  // would lose the digits the check needs.
  constexpr std::int64_t V = 41;
  std::vector<double> z = compare::normal<double>(17, 2.0, rows * V);
  const std::vector<double> m = mask<double>(), r = compare::normal<double>(18, 1.0, rows);
  std::vector<std::int32_t> t = targets();
  for (auto& id : t) id = id < 0 ? id : id % V;
  std::vector<double> a = compare::zeros<double>(rows), lse = compare::zeros<double>(rows), h = compare::zeros<double>(rows);
  const double tau = 0.7;

  const auto ce = [&] {
    return rlhf::portable::cross_entropy_forward(thrust::device, a.data(), lse.data(), z.data(), t.data(), m.data(),
                                                 rows, V);
  };
  ce();
  std::vector<double> dz = compare::zeros<double>(rows * V);
  rlhf::portable::cross_entropy_backward(thrust::device, dz.data(), z.data(), lse.data(), t.data(), m.data(), rows, V,
                                         1.0);
  compare::check_gradient(z, ce, dz, 7);

  t[3] = 0;
  const auto logp = [&] {
    rlhf::portable::logprob_forward(thrust::device, a.data(), lse.data(), z.data(), t.data(), rows, V, tau);
    return dot(r, a);
  };
  logp();
  dz = compare::zeros<double>(rows * V);
  rlhf::portable::logprob_backward(thrust::device, dz.data(), r.data(), z.data(), lse.data(), t.data(), rows, V, tau);
  compare::check_gradient(z, logp, dz, 7);

  const auto entropy = [&] {
    rlhf::portable::entropy_forward(thrust::device, h.data(), lse.data(), z.data(), rows, V, tau);
    return dot(r, h);
  };
  entropy();
  dz = compare::zeros<double>(rows * V);
  rlhf::portable::entropy_backward(thrust::device, dz.data(), r.data(), z.data(), lse.data(), h.data(), rows, V, tau);
  compare::check_gradient(z, entropy, dz, 7);
}

TEST_CASE_TEMPLATE("portable embedding forward and backward equal the CPU kernels bit for bit", T, float, double) {
  constexpr std::int64_t table_rows = 50;
  std::vector<std::int32_t> ids(static_cast<std::size_t>(rows));
  for (std::size_t n = 0; n < ids.size(); ++n) ids[n] = std::int32_t((n * n) % 17);  // repeats
  const std::vector<T> table = compare::normal<T>(19, 1.0, table_rows * cols),
                       dout = compare::normal<T>(20, 1.0, rows * cols), d0 = compare::normal<T>(21, 1.0, table_rows * cols);
  const Shape ts{table_rows, cols}, os{rows, cols}, ns{rows};
  const Tensor<T, cpu> tt = compare::tensor<cpu>(ts, table), dt = compare::tensor<cpu>(os, dout);
  const Tensor<std::int32_t, cpu> it = compare::tensor<cpu>(ns, ids);
  Tensor<T, cpu> out(os), dtable = compare::tensor<cpu>(ts, d0);
  rlhf::embedding_forward(cpu{}, out.view(), tt.cview(), it.cview());
  rlhf::embedding_backward(cpu{}, dtable.view(), dt.cview(), it.cview());
  std::vector<T> p_out = compare::zeros<T>(rows * cols), p_dtable = d0;
  rlhf::portable::embedding_forward(thrust::device, p_out.data(), table.data(), ids.data(), rows, cols);
  rlhf::portable::embedding_backward(thrust::device, p_dtable.data(), dout.data(), ids.data(), rows, cols);
  CHECK(p_out == out.to_vector());
  CHECK(p_dtable == dtable.to_vector());
}

TEST_CASE("portable search for an id outside the vocabulary") {
  std::vector<std::int32_t> ids{3, 0, 9, -100, 12, 4, -1};
  const std::vector<float> weight{1, 1, 1, 0, 1, 1, 1};
  const auto n = std::int64_t(ids.size());
  CHECK(rlhf::portable::first_id_outside(thrust::device, ids.data(), n, 13) == 3);
  CHECK(rlhf::portable::first_id_outside(thrust::device, ids.data(), n, 12) == 3);
  CHECK(rlhf::portable::first_id_outside(thrust::device, ids.data(), n, 13, weight.data()) == 6);  // -100 is masked
  CHECK(rlhf::portable::first_id_outside(thrust::device, ids.data(), n, 12, weight.data()) == 4);  // 12 ∉ [0, 12)
  CHECK(rlhf::portable::first_id_outside(thrust::device, ids.data(), 3, 13) == -1);
  CHECK(rlhf::portable::first_id_outside(thrust::device, ids.data(), 0, 13) == -1);
}

TEST_CASE_TEMPLATE("portable bias broadcast and column sums equal the CPU matmul's bias parts", T, float, double) {
  // With a zero weight, matmul_forward's output is the bias in every row and matmul_backward's
  // dbias gets dout's column sums: exactly what the CUDA matmul runs around cuBLAS.
  constexpr std::int64_t M = rows, N = cols, K = 3;
  const std::vector<T> bias = compare::normal<T>(22, 1.0, N), dout = compare::normal<T>(23, 1.0, M * N),
                       d0 = compare::normal<T>(24, 1.0, N);
  const Tensor<T, cpu> a(Shape{M, K}), w(Shape{K, N}), bt = compare::tensor<cpu>(Shape{N}, bias), dt = compare::tensor<cpu>(Shape{M, N}, dout);
  Tensor<T, cpu> out(Shape{M, N}), dbias = compare::tensor<cpu>(Shape{N}, d0);
  rlhf::matmul_forward(cpu{}, out.view(), a.cview(), w.cview(), bt.cview(), rlhf::WeightLayout::in_out);
  rlhf::matmul_backward(cpu{}, {}, {}, dbias.view(), dt.cview(), a.cview(), w.cview(), rlhf::WeightLayout::in_out);
  std::vector<T> p_out = compare::zeros<T>(M * N), p_dbias = d0;
  rlhf::portable::broadcast_rows(thrust::device, p_out.data(), bias.data(), M, N);
  rlhf::portable::add_column_sums(thrust::device, p_dbias.data(), dout.data(), M, N);
  CHECK(p_out == out.to_vector());
  CHECK(compare::max_rel_error(p_dbias, dbias.to_vector()) <= compare::tolerance<T>());
}
