// Values of the CPU kernels against PyTorch (float64) references in tests/data/kernel_refs.json,
// made by tests/reference/make_kernel_refs.py, plus a few values computed by hand.
// Double kernels must match to ~1e-12 and float kernels to ~1e-5 (relative to the largest
// reference value of each tensor). Every backward is run twice to check that it accumulates.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <iomanip>
#include <limits>
#include <numbers>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "below_training.hpp"

namespace test_kernels_values {

namespace {

using nlohmann::json;
using rlhf::cpu;
using rlhf::Shape;
using rlhf::Tensor;
using rlhf::View;

const json& refs() {
  static const json doc = [] {
    const std::string path = std::string(RLHF_TEST_DATA_DIR) + "/kernel_refs.json";
    std::ifstream in(path);
    if (!in)
      throw std::runtime_error("cannot open " + path + " (regenerate it with tests/reference/make_kernel_refs.py)");
    return json::parse(in);
  }();
  return doc;
}

const json& ref_case(const std::string& name) {
  const json& cases = refs().at("cases");
  if (!cases.contains(name)) throw std::runtime_error("kernel_refs.json has no case " + name);
  return cases.at(name);
}

Shape shape_of(const json& t) {
  const auto dims = t.at("shape").get<std::vector<std::int64_t>>();
  switch (dims.size()) {
    case 0: return Shape{};
    case 1: return Shape{dims[0]};
    case 2: return Shape{dims[0], dims[1]};
    case 3: return Shape{dims[0], dims[1], dims[2]};
    case 4: return Shape{dims[0], dims[1], dims[2], dims[3]};
  }
  throw std::runtime_error("rank > 4 in kernel_refs.json");
}

// A tensor of the case's field `name`, converted to T.
template <class T>
Tensor<T, cpu> load(const json& c, const std::string& name) {
  const json& t = c.at(name);
  const auto values = t.at("data").get<std::vector<double>>();
  std::vector<T> conv(values.begin(), values.end());
  return Tensor<T, cpu>(shape_of(t), std::span<const T>(conv));
}

Tensor<std::int32_t, cpu> load_ids(const json& c, const std::string& name) {
  const json& t = c.at(name);
  const auto values = t.at("data").get<std::vector<std::int32_t>>();
  return Tensor<std::int32_t, cpu>(shape_of(t), std::span<const std::int32_t>(values));
}

template <class T>
constexpr double tolerance() {
  return std::is_same_v<T, double> ? 1e-12 : 1e-5;
}

// ours ≈ times · ref, in the max norm relative to max|ref| (absolute below a reference scale of 1e-3).
template <class T>
void check_near(const std::string& what, const Tensor<T, cpu>& ours, const json& ref, double times = 1.0) {
  INFO(what);
  REQUIRE(ours.shape() == shape_of(ref));
  const auto want = ref.at("data").get<std::vector<double>>();
  const std::vector<T> got = ours.to_vector();
  double scale = 1e-3, worst = 0;
  std::size_t worst_i = 0;
  for (double w : want) scale = std::max(scale, std::abs(times * w));
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double e = std::abs(static_cast<double>(got[i]) - times * want[i]);
    if (!(e <= worst)) {  // also catches NaN
      worst = std::isnan(e) ? std::numeric_limits<double>::infinity() : e;
      worst_i = i;
    }
  }
  std::ostringstream where;
  where << std::setprecision(17) << "worst element " << worst_i << ": got " << static_cast<double>(got[worst_i])
        << ", want " << times * want[worst_i];
  INFO(where.str());
  const double relative_error = worst / scale;  // `-s` prints it for every tensor
  CHECK(relative_error <= tolerance<T>());
}

template <class T>
void check_near_scalar(const std::string& what, T ours, double want) {
  std::ostringstream msg;
  msg << std::setprecision(17) << what << ": got " << static_cast<double>(ours) << ", want " << want;
  INFO(msg.str());
  const double relative_error = std::abs(static_cast<double>(ours) - want) / std::max(1e-3, std::abs(want));
  CHECK(relative_error <= tolerance<T>());
}

template <class T>
Tensor<T, cpu> zeros_like(const json& ref) {
  return Tensor<T, cpu>(shape_of(ref));
}

}  // namespace

// ------------------------------------------------------------------------------------------
// Against PyTorch
// ------------------------------------------------------------------------------------------

TEST_CASE_TEMPLATE("matmul forward/backward match PyTorch", T, float, double) {
  for (const std::string name : {"matmul_in_out", "matmul_out_in", "matmul_out_in_nobias"}) {
    CAPTURE(name);
    const json& c = ref_case(name);
    const auto layout = c.at("layout") == "in_out" ? rlhf::WeightLayout::in_out : rlhf::WeightLayout::out_in;
    const bool has_bias = c.contains("bias");
    const auto a = load<T>(c, "a"), w = load<T>(c, "w"), dout = load<T>(c, "dout");
    const auto bias = has_bias ? load<T>(c, "bias") : Tensor<T, cpu>();
    const View<const T, cpu> bias_v = has_bias ? bias.cview() : View<const T, cpu>{};

    auto out = zeros_like<T>(c.at("out"));
    matmul_forward(cpu{}, out.view(), a, w, bias_v, layout);
    check_near("out", out, c.at("out"));

    auto da = zeros_like<T>(c.at("da")), dw = zeros_like<T>(c.at("dw"));
    auto dbias = has_bias ? zeros_like<T>(c.at("dbias")) : Tensor<T, cpu>();
    for (int pass = 1; pass <= 2; ++pass) {
      CAPTURE(pass);
      matmul_backward(cpu{}, da.view(), dw.view(), has_bias ? dbias.view() : View<T, cpu>{}, dout, a, w, layout);
      check_near("da", da, c.at("da"), pass);
      check_near("dw", dw, c.at("dw"), pass);
      if (has_bias) check_near("dbias", dbias, c.at("dbias"), pass);
    }

    // Absent gradients are skipped: only da asked for.
    auto da_only = zeros_like<T>(c.at("da"));
    matmul_backward(cpu{}, da_only.view(), View<T, cpu>{}, View<T, cpu>{}, dout, a, w, layout);
    check_near("da alone", da_only, c.at("da"));
  }
}

TEST_CASE_TEMPLATE("layernorm forward/backward match PyTorch", T, float, double) {
  const json& c = ref_case("layernorm");
  const auto x = load<T>(c, "x"), w = load<T>(c, "w"), b = load<T>(c, "b"), dout = load<T>(c, "dout");
  auto out = zeros_like<T>(c.at("out")), mean = zeros_like<T>(c.at("mean")), rstd = zeros_like<T>(c.at("rstd"));
  layernorm_forward(cpu{}, out.view(), mean.view(), rstd.view(), x, w, b, T(c.at("eps").get<double>()));
  check_near("out", out, c.at("out"));
  check_near("mean", mean, c.at("mean"));
  check_near("rstd", rstd, c.at("rstd"));

  auto dx = zeros_like<T>(c.at("dx")), dw = zeros_like<T>(c.at("dw")), db = zeros_like<T>(c.at("db"));
  for (int pass = 1; pass <= 2; ++pass) {
    CAPTURE(pass);
    layernorm_backward(cpu{}, dx.view(), dw.view(), db.view(), dout, x, w, mean, rstd);
    check_near("dx", dx, c.at("dx"), pass);
    check_near("dw", dw, c.at("dw"), pass);
    check_near("db", db, c.at("db"), pass);
  }
}

TEST_CASE_TEMPLATE("gelu (tanh approximation) forward/backward match PyTorch", T, float, double) {
  const json& c = ref_case("gelu");
  const auto x = load<T>(c, "x"), dout = load<T>(c, "dout");
  auto out = zeros_like<T>(c.at("out"));
  gelu_forward(cpu{}, out.view(), x);
  check_near("out", out, c.at("out"));
  auto dx = zeros_like<T>(c.at("dx"));
  for (int pass = 1; pass <= 2; ++pass) {
    CAPTURE(pass);
    gelu_backward(cpu{}, dx.view(), dout, x);
    check_near("dx", dx, c.at("dx"), pass);
  }
}

TEST_CASE_TEMPLATE("softmax forward/backward match PyTorch", T, float, double) {
  const json& c = ref_case("softmax");
  const auto x = load<T>(c, "x"), dout = load<T>(c, "dout");
  auto out = zeros_like<T>(c.at("out"));
  softmax_forward(cpu{}, out.view(), x);
  check_near("out", out, c.at("out"));
  auto dx = zeros_like<T>(c.at("dx"));
  for (int pass = 1; pass <= 2; ++pass) {
    CAPTURE(pass);
    softmax_backward(cpu{}, dx.view(), dout, out);
    check_near("dx", dx, c.at("dx"), pass);
  }
}

TEST_CASE_TEMPLATE("causal attention with key padding mask matches PyTorch", T, float, double) {
  for (const std::string name : {"attention_masked", "attention_nomask", "attention_long"}) {
    CAPTURE(name);
    const json& c = ref_case(name);
    const std::int64_t H = c.at("n_head").get<std::int64_t>();
    const auto qkv = load<T>(c, "qkv"), dout = load<T>(c, "dout");
    const bool has_mask = c.contains("key_mask");
    const auto mask = has_mask ? load<T>(c, "key_mask") : Tensor<T, cpu>();
    const View<const T, cpu> mask_v = has_mask ? mask.cview() : View<const T, cpu>{};
    const std::int64_t B = qkv.size(0), Tn = qkv.size(1);

    auto out = zeros_like<T>(c.at("out"));
    Tensor<T, cpu> att(Shape{B, H, Tn, Tn});
    attention_forward(cpu{}, out.view(), att.view(), qkv, mask_v, H);
    check_near("out", out, c.at("out"));
    if (c.contains("att")) check_near("att", att, c.at("att"));

    auto dqkv = zeros_like<T>(c.at("dqkv"));
    Tensor<T, cpu> datt(att.shape());
    for (int pass = 1; pass <= 2; ++pass) {
      CAPTURE(pass);
      attention_backward(cpu{}, dqkv.view(), datt.view(), dout, qkv, att, H);
      check_near("dqkv", dqkv, c.at("dqkv"), pass);
    }
  }
}

TEST_CASE_TEMPLATE("attention: a query with no valid key gets exact zeros, never NaN", T, float, double) {
  const json& c = ref_case("attention_masked");  // batch 1 is left-padded: mask [0, 0, 1, 1, 1]
  const std::int64_t H = c.at("n_head").get<std::int64_t>();
  const auto qkv = load<T>(c, "qkv"), mask = load<T>(c, "key_mask"), dout = load<T>(c, "dout");
  const std::int64_t Tn = qkv.size(1), C = qkv.size(2) / 3;
  auto out = zeros_like<T>(c.at("out"));
  Tensor<T, cpu> att(Shape{2, H, Tn, Tn}), datt(Shape{2, H, Tn, Tn});
  attention_forward(cpu{}, out.view(), att.view(), qkv, mask, H);
  for (std::int64_t t = 0; t < 2; ++t) {
    for (std::int64_t j = 0; j < C; ++j) CHECK(out(1, t, j) == T(0));
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t s = 0; s < Tn; ++s) CHECK(att(1, h, t, s) == T(0));
  }
  // Later rows put no weight on the padded keys and sum to 1 over the valid causal ones.
  for (std::int64_t h = 0; h < H; ++h)
    for (std::int64_t t = 2; t < Tn; ++t) {
      T sum = 0;
      for (std::int64_t s = 0; s < Tn; ++s) {
        if (s < 2 || s > t) CHECK(att(1, h, t, s) == T(0));
        sum += att(1, h, t, s);
      }
      CHECK(std::abs(double(sum) - 1.0) <= 10 * tolerance<T>());
    }
  auto dqkv = zeros_like<T>(c.at("dqkv"));
  attention_backward(cpu{}, dqkv.view(), datt.view(), dout, qkv, att, H);
  for (T v : dqkv.to_vector()) REQUIRE(std::isfinite(v));
  // The padded positions' queries and keys get no gradient; their values neither (no weight on them).
  for (std::int64_t t = 0; t < 2; ++t)
    for (std::int64_t j = 0; j < 3 * C; ++j) CHECK(dqkv(1, t, j) == T(0));
}

TEST_CASE_TEMPLATE("embedding forward/backward match PyTorch (repeated ids add up)", T, float, double) {
  const json& c = ref_case("embedding");
  const auto table = load<T>(c, "table"), dout = load<T>(c, "dout");
  const auto ids = load_ids(c, "ids");
  auto out = zeros_like<T>(c.at("out"));
  embedding_forward(cpu{}, out.view(), table, ids);
  check_near("out", out, c.at("out"));
  auto dtable = zeros_like<T>(c.at("dtable"));
  for (int pass = 1; pass <= 2; ++pass) {
    CAPTURE(pass);
    embedding_backward(cpu{}, dtable.view(), dout, ids);
    check_near("dtable", dtable, c.at("dtable"), pass);
  }
}

TEST_CASE_TEMPLATE("masked cross-entropy matches PyTorch", T, float, double) {
  const json& c = ref_case("cross_entropy");
  const auto logits = load<T>(c, "logits"), mask = load<T>(c, "mask");
  const auto targets = load_ids(c, "targets");  // holds -100 under a masked position
  auto losses = zeros_like<T>(c.at("losses")), lse = zeros_like<T>(c.at("lse"));
  const T loss = cross_entropy_forward(cpu{}, losses.view(), lse.view(), logits, targets, mask);
  check_near_scalar("loss", loss, c.at("loss").get<double>());
  check_near("losses", losses, c.at("losses"));
  check_near("lse", lse, c.at("lse"));
  auto dlogits = zeros_like<T>(c.at("dlogits"));
  for (int pass = 1; pass <= 2; ++pass) {
    CAPTURE(pass);
    cross_entropy_backward(cpu{}, dlogits.view(), logits, lse, targets, mask, T(c.at("dloss").get<double>()));
    check_near("dlogits", dlogits, c.at("dlogits"), pass);
  }
}

TEST_CASE_TEMPLATE("log-probs of chosen tokens under a temperature match PyTorch", T, float, double) {
  const json& c = ref_case("logprob");
  const auto logits = load<T>(c, "logits"), dlogp = load<T>(c, "dlogp");
  const auto targets = load_ids(c, "targets");
  const T tau = T(c.at("temperature").get<double>());
  auto logp = zeros_like<T>(c.at("logp")), lse = zeros_like<T>(c.at("lse"));
  logprob_forward(cpu{}, logp.view(), lse.view(), logits, targets, tau);
  check_near("logp", logp, c.at("logp"));
  check_near("lse", lse, c.at("lse"));
  auto dlogits = zeros_like<T>(c.at("dlogits"));
  for (int pass = 1; pass <= 2; ++pass) {
    CAPTURE(pass);
    logprob_backward(cpu{}, dlogits.view(), dlogp, logits, lse, targets, tau);
    check_near("dlogits", dlogits, c.at("dlogits"), pass);
  }
}

TEST_CASE_TEMPLATE("entropy under a temperature matches PyTorch", T, float, double) {
  const json& c = ref_case("entropy");
  const auto logits = load<T>(c, "logits"), dent = load<T>(c, "dentropy");
  const T tau = T(c.at("temperature").get<double>());
  auto ent = zeros_like<T>(c.at("entropy")), lse = zeros_like<T>(c.at("lse"));
  entropy_forward(cpu{}, ent.view(), lse.view(), logits, tau);
  check_near("entropy", ent, c.at("entropy"));
  check_near("lse", lse, c.at("lse"));
  auto dlogits = zeros_like<T>(c.at("dlogits"));
  for (int pass = 1; pass <= 2; ++pass) {
    CAPTURE(pass);
    entropy_backward(cpu{}, dlogits.view(), dent, logits, lse, ent, tau);
    check_near("dlogits", dlogits, c.at("dlogits"), pass);
  }
}

// ------------------------------------------------------------------------------------------
// Values by hand
// ------------------------------------------------------------------------------------------

TEST_CASE_TEMPLATE("hand values: gelu", T, float, double) {
  const Tensor<T, cpu> x(Shape{3}, {T(1), T(0), T(-1)});
  Tensor<T, cpu> y(Shape{3});
  gelu_forward(cpu{}, y.view(), x);
  check_near_scalar("gelu(1)", y(0), 0.8411919906082768);
  CHECK(y(1) == T(0));
  check_near_scalar("gelu(-1) = gelu(1) - 1", y(2), 0.8411919906082768 - 1.0);
  const Tensor<T, cpu> ones(Shape{3}, {T(1), T(1), T(1)});
  Tensor<T, cpu> dx(Shape{3});
  gelu_backward(cpu{}, dx.view(), ones, x);
  check_near_scalar("gelu'(0)", dx(1), 0.5);
}

TEST_CASE_TEMPLATE("hand values: softmax of [0, ln 2] is [1/3, 2/3]", T, float, double) {
  const Tensor<T, cpu> x(Shape{1, 2}, {T(0), T(std::numbers::ln2)});
  Tensor<T, cpu> y(Shape{1, 2});
  softmax_forward(cpu{}, y.view(), x);
  check_near_scalar("y0", y(0, 0), 1.0 / 3);
  check_near_scalar("y1", y(0, 1), 2.0 / 3);
  // Shift invariance, with logits far from 0.
  const Tensor<T, cpu> big(Shape{1, 2}, {T(1000), T(1000 + std::numbers::ln2)});
  softmax_forward(cpu{}, y.view(), big);
  CHECK(std::abs(double(y(0, 0)) - 1.0 / 3) < (std::is_same_v<T, float> ? 1e-4 : 1e-12));
}

TEST_CASE_TEMPLATE("hand values: cross-entropy, log-prob and entropy of uniform logits are ±ln V", T, float, double) {
  constexpr std::int64_t N = 3, V = 5;
  Tensor<T, cpu> logits(Shape{N, V});
  for (T& v : logits.view().span()) v = T(0.25);
  const Tensor<std::int32_t, cpu> targets(Shape{N}, {0, 4, 2});
  const double lnV = std::log(double(V));

  Tensor<T, cpu> losses(Shape{N}), lse(Shape{N});
  const T loss = cross_entropy_forward(cpu{}, losses.view(), lse.view(), logits, targets, View<const T, cpu>{});
  check_near_scalar("cross-entropy", loss, lnV);
  Tensor<T, cpu> dlogits(Shape{N, V});
  cross_entropy_backward(cpu{}, dlogits.view(), logits, lse, targets, View<const T, cpu>{}, T(1));
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t v = 0; v < V; ++v)
      check_near_scalar("dlogits", dlogits(n, v), (1.0 / V - (v == targets(n) ? 1.0 : 0.0)) / N);

  Tensor<T, cpu> logp(Shape{N});
  logprob_forward(cpu{}, logp.view(), lse.view(), logits, targets, T(0.5));
  for (std::int64_t n = 0; n < N; ++n) check_near_scalar("logp", logp(n), -lnV);

  Tensor<T, cpu> ent(Shape{N});
  entropy_forward(cpu{}, ent.view(), lse.view(), logits, T(2));
  for (std::int64_t n = 0; n < N; ++n) check_near_scalar("entropy", ent(n), lnV);
  Tensor<T, cpu> dent(Shape{N}, {T(1), T(1), T(1)}), dlog2(Shape{N, V});
  entropy_backward(cpu{}, dlog2.view(), dent, logits, lse, ent, T(2));
  for (T g : dlog2.to_vector()) CHECK(std::abs(double(g)) <= tolerance<T>());  // uniform is the maximum
}

TEST_CASE("hand values: cross-entropy stays finite for logits of ±1e4 and ignores fully masked batches") {
  const Tensor<double, cpu> logits(Shape{2, 3}, {1e4, 1e4, -1e4, -1e4, 0.0, 1e4});
  const Tensor<std::int32_t, cpu> targets(Shape{2}, {0, 0});
  Tensor<double, cpu> losses(Shape{2}), lse(Shape{2});
  const double loss =
      cross_entropy_forward(cpu{}, losses.view(), lse.view(), logits, targets, View<const double, cpu>{});
  CHECK(losses(0) == doctest::Approx(std::numbers::ln2).epsilon(1e-12));
  CHECK(losses(1) == doctest::Approx(2e4).epsilon(1e-12));
  CHECK(std::isfinite(loss));

  const Tensor<double, cpu> none(Shape{2}, {0.0, 0.0});
  const Tensor<std::int32_t, cpu> ignore(Shape{2}, {-100, -100});
  CHECK(cross_entropy_forward(cpu{}, losses.view(), lse.view(), logits, ignore, none) == 0.0);
  Tensor<double, cpu> d(Shape{2, 3});
  cross_entropy_backward(cpu{}, d.view(), logits, lse, ignore, none, 1.0);
  for (double g : d.to_vector()) CHECK(g == 0.0);
}

TEST_CASE_TEMPLATE("hand values: matmul, layernorm, residual, embedding, one-token attention", T, float, double) {
  // [[1, 2], [3, 4]] · [[5, 6], [7, 8]] + [1, -1]
  const Tensor<T, cpu> a(Shape{2, 2}, {1, 2, 3, 4}), w(Shape{2, 2}, {5, 6, 7, 8}), bias(Shape{2}, {1, -1});
  Tensor<T, cpu> out(Shape{2, 2});
  matmul_forward(cpu{}, out.view(), a, w, bias, rlhf::WeightLayout::in_out);
  CHECK(out.to_vector() == std::vector<T>{20, 21, 44, 49});
  matmul_forward(cpu{}, out.view(), a, w, View<const T, cpu>{}, rlhf::WeightLayout::out_in);  // a · wᵀ
  CHECK(out.to_vector() == std::vector<T>{17, 23, 39, 53});

  // LayerNorm of [1, 2, 3, 4]: mean 2.5, variance 1.25.
  const Tensor<T, cpu> x(Shape{1, 4}, {1, 2, 3, 4}), ones(Shape{4}, {1, 1, 1, 1}), zeros(Shape{4});
  Tensor<T, cpu> y(Shape{1, 4}), mean(Shape{1}), rstd(Shape{1});
  layernorm_forward(cpu{}, y.view(), mean.view(), rstd.view(), x, ones, zeros, T(1e-5));
  check_near_scalar("mean", mean(0), 2.5);
  check_near_scalar("rstd", rstd(0), 1.0 / std::sqrt(1.25 + 1e-5));
  for (int j = 0; j < 4; ++j) check_near_scalar("y", y(0, j), (j + 1 - 2.5) / std::sqrt(1.25 + 1e-5));

  Tensor<T, cpu> sum(Shape{2, 2});
  residual_forward(cpu{}, sum.view(), a, w);
  CHECK(sum.to_vector() == std::vector<T>{6, 8, 10, 12});
  Tensor<T, cpu> da(Shape{2, 2}), dw(Shape{2, 2});
  residual_backward(cpu{}, da.view(), dw.view(), a);
  residual_backward(cpu{}, da.view(), dw.view(), a);
  CHECK(da.to_vector() == std::vector<T>{2, 4, 6, 8});
  CHECK(dw.to_vector() == da.to_vector());

  const Tensor<std::int32_t, cpu> ids(Shape{3}, {1, 1, 0});
  Tensor<T, cpu> emb(Shape{3, 2});
  embedding_forward(cpu{}, emb.view(), a, ids);
  CHECK(emb.to_vector() == std::vector<T>{3, 4, 3, 4, 1, 2});

  // One token: softmax over a single key is 1, so the output is v.
  const Tensor<T, cpu> qkv(Shape{1, 1, 6}, {T(0.5), T(-2), T(3), T(7), T(-1.5), T(0.25)});
  Tensor<T, cpu> o(Shape{1, 1, 2}), att(Shape{1, 2, 1, 1});
  attention_forward(cpu{}, o.view(), att.view(), qkv, View<const T, cpu>{}, 2);
  CHECK(o.to_vector() == std::vector<T>{T(-1.5), T(0.25)});
  CHECK(att.to_vector() == std::vector<T>{1, 1});
}

}  // namespace test_kernels_values
