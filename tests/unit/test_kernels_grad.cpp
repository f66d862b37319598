// Gradient checks of every CPU kernel's backward against central differences of its forward
// (in double), plus the edge cases the backward passes must survive: length 1, fully masked rows,
// ±1e4 logits, empty batches and out-of-range ids. The harness is tests/unit/gradcheck.hpp.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "gradcheck.hpp"
#include "below_training.hpp"

namespace test_kernels_grad {

namespace {

using gradcheck::check_gradients;
using gradcheck::dot;
using gradcheck::GradView;
using gradcheck::randn;
using gradcheck::Tensor;
using rlhf::Shape;
using Ids = rlhf::Tensor<std::int32_t, rlhf::cpu>;
using ConstView = rlhf::View<const double, rlhf::cpu>;

const rlhf::cpu cpu{};
const GradView absent{};
const ConstView absent_input{};

// The message of the rlhf::error that f throws, or "" if it throws none (other exceptions escape).
template <class F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const rlhf::error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

bool all_finite(const Tensor& t) { return gradcheck::all_finite(t.to_vector()); }
bool all_zero(const std::vector<double>& v) {
  for (double x : v)
    if (x != 0.0) return false;
  return true;
}

// ---- matmul --------------------------------------------------------------------------------

void check_matmul(rlhf::WeightLayout layout, bool with_bias, Shape a_shape, std::int64_t N) {
  const bool in_out = layout == rlhf::WeightLayout::in_out;
  const std::int64_t K = a_shape[a_shape.rank() - 1];
  INFO("a ", a_shape, ", N = ", N, ", layout ", std::string(in_out ? "in_out" : "out_in"),
       std::string(with_bias ? ", with bias" : ", no bias"));
  // out keeps a's leading dimensions and has N columns.
  const Shape out_shape = a_shape.rank() == 3 ? Shape{a_shape[0], a_shape[1], N} : Shape{a_shape[0], N};
  Tensor a = randn(a_shape, 1);
  Tensor w = randn(in_out ? Shape{K, N} : Shape{N, K}, 2);
  Tensor bias = randn({N}, 3);
  Tensor g = randn(out_shape, 4);
  Tensor out(out_shape);
  const ConstView bias_in = with_bias ? bias.cview() : absent_input;

  std::vector<gradcheck::Input> inputs{{"a", &a}, {"w", &w}};
  if (with_bias) inputs.push_back({"bias", &bias});
  check_gradients(
      inputs,
      [&] {
        rlhf::matmul_forward(cpu, out.view(), a, w, bias_in, layout);
        return dot(g, out);
      },
      [&](std::vector<GradView>& d) {
        rlhf::matmul_backward(cpu, d[0], d[1], with_bias ? d[2] : absent, g, a, w, layout);
      });

  // Only the weight gradient asked for (a frozen input): da = View{} is skipped.
  check_gradients(
      {{"w", &w}},
      [&] {
        rlhf::matmul_forward(cpu, out.view(), a, w, bias_in, layout);
        return dot(g, out);
      },
      [&](std::vector<GradView>& d) { rlhf::matmul_backward(cpu, absent, d[0], absent, g, a, w, layout); });
}

TEST_CASE("kernel grad: matmul, both weight layouts, with and without bias") {
  for (auto layout : {rlhf::WeightLayout::in_out, rlhf::WeightLayout::out_in})
    for (bool with_bias : {true, false}) {
      check_matmul(layout, with_bias, Shape{2, 3, 5}, 4);  // rank-3 input [B, T, K]
      check_matmul(layout, with_bias, Shape{3, 6}, 7);
    }
}

// ---- layernorm -----------------------------------------------------------------------------

void check_layernorm(Shape x_shape) {
  CAPTURE(x_shape);
  const std::int64_t C = x_shape[x_shape.rank() - 1], N = x_shape.numel() / C;
  Tensor x = randn(x_shape, 10, 2.0);
  Tensor w = randn({C}, 11, 0.5);
  Tensor b = randn({C}, 12);
  Tensor g = randn(x_shape, 13);
  Tensor out(x_shape), mean({N}), rstd({N});
  check_gradients(
      {{"x", &x}, {"w", &w}, {"b", &b}},
      [&] {
        rlhf::layernorm_forward(cpu, out.view(), mean.view(), rstd.view(), x, w, b, 1e-5);
        return dot(g, out);
      },
      [&](std::vector<GradView>& d) { rlhf::layernorm_backward(cpu, d[0], d[1], d[2], g, x, w, mean, rstd); });
}

TEST_CASE("kernel grad: layernorm dx, dw, db") {
  check_layernorm({5, 8});
  check_layernorm({2, 3, 8});
}

// ---- gelu, softmax, residual ---------------------------------------------------------------

TEST_CASE("kernel grad: gelu") {
  Tensor x = randn({4, 9}, 20, 2.5);  // wide enough to reach both tails of tanh
  Tensor g = randn({4, 9}, 21);
  Tensor out(x.shape());
  check_gradients(
      {{"x", &x}},
      [&] {
        rlhf::gelu_forward(cpu, out.view(), x);
        return dot(g, out);
      },
      [&](std::vector<GradView>& d) { rlhf::gelu_backward(cpu, d[0], g, x); });
}

TEST_CASE("kernel grad: softmax over the last dimension") {
  for (Shape shape : {Shape{4, 11}, Shape{2, 3, 5}}) {
    CAPTURE(shape);
    Tensor x = randn(shape, 30, 2.0);
    Tensor g = randn(shape, 31);
    Tensor y(shape);
    check_gradients(
        {{"x", &x}},
        [&] {
          rlhf::softmax_forward(cpu, y.view(), x);
          return dot(g, y);
        },
        [&](std::vector<GradView>& d) { rlhf::softmax_backward(cpu, d[0], g, y); });
  }
}

TEST_CASE("kernel grad: residual") {
  Tensor a = randn({3, 5}, 40), b = randn({3, 5}, 41), g = randn({3, 5}, 42);
  Tensor out(a.shape());
  check_gradients(
      {{"a", &a}, {"b", &b}},
      [&] {
        rlhf::residual_forward(cpu, out.view(), a, b);
        return dot(g, out);
      },
      [&](std::vector<GradView>& d) { rlhf::residual_backward(cpu, d[0], d[1], g); });
}

// ---- attention -----------------------------------------------------------------------------

// key_mask: B·T values (1 = real token, 0 = pad) or empty for no mask.
void check_attention(std::int64_t B, std::int64_t T, std::int64_t C, std::int64_t H,
                     const std::vector<double>& key_mask = {}) {
  CAPTURE(B);
  CAPTURE(T);
  CAPTURE(H);
  CAPTURE(key_mask.empty());
  Tensor qkv = randn({B, T, 3 * C}, 50);
  Tensor g = randn({B, T, C}, 51);
  Tensor out({B, T, C}), att({B, H, T, T}), datt({B, H, T, T});
  Tensor mask = key_mask.empty() ? Tensor() : Tensor({B, T}, key_mask);
  const ConstView mask_in = key_mask.empty() ? absent_input : mask.cview();
  check_gradients(
      {{"qkv", &qkv}},
      [&] {
        rlhf::attention_forward(cpu, out.view(), att.view(), qkv, mask_in, H);
        return dot(g, out);
      },
      [&](std::vector<GradView>& d) { rlhf::attention_backward(cpu, d[0], datt.view(), g, qkv, att, H); });
}

// Row b of a [B, T] mask: `pad` leading zeros, then ones (left padding).
std::vector<double> left_padded(std::int64_t T, std::int64_t pad) {
  std::vector<double> row(static_cast<std::size_t>(T), 1.0);
  for (std::int64_t t = 0; t < pad; ++t) row[static_cast<std::size_t>(t)] = 0.0;
  return row;
}
std::vector<double> concat(std::vector<double> a, const std::vector<double>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST_CASE("kernel grad: causal attention, several heads, key mask, one and several row blocks") {
  static_assert(rlhf::cpu_detail::attention_row_block == 64, "T = 70 below must span two row blocks");
  SUBCASE("no mask") { check_attention(2, 5, 8, 2); }
  SUBCASE("four heads") { check_attention(1, 6, 8, 4); }
  SUBCASE("T = 1") {
    check_attention(2, 1, 8, 2);
    check_attention(2, 1, 8, 2, {1.0, 1.0});
  }
  SUBCASE("key mask: a full row and a left-padded row whose first queries see no valid key") {
    check_attention(2, 6, 8, 2, concat(left_padded(6, 0), left_padded(6, 2)));
  }
  // C = 4 keeps the finite differences over all of qkv cheap at T = 70.
  SUBCASE("T = 70: two row blocks, no mask") { check_attention(1, 70, 4, 2); }
  SUBCASE("T = 70: two row blocks, left padding and a pad key inside the second block") {
    std::vector<double> holed = left_padded(70, 0);
    holed[66] = 0.0;
    check_attention(2, 70, 4, 2, concat(left_padded(70, 3), holed));
  }
}

// ---- embedding -----------------------------------------------------------------------------

TEST_CASE("kernel grad: embedding dtable with repeated ids") {
  Tensor table = randn({7, 4}, 60);
  const Ids ids({2, 5}, {3, 1, 3, 6, 0, 3, 1, 2, 0, 6});  // ids 0, 1, 3, 6 repeat; 4, 5 unused
  Tensor g = randn({2, 5, 4}, 61);
  Tensor out({2, 5, 4});
  check_gradients(
      {{"table", &table}},
      [&] {
        rlhf::embedding_forward(cpu, out.view(), table, ids);
        return dot(g, out);
      },
      [&](std::vector<GradView>& d) { rlhf::embedding_backward(cpu, d[0], g, ids); });
}

// ---- cross-entropy, log-probs, entropy -----------------------------------------------------

// L = dloss · cross_entropy_forward(...): the scalar the trainer differentiates.
void check_cross_entropy(const Tensor& logits_init, const Ids& targets, const std::vector<double>& mask_values,
                         double dloss) {
  const std::int64_t N = logits_init.size(0);
  Tensor logits = logits_init.clone();
  Tensor losses({N}), lse({N});
  Tensor mask = mask_values.empty() ? Tensor() : Tensor({N}, mask_values);
  const ConstView mask_in = mask_values.empty() ? absent_input : mask.cview();
  check_gradients(
      {{"logits", &logits}},
      [&] { return dloss * rlhf::cross_entropy_forward(cpu, losses.view(), lse.view(), logits, targets, mask_in); },
      [&](std::vector<GradView>& d) { rlhf::cross_entropy_backward(cpu, d[0], logits, lse, targets, mask_in, dloss); });
}

TEST_CASE("kernel grad: cross_entropy with weights, zero mask entries and ignored targets") {
  const Tensor logits = randn({6, 11}, 70, 2.0);
  SUBCASE("no mask") { check_cross_entropy(logits, Ids({6}, {0, 10, 3, 3, 7, 1}), {}, 1.0); }
  SUBCASE("weighted mask with zeros; masked targets are -100") {
    check_cross_entropy(logits, Ids({6}, {4, -100, 3, 9, -100, 0}), {1.0, 0.0, 0.5, 2.0, 0.0, 1.5}, 0.7);
  }
}

void check_logprob(double temperature) {
  CAPTURE(temperature);
  Tensor logits = randn({5, 11}, 80, 2.0);
  const Ids targets({5}, {2, 0, 10, 2, 6});
  Tensor g = randn({5}, 81);
  Tensor logp({5}), lse({5});
  check_gradients(
      {{"logits", &logits}},
      [&] {
        rlhf::logprob_forward(cpu, logp.view(), lse.view(), logits, targets, temperature);
        return dot(g, logp);
      },
      [&](std::vector<GradView>& d) { rlhf::logprob_backward(cpu, d[0], g, logits, lse, targets, temperature); });
}

TEST_CASE("kernel grad: logprob at temperature 0.7 and 1.0") {
  check_logprob(0.7);
  check_logprob(1.0);
}

void check_entropy(double temperature) {
  CAPTURE(temperature);
  Tensor logits = randn({5, 11}, 90, 2.0);
  Tensor g = randn({5}, 91);
  Tensor entropy({5}), lse({5});
  check_gradients(
      {{"logits", &logits}},
      [&] {
        rlhf::entropy_forward(cpu, entropy.view(), lse.view(), logits, temperature);
        return dot(g, entropy);
      },
      [&](std::vector<GradView>& d) { rlhf::entropy_backward(cpu, d[0], g, logits, lse, entropy, temperature); });
}

TEST_CASE("kernel grad: entropy at temperature 0.7 and 1.0") {
  check_entropy(0.7);
  check_entropy(1.0);
}

// ---- edge cases ----------------------------------------------------------------------------

TEST_CASE("kernel grad edge: length 1 everywhere") {
  SUBCASE("matmul 1x1x1") {
    check_matmul(rlhf::WeightLayout::in_out, true, Shape{1, 1}, 1);
    check_matmul(rlhf::WeightLayout::out_in, true, Shape{1, 1, 1}, 1);
  }
  SUBCASE("layernorm over C = 1: out = b, dx = 0") { check_layernorm({3, 1}); }
  SUBCASE("layernorm, one row") { check_layernorm({1, 8}); }
  SUBCASE("softmax over 1 element: y = 1, dx = 0") {
    Tensor x = randn({3, 1}, 100), g = randn({3, 1}, 101), y({3, 1});
    rlhf::softmax_forward(cpu, y.view(), x);
    CHECK(y.to_vector() == std::vector<double>{1.0, 1.0, 1.0});
    check_gradients(
        {{"x", &x}},
        [&] {
          rlhf::softmax_forward(cpu, y.view(), x);
          return dot(g, y);
        },
        [&](std::vector<GradView>& d) { rlhf::softmax_backward(cpu, d[0], g, y); });
  }
  SUBCASE("embedding, one id") {
    Tensor table = randn({3, 4}, 102), g = randn({1, 4}, 103), out({1, 4});
    const Ids ids({1}, {2});
    check_gradients(
        {{"table", &table}},
        [&] {
          rlhf::embedding_forward(cpu, out.view(), table, ids);
          return dot(g, out);
        },
        [&](std::vector<GradView>& d) { rlhf::embedding_backward(cpu, d[0], g, ids); });
  }
  SUBCASE("cross_entropy, one row") { check_cross_entropy(randn({1, 11}, 104), Ids({1}, {5}), {}, 1.0); }
  SUBCASE("vocabulary of 1: loss 0, log-prob 0, entropy 0, zero gradients") {
    Tensor logits = randn({2, 1}, 105);
    const Ids targets({2}, {0, 0});
    Tensor out({2}), lse({2}), g = randn({2}, 106);
    CHECK(rlhf::cross_entropy_forward(cpu, out.view(), lse.view(), logits, targets, absent_input) == 0.0);
    check_cross_entropy(logits, targets, {}, 1.0);
    check_gradients(
        {{"logits", &logits}},
        [&] {
          rlhf::logprob_forward(cpu, out.view(), lse.view(), logits, targets, 0.7);
          return dot(g, out);
        },
        [&](std::vector<GradView>& d) { rlhf::logprob_backward(cpu, d[0], g, logits, lse, targets, 0.7); });
    // Zero up to the last bit of a vectorised exp(0).
    for (double v : out.to_vector()) CHECK(std::abs(v) < 1e-14);
    Tensor entropy({2});
    check_gradients(
        {{"logits", &logits}},
        [&] {
          rlhf::entropy_forward(cpu, entropy.view(), lse.view(), logits, 0.7);
          return dot(g, entropy);
        },
        [&](std::vector<GradView>& d) { rlhf::entropy_backward(cpu, d[0], g, logits, lse, entropy, 0.7); });
    for (double v : entropy.to_vector()) CHECK(std::abs(v) < 1e-14);
  }
}

TEST_CASE("kernel grad edge: cross_entropy with every token masked gives loss 0 and no gradient") {
  const Tensor logits = randn({3, 11}, 110);
  const Ids targets({3}, {-100, -100, -100});  // never read: every token is masked
  Tensor mask({3});                            // all zeros
  Tensor losses({3}), lse({3}), dlogits({3, 11});
  const double loss = rlhf::cross_entropy_forward(cpu, losses.view(), lse.view(), logits, targets, mask);
  CHECK(loss == 0.0);
  CHECK(all_zero(losses.to_vector()));
  rlhf::cross_entropy_backward(cpu, dlogits.view(), logits, lse, targets, mask, 1.0);
  CHECK(all_zero(dlogits.to_vector()));
  check_cross_entropy(logits, targets, {0.0, 0.0, 0.0}, 1.0);
}

TEST_CASE("kernel grad edge: attention queries without a valid key get zero output and zero gradient") {
  // Row 0 is left-padded by 3 (queries 0..2 see only pads); row 1 is all padding.
  const std::int64_t B = 2, T = 5, C = 4, H = 2, D = C / H;
  Tensor qkv = randn({B, T, 3 * C}, 120);
  Tensor g = randn({B, T, C}, 121);
  Tensor mask({B, T}, concat(left_padded(T, 3), left_padded(T, T)));
  Tensor out({B, T, C}), att({B, H, T, T}), datt({B, H, T, T}), dqkv({B, T, 3 * C});
  rlhf::attention_forward(cpu, out.view(), att.view(), qkv, mask, H);
  rlhf::attention_backward(cpu, dqkv.view(), datt.view(), g, qkv, att, H);
  CHECK(all_finite(out));
  CHECK(all_finite(att));
  CHECK(all_finite(dqkv));
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < T; ++t) {
      // Left padding: a pad position is both a query that sees no valid key and a key nobody sees.
      const bool pad = b == 1 || t < 3;
      CAPTURE(b);
      CAPTURE(t);
      if (!pad) continue;
      for (std::int64_t c = 0; c < C; ++c) {
        CHECK(out(b, t, c) == 0.0);
        CHECK(dqkv(b, t, c) == 0.0);          // dq
        CHECK(dqkv(b, t, C + c) == 0.0);      // dk
        CHECK(dqkv(b, t, 2 * C + c) == 0.0);  // dv
      }
      for (std::int64_t h = 0; h < H; ++h)
        for (std::int64_t j = 0; j < T; ++j) {
          CHECK(att(b, h, t, j) == 0.0);  // nothing attends from a pad query ...
          CHECK(att(b, h, j, t) == 0.0);  // ... nor to a pad key
        }
    }
  // The first real query of row 0 attends only to itself: its output is its own v.
  for (std::int64_t h = 0; h < H; ++h)
    for (std::int64_t d = 0; d < D; ++d) CHECK(out(0, 3, h * D + d) == doctest::Approx(qkv(0, 3, 2 * C + h * D + d)));
  check_attention(B, T, C, H, mask.to_vector());
}

TEST_CASE("kernel grad edge: logits of +-1e4 give finite losses, log-probs, entropies and gradients") {
  // Both rows hold the maxima 1e4 and 1e4 - 1, in different places, next to -1e4 and 0.
  const double big = 1e4;
  const Tensor logits({2, 4}, {big, -big, big - 1, 0.0, -big, big, 0.0, big - 1});
  const Ids targets({2}, {1, 1});  // row 0: the -1e4 logit; row 1: the maximum
  // Only two terms survive: p = (1, e^(-1/τ)) / (1 + e^(-1/τ)); every other exp underflows to 0.
  const auto tail = [](double tau) { return std::log1p(std::exp(-1 / tau)); };
  Tensor lse({2});

  {
    Tensor losses({2}), dlogits({2, 4});
    const double loss = rlhf::cross_entropy_forward(cpu, losses.view(), lse.view(), logits, targets, absent_input);
    // Row 0: lse - (-1e4) = 2e4 + tail; row 1: lse - 1e4 = tail.
    CHECK(loss == doctest::Approx((2 * big + tail(1.0) + tail(1.0)) / 2));
    rlhf::cross_entropy_backward(cpu, dlogits.view(), logits, lse, targets, absent_input, 1.0);
    CHECK(all_finite(dlogits));
    CHECK(dlogits(0, 1) == doctest::Approx(-0.5));  // (p - 1) / N with p = 0
  }
  for (double tau : {0.7, 1.0}) {
    CAPTURE(tau);
    Tensor logp({2}), dlogits({2, 4});
    const Tensor dlogp({2}, {1.0, 1.0});
    rlhf::logprob_forward(cpu, logp.view(), lse.view(), logits, targets, tau);
    CHECK(all_finite(logp));
    CHECK(logp(0) == doctest::Approx(-2 * big / tau - tail(tau)));
    CHECK(logp(1) == doctest::Approx(-tail(tau)));
    rlhf::logprob_backward(cpu, dlogits.view(), dlogp, logits, lse, targets, tau);
    CHECK(all_finite(dlogits));

    Tensor entropy({2}), dentropy_logits({2, 4});
    const Tensor dentropy({2}, {1.0, 1.0});
    rlhf::entropy_forward(cpu, entropy.view(), lse.view(), logits, tau);
    const double p_second = std::exp(-1 / tau - tail(tau)), p_first = 1 - p_second;
    const double want = -(p_first * std::log(p_first) + p_second * std::log(p_second));
    CHECK(entropy(0) == doctest::Approx(want));
    CHECK(entropy(1) == doctest::Approx(want));
    rlhf::entropy_backward(cpu, dentropy_logits.view(), dentropy, logits, lse, entropy, tau);
    CHECK(all_finite(dentropy_logits));
  }
  {
    Tensor y({2, 4}), dx({2, 4});
    const Tensor g = randn({2, 4}, 130);
    rlhf::softmax_forward(cpu, y.view(), logits);
    CHECK(all_finite(y));
    CHECK(y(0, 0) == doctest::Approx(1 / (1 + std::exp(-1.0))));
    CHECK(y(0, 1) < 1e-300);  // exp(-2e4): zero or a denormal
    rlhf::softmax_backward(cpu, dx.view(), g, y);
    CHECK(all_finite(dx));
  }
}

TEST_CASE("kernel grad edge: an empty batch or vocabulary throws rlhf::error") {
  const Tensor no_rows({0, 11});
  const Ids no_targets({0});
  Tensor losses({0}), lse({0}), dlogits({0, 11}), per_row({0});
  CHECK_THROWS_AS(rlhf::cross_entropy_forward(cpu, losses.view(), lse.view(), no_rows, no_targets, absent_input),
                  rlhf::error);
  CHECK_THROWS_AS(rlhf::cross_entropy_backward(cpu, dlogits.view(), no_rows, lse, no_targets, absent_input, 1.0),
                  rlhf::error);
  CHECK_THROWS_AS(rlhf::logprob_forward(cpu, losses.view(), lse.view(), no_rows, no_targets, 1.0), rlhf::error);
  CHECK_THROWS_AS(rlhf::logprob_backward(cpu, dlogits.view(), per_row, no_rows, lse, no_targets, 1.0), rlhf::error);
  CHECK_THROWS_AS(rlhf::entropy_forward(cpu, losses.view(), lse.view(), no_rows, 1.0), rlhf::error);
  CHECK_THROWS_AS(rlhf::entropy_backward(cpu, dlogits.view(), per_row, no_rows, lse, per_row, 1.0), rlhf::error);

  // Rows but no vocabulary: there is no distribution to take a log-sum-exp over.
  const Tensor no_vocab({2, 0});
  const Ids targets({2}, {0, 0});
  Tensor two({2}), lse2({2}), dno_vocab({2, 0});
  CHECK_THROWS_AS(rlhf::cross_entropy_forward(cpu, two.view(), lse2.view(), no_vocab, targets, absent_input),
                  rlhf::error);
  CHECK_THROWS_AS(rlhf::logprob_forward(cpu, two.view(), lse2.view(), no_vocab, targets, 1.0), rlhf::error);
  CHECK_THROWS_AS(rlhf::entropy_forward(cpu, two.view(), lse2.view(), no_vocab, 1.0), rlhf::error);
  CHECK_THROWS_AS(rlhf::entropy_backward(cpu, dno_vocab.view(), two, no_vocab, lse2, two, 1.0), rlhf::error);
}

TEST_CASE("kernel grad edge: out-of-range target and embedding ids throw, naming the op and the id") {
  const Tensor logits = randn({3, 11}, 140);
  Tensor losses({3}), lse({3}), dlogits({3, 11}), dlogp({3}, {1.0, 1.0, 1.0});
  const Ids past_end({3}, {0, 11, 2});           // vocabulary is 0..10
  const Ids unmasked_ignore({3}, {0, 1, -100});  // -100 is only allowed where the mask is 0
  const Tensor mask({3}, {1.0, 1.0, 1.0});

  std::string msg = error_message(
      [&] { rlhf::cross_entropy_forward(cpu, losses.view(), lse.view(), logits, past_end, absent_input); });
  CHECK(contains(msg, "cross_entropy_forward"));
  CHECK(contains(msg, "target 11"));
  msg = error_message(
      [&] { rlhf::cross_entropy_forward(cpu, losses.view(), lse.view(), logits, unmasked_ignore, mask); });
  CHECK(contains(msg, "cross_entropy_forward"));
  CHECK(contains(msg, "target -100"));
  // Backward is called with targets too and must not scatter outside the row.
  msg = error_message(
      [&] { rlhf::cross_entropy_backward(cpu, dlogits.view(), logits, lse, past_end, absent_input, 1.0); });
  CHECK(contains(msg, "cross_entropy_backward"));
  CHECK(contains(msg, "target 11"));

  msg = error_message([&] { rlhf::logprob_forward(cpu, losses.view(), lse.view(), logits, unmasked_ignore, 1.0); });
  CHECK(contains(msg, "logprob_forward"));
  CHECK(contains(msg, "target -100"));
  msg = error_message([&] { rlhf::logprob_backward(cpu, dlogits.view(), dlogp, logits, lse, past_end, 1.0); });
  CHECK(contains(msg, "logprob_backward"));
  CHECK(contains(msg, "target 11"));
  CHECK(all_zero(dlogits.to_vector()));  // nothing was written before the throw

  const Tensor table = randn({7, 4}, 141);
  Tensor out({2, 4}), dtable({7, 4});
  for (std::int32_t bad : {7, -1}) {
    CAPTURE(bad);
    const Ids ids({2}, {0, bad});
    msg = error_message([&] { rlhf::embedding_forward(cpu, out.view(), table, ids); });
    CHECK(contains(msg, "embedding_forward"));
    CHECK(contains(msg, "id " + std::to_string(bad)));
    msg = error_message([&] { rlhf::embedding_backward(cpu, dtable.view(), out, ids); });
    CHECK(contains(msg, "embedding_backward"));
    CHECK(contains(msg, "id " + std::to_string(bad)));
  }
  CHECK(all_zero(dtable.to_vector()));
}

}  // namespace

}  // namespace test_kernels_grad
