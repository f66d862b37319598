// The CUDA backend's row-wise kernels and embedding (backend/cuda/rows.cuh, embedding.cuh) on
// the GPU against the same functors run on the host (thrust::host), whose agreement with the CPU
// backend's kernels tests/portable checks: LayerNorm, softmax, masked cross-entropy, log-probs
// and entropy at a temperature, embedding with repeated ids (bit for bit); float and double;
// and the CPU kernels' errors for a target or an id outside range and for a wrong shape.
#include <doctest/doctest.h>

#include <thrust/execution_policy.h>

#include <string>
#include <vector>

#include "../portable/compare.hpp"
#include "../unit/error_of.hpp"
#include "rlhf/backend/cpu/tag.hpp"
#include "rlhf/backend/cuda.hpp"
#include "rlhf/core/tensor.hpp"

namespace test_cuda_rows {

using testing::error_of;

using gpu = rlhf::cuda;  // libcu++ declares a global namespace `cuda`
using rlhf::Shape;
using rlhf::Tensor;

namespace {

constexpr std::int64_t rows = 257, cols = 769, vocab = 50257;

std::vector<std::int32_t> targets(std::int64_t n, std::int64_t V) {
  std::vector<std::int32_t> t(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = std::int32_t((i * 7919 + 11) % std::size_t(V));
  return t;
}

}  // namespace

TEST_CASE_TEMPLATE("cuda layernorm forward and backward equal the host's", T, float, double) {
  const std::vector<T> x = compare::normal<T>(1, 2.0, rows * cols), w = compare::normal<T>(2, 1.0, cols),
                       b = compare::normal<T>(3, 1.0, cols), dout = compare::normal<T>(4, 1.0, rows * cols),
                       d0 = compare::normal<T>(5, 1.0, rows * cols), dw0 = compare::normal<T>(6, 1.0, cols);
  std::vector<T> out = compare::zeros<T>(rows * cols), mean = compare::zeros<T>(rows), rstd = compare::zeros<T>(rows), dx = d0, dw = dw0, db = dw0;
  rlhf::portable::layernorm_forward(thrust::host, out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(),
                                    rows, cols, T(1e-5));
  rlhf::portable::layernorm_backward(thrust::host, dx.data(), dw.data(), db.data(), dout.data(), x.data(), w.data(),
                                     mean.data(), rstd.data(), rows, cols);
  const Shape xs{rows, cols}, cs{cols}, ns{rows};
  const Tensor<T, gpu> xd = compare::tensor<gpu>(xs, x), wd = compare::tensor<gpu>(cs, w), bd = compare::tensor<gpu>(cs, b), gd = compare::tensor<gpu>(xs, dout);
  Tensor<T, gpu> o(xs), m(ns), r(ns), gx = compare::tensor<gpu>(xs, d0), gw = compare::tensor<gpu>(cs, dw0), gb = compare::tensor<gpu>(cs, dw0);
  rlhf::layernorm_forward(gpu{}, o.view(), m.view(), r.view(), xd.cview(), wd.cview(), bd.cview(), T(1e-5));
  rlhf::layernorm_backward(gpu{}, gx.view(), gw.view(), gb.view(), gd.cview(), xd.cview(), wd.cview(), m.cview(),
                           r.cview());
  CHECK(compare::max_rel_error(o.to_vector(), out) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(r.to_vector(), rstd) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(gx.to_vector(), dx) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(gw.to_vector(), dw) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(gb.to_vector(), db) <= compare::tolerance<T>());
}

TEST_CASE_TEMPLATE("cuda softmax forward and backward equal the host's", T, float, double) {
  const std::vector<T> x = compare::normal<T>(7, 4.0, rows * cols), dout = compare::normal<T>(8, 1.0, rows * cols),
                       d0 = compare::normal<T>(9, 1.0, rows * cols);
  std::vector<T> y = compare::zeros<T>(rows * cols), dx = d0;
  rlhf::portable::softmax_forward(thrust::host, y.data(), x.data(), rows, cols);
  rlhf::portable::softmax_backward(thrust::host, dx.data(), dout.data(), y.data(), rows, cols);
  const Shape xs{rows, cols};
  const Tensor<T, gpu> xd = compare::tensor<gpu>(xs, x), gd = compare::tensor<gpu>(xs, dout);
  Tensor<T, gpu> yd(xs), gx = compare::tensor<gpu>(xs, d0);
  rlhf::softmax_forward(gpu{}, yd.view(), xd.cview());
  rlhf::softmax_backward(gpu{}, gx.view(), gd.cview(), yd.cview());
  CHECK(compare::max_rel_error(yd.to_vector(), y) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(gx.to_vector(), dx) <= compare::tolerance<T>());
}

TEST_CASE_TEMPLATE("cuda vocabulary ops equal the host's over GPT-2's vocabulary", T, float, double) {
  constexpr std::int64_t n = 33;
  const std::vector<T> z = compare::normal<T>(10, 3.0, n * vocab), g = compare::normal<T>(11, 1.0, n),
                       d0 = compare::normal<T>(12, 1.0, n * vocab);
  std::vector<T> mask(static_cast<std::size_t>(n), T(1));
  mask[2] = T(0);
  mask[5] = T(0.5);
  std::vector<std::int32_t> t = targets(n, vocab);
  const T tau = T(0.7);
  std::vector<T> losses = compare::zeros<T>(n), lse = compare::zeros<T>(n), logp = compare::zeros<T>(n), plse = compare::zeros<T>(n), h = compare::zeros<T>(n),
                 hlse = compare::zeros<T>(n), dz = d0;
  const T loss = rlhf::portable::cross_entropy_forward(thrust::host, losses.data(), lse.data(), z.data(), t.data(),
                                                       mask.data(), n, vocab);
  rlhf::portable::cross_entropy_backward(thrust::host, dz.data(), z.data(), lse.data(), t.data(), mask.data(), n, vocab,
                                         T(1));
  rlhf::portable::logprob_forward(thrust::host, logp.data(), plse.data(), z.data(), t.data(), n, vocab, tau);
  rlhf::portable::logprob_backward(thrust::host, dz.data(), g.data(), z.data(), plse.data(), t.data(), n, vocab, tau);
  rlhf::portable::entropy_forward(thrust::host, h.data(), hlse.data(), z.data(), n, vocab, tau);
  rlhf::portable::entropy_backward(thrust::host, dz.data(), g.data(), z.data(), hlse.data(), h.data(), n, vocab, tau);

  const Shape zs{n, vocab}, ns{n};
  const Tensor<T, gpu> zd = compare::tensor<gpu>(zs, z), gd = compare::tensor<gpu>(ns, g), md = compare::tensor<gpu>(ns, mask);
  const Tensor<std::int32_t, gpu> td = compare::tensor<gpu>(ns, t);
  Tensor<T, gpu> l(ns), ll(ns), lp(ns), lpl(ns), hd(ns), hl(ns), gz = compare::tensor<gpu>(zs, d0);
  const T dloss = rlhf::cross_entropy_forward(gpu{}, l.view(), ll.view(), zd.cview(), td.cview(), md.cview());
  rlhf::cross_entropy_backward(gpu{}, gz.view(), zd.cview(), ll.cview(), td.cview(), md.cview(), T(1));
  rlhf::logprob_forward(gpu{}, lp.view(), lpl.view(), zd.cview(), td.cview(), tau);
  rlhf::logprob_backward(gpu{}, gz.view(), gd.cview(), zd.cview(), lpl.cview(), td.cview(), tau);
  rlhf::entropy_forward(gpu{}, hd.view(), hl.view(), zd.cview(), tau);
  rlhf::entropy_backward(gpu{}, gz.view(), gd.cview(), zd.cview(), hl.cview(), hd.cview(), tau);
  CHECK(compare::max_rel_error(std::vector<T>{dloss}, std::vector<T>{loss}) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(l.to_vector(), losses) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(lp.to_vector(), logp) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(hd.to_vector(), h) <= compare::tolerance<T>());
  CHECK(compare::max_rel_error(gz.to_vector(), dz) <= compare::tolerance<T>());
}

TEST_CASE_TEMPLATE("cuda embedding forward and backward equal the host's bit for bit", T, float, double) {
  constexpr std::int64_t table_rows = 300;
  std::vector<std::int32_t> ids(static_cast<std::size_t>(rows));
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = std::int32_t((i * i) % 97);  // repeats
  const std::vector<T> table = compare::normal<T>(13, 1.0, table_rows * cols),
                       dout = compare::normal<T>(14, 1.0, rows * cols), d0 = compare::normal<T>(15, 1.0, table_rows * cols);
  std::vector<T> out = compare::zeros<T>(rows * cols), dtable = d0;
  rlhf::portable::embedding_forward(thrust::host, out.data(), table.data(), ids.data(), rows, cols);
  rlhf::portable::embedding_backward(thrust::host, dtable.data(), dout.data(), ids.data(), rows, cols);
  const Shape ts{table_rows, cols}, os{rows, cols};
  const Tensor<T, gpu> tab = compare::tensor<gpu>(ts, table), gd = compare::tensor<gpu>(os, dout);
  const Tensor<std::int32_t, gpu> idd = compare::tensor<gpu>(Shape{rows}, ids);
  Tensor<T, gpu> o(os), dt = compare::tensor<gpu>(ts, d0);
  rlhf::embedding_forward(gpu{}, o.view(), tab.cview(), idd.cview());
  rlhf::embedding_backward(gpu{}, dt.view(), gd.cview(), idd.cview());
  CHECK(o.to_vector() == out);
  CHECK(dt.to_vector() == dtable);
}

TEST_CASE("cuda row kernels give the CPU kernels' errors") {
  const Tensor<float, gpu> logits(Shape{3, 5}), mask = compare::tensor<gpu>(Shape{3}, std::vector<float>{1, 0, 1});
  Tensor<float, gpu> losses(Shape{3}), lse(Shape{3});
  const Tensor<std::int32_t, gpu> bad = compare::tensor<gpu>(Shape{3}, std::vector<std::int32_t>{1, -100, 5});
  CHECK(error_of([&] {
          rlhf::cross_entropy_forward(gpu{}, losses.view(), lse.view(), logits.cview(), bad.cview(), mask.cview());
        }) == "cross_entropy_forward: target 5 at row 2 is outside the vocabulary of 5");
  CHECK(error_of([&] { rlhf::logprob_forward(gpu{}, losses.view(), lse.view(), logits.cview(), bad.cview(), 1.0f); }) ==
        "logprob_forward: target -100 at row 1 is outside the vocabulary of 5");
  CHECK(error_of([&] { rlhf::entropy_forward(gpu{}, losses.view(), lse.view(), logits.cview(), 0.0f); }) ==
        "entropy_forward: temperature must be positive, got 0");

  const Tensor<float, gpu> table(Shape{4, 2});
  Tensor<float, gpu> out(Shape{2, 2});
  const Tensor<std::int32_t, gpu> ids = compare::tensor<gpu>(Shape{2}, std::vector<std::int32_t>{3, 4});
  CHECK(error_of([&] { rlhf::embedding_forward(gpu{}, out.view(), table.cview(), ids.cview()); }) ==
        "embedding_forward: id 4 at position 1 is outside the table [4, 2]");

  const Tensor<float, gpu> x(Shape{2, 3}), w(Shape{4});
  Tensor<float, gpu> y(Shape{2, 3}), m(Shape{2}), r(Shape{2});
  CHECK(error_of([&] {
          rlhf::layernorm_forward(gpu{}, y.view(), m.view(), r.view(), x.cview(), w.cview(), w.cview(), 1e-5f);
        }) == "layernorm_forward: w has shape [4], expected [3]");
}

}  // namespace test_cuda_rows
