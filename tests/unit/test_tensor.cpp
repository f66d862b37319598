// Tensor / View semantics, the cpu backend tag, and the shape errors of the CPU kernels (exact
// messages: they are part of the interface a user debugs with).
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "below_training.hpp"

namespace test_tensor {

using rlhf::cpu;
using rlhf::Shape;
using rlhf::Tensor;
using rlhf::View;

// ------------------------------------------------------------------------------------------
// Types
// ------------------------------------------------------------------------------------------

static_assert(std::is_base_of_v<std::runtime_error, rlhf::error>);
static_assert(rlhf::Backend<cpu>);
static_assert(!rlhf::Backend<int>);
namespace {
struct not_a_backend {  // no copy_to_host / fill_zero
  static constexpr std::string_view name = "x";
  static constexpr bool host_accessible = true;
  static void* allocate(std::size_t) { return nullptr; }
  static void deallocate(void*) {}
  static void copy(void*, const void*, std::size_t) {}
  static void copy_from_host(void*, const void*, std::size_t) {}
};
}  // namespace
static_assert(!rlhf::Backend<not_a_backend>);

// Owning tensors are move-only; copies are explicit (clone()).
static_assert(!std::is_copy_constructible_v<Tensor<float, cpu>>);
static_assert(!std::is_copy_assignable_v<Tensor<float, cpu>>);
static_assert(std::is_nothrow_move_constructible_v<Tensor<float, cpu>>);
static_assert(std::is_nothrow_move_assignable_v<Tensor<float, cpu>>);

// Views: mutable -> read-only converts, never the other way, never across element types.
static_assert(std::is_convertible_v<View<float, cpu>, View<const float, cpu>>);
static_assert(!std::is_convertible_v<View<const float, cpu>, View<float, cpu>>);
static_assert(!std::is_convertible_v<View<float, cpu>, View<double, cpu>>);
static_assert(!std::is_convertible_v<View<const float, cpu>, View<const double, cpu>>);
static_assert(std::is_trivially_copyable_v<View<float, cpu>>);
// A tensor gives a mutable view only when it is itself mutable.
static_assert(std::is_convertible_v<Tensor<float, cpu>&, View<float, cpu>>);
static_assert(std::is_convertible_v<Tensor<float, cpu>&, View<const float, cpu>>);
static_assert(std::is_convertible_v<const Tensor<float, cpu>&, View<const float, cpu>>);
static_assert(!std::is_convertible_v<const Tensor<float, cpu>&, View<float, cpu>>);
static_assert(std::is_same_v<decltype(std::declval<const Tensor<float, cpu>&>().view()), View<const float, cpu>>);

// ------------------------------------------------------------------------------------------
// Shape
// ------------------------------------------------------------------------------------------

TEST_CASE("shape: rank, numel, printing, rank > 4 and negative dimensions are errors") {
  const Shape s{2, 3, 4};
  CHECK(s.rank() == 3);
  CHECK(s.numel() == 24);
  CHECK(s.str() == "[2, 3, 4]");
  CHECK(Shape{}.rank() == 0);
  CHECK(Shape{}.numel() == 1);
  CHECK(Shape{}.str() == "[]");
  CHECK(Shape{2, 0, 4}.numel() == 0);
  CHECK(s.drop_front() == Shape{3, 4});
  CHECK(s.with_front(7) == Shape{7, 3, 4});
  CHECK(!(Shape{2, 3} == Shape{3, 2}));
  CHECK(!(Shape{6} == Shape{6, 1}));
  CHECK(Shape{1, 2, 3, 4}.rank() == 4);
  CHECK_THROWS_WITH_AS(Shape({1, 2, 3, 4, 5}), "Shape: rank 5 exceeds the maximum of 4", rlhf::error);
  CHECK_THROWS_WITH_AS(Shape({2, -1}), "Shape: negative dimension -1", rlhf::error);
  CHECK_THROWS_AS((Tensor<float, cpu>(Shape{1, 1, 1, 1, 1})), std::runtime_error);
}

// ------------------------------------------------------------------------------------------
// Tensor
// ------------------------------------------------------------------------------------------

TEST_CASE("tensor: construction is zero-filled") {
  Tensor<float, cpu> t(Shape{2, 3});
  CHECK(t.shape() == Shape{2, 3});
  CHECK(t.rank() == 2);
  CHECK(t.size(0) == 2);
  CHECK(t.size(1) == 3);
  CHECK(t.numel() == 6);
  CHECK(t.bytes() == 6 * sizeof(float));
  REQUIRE(t.data() != nullptr);
  CHECK(t.to_vector() == std::vector<float>(6, 0.0f));

  Tensor<double, cpu> big(Shape{3, 5, 7, 11});
  for (double v : big.to_vector()) REQUIRE(v == 0.0);

  Tensor<std::int32_t, cpu> ids(Shape{4});
  CHECK(ids.to_vector() == std::vector<std::int32_t>(4, 0));
}

TEST_CASE("tensor: construction from values, and a wrong count names both counts") {
  const Tensor<float, cpu> t(Shape{2, 2}, {1.f, 2.f, 3.f, 4.f});
  CHECK(t.to_vector() == std::vector<float>{1, 2, 3, 4});
  const std::vector<double> v{1, 2, 3, 4, 5, 6};
  const Tensor<double, cpu> u(Shape{3, 2}, std::span<const double>(v));
  CHECK(u.to_vector() == v);
  CHECK(u(2, 1) == 6.0);

  CHECK_THROWS_WITH_AS((Tensor<float, cpu>(Shape{2, 2}, {1.f, 2.f, 3.f})),
                       "Tensor: 3 values given for shape [2, 2] (4 elements)", rlhf::error);
  CHECK_THROWS_WITH_AS((Tensor<double, cpu>(Shape{2}, std::span<const double>(v))),
                       "Tensor: 6 values given for shape [2] (2 elements)", rlhf::error);
}

TEST_CASE("tensor: empty and scalar tensors, and the default tensor gives the absent view") {
  Tensor<float, cpu> empty(Shape{0, 3});
  CHECK(empty.numel() == 0);
  CHECK(empty.to_vector().empty());
  CHECK(empty.view().present());  // a zero dimension is still a present tensor
  CHECK(empty.clone().shape() == Shape{0, 3});

  Tensor<float, cpu> scalar(Shape{});
  CHECK(scalar.rank() == 0);
  CHECK(scalar.numel() == 1);
  REQUIRE(scalar.data() != nullptr);
  scalar.data()[0] = 2.5f;
  CHECK(scalar.to_vector() == std::vector<float>{2.5f});
  CHECK(scalar.view().present());

  Tensor<float, cpu> none;
  CHECK(none.data() == nullptr);
  CHECK(!none.view().present());
  CHECK(!View<float, cpu>{}.present());
  CHECK(!View<const float, cpu>{}.present());
}

TEST_CASE("tensor: move transfers the buffer, clone() is a deep copy") {
  Tensor<float, cpu> a(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  const float* p = a.data();
  Tensor<float, cpu> b(std::move(a));
  CHECK(b.data() == p);
  CHECK(b.shape() == Shape{2, 3});
  CHECK(a.data() == nullptr);  // NOLINT(bugprone-use-after-move): moved-from holds no buffer

  Tensor<float, cpu> c(Shape{1});
  c = std::move(b);
  CHECK(c.data() == p);
  CHECK(c.to_vector() == std::vector<float>{1, 2, 3, 4, 5, 6});

  Tensor<float, cpu> d = c.clone();
  CHECK(d.data() != c.data());
  CHECK(d.shape() == c.shape());
  CHECK(d.to_vector() == c.to_vector());
  d(0, 0) = 100.f;
  CHECK(c(0, 0) == 1.f);
}

TEST_CASE("tensor: element access is row-major, reads and writes through views") {
  Tensor<int, cpu> t(Shape{2, 3, 4});
  for (int i = 0; i < 24; ++i) t.data()[i] = i;
  CHECK(t(0, 0, 0) == 0);
  CHECK(t(1, 2, 3) == 23);
  CHECK(t(1, 0, 2) == 14);
  t(0, 1, 1) = -5;
  CHECK(t.data()[5] == -5);

  View<int, cpu> v = t;
  v(1, 1, 1) = 99;
  CHECK(t(1, 1, 1) == 99);
  CHECK(t.data()[17] == 99);

  const Tensor<int, cpu>& ct = t;
  CHECK(ct(1, 1, 1) == 99);
  View<const int, cpu> cv = ct;
  CHECK(cv(1, 2, 3) == 23);
  CHECK(cv.span().size() == 24);
  CHECK(cv.span()[5] == -5);
}

TEST_CASE("tensor: to<cpu> copies into a new buffer") {
  const Tensor<float, cpu> a(Shape{3}, {1, 2, 3});
  Tensor<float, cpu> b = rlhf::to<cpu>(a);
  CHECK(b.data() != a.data());
  CHECK(b.shape() == a.shape());
  CHECK(b.to_vector() == a.to_vector());
  b(0) = 7;
  CHECK(a(0) == 1);
}

TEST_CASE("tensor: cpu allocations are 64-byte aligned") {
  CHECK(cpu::alignment == 64);
  for (std::int64_t n : {1, 3, 15, 16, 17, 63, 64, 65, 1000, 4097}) {
    CAPTURE(n);
    Tensor<float, cpu> f(Shape{n});
    Tensor<double, cpu> d(Shape{n, 3});
    Tensor<std::int32_t, cpu> i(Shape{n});
    CHECK(reinterpret_cast<std::uintptr_t>(f.data()) % 64 == 0);
    CHECK(reinterpret_cast<std::uintptr_t>(d.data()) % 64 == 0);
    CHECK(reinterpret_cast<std::uintptr_t>(i.data()) % 64 == 0);
  }
  CHECK(cpu::allocate(0) == nullptr);
  cpu::deallocate(nullptr);
}

// ------------------------------------------------------------------------------------------
// View
// ------------------------------------------------------------------------------------------

TEST_CASE("view: views share the tensor's buffer, const views come from const tensors") {
  Tensor<float, cpu> t(Shape{2, 3});
  View<float, cpu> v = t.view();
  CHECK(v.data() == t.data());
  CHECK(v.shape() == t.shape());
  CHECK(v.numel() == 6);
  CHECK(v.bytes() == 24);
  CHECK(v.rank() == 2);
  CHECK(v.size(1) == 3);
  View<const float, cpu> c = v;  // mutable -> read-only
  CHECK(c.data() == t.data());
  CHECK(t.cview().data() == t.data());
  v(1, 2) = 4.f;
  CHECK(c(1, 2) == 4.f);
}

TEST_CASE("view: reshape keeps the data and checks the element count") {
  Tensor<float, cpu> t(Shape{2, 3}, {0, 1, 2, 3, 4, 5});
  const View<float, cpu> r = t.view().reshape(Shape{3, 2});
  CHECK(r.shape() == Shape{3, 2});
  CHECK(r.data() == t.data());
  CHECK(r(2, 0) == 4.f);
  CHECK(t.view().reshape(Shape{6}).shape() == Shape{6});
  CHECK(t.view().reshape(Shape{1, 2, 1, 3}).rank() == 4);
  CHECK_THROWS_WITH_AS(t.view().reshape(Shape{4, 2}), "reshape: cannot view [2, 3] as [4, 2] (6 vs 8 elements)",
                       rlhf::error);
  CHECK_THROWS_WITH_AS(t.cview().reshape(Shape{5}), "reshape: cannot view [2, 3] as [5] (6 vs 5 elements)",
                       rlhf::error);
}

TEST_CASE("view: rows() and operator[] slice along the first dimension, with bounds errors") {
  Tensor<float, cpu> t(Shape{4, 3});
  for (int i = 0; i < 12; ++i) t.data()[i] = float(i);
  const View<float, cpu> v = t.view();

  const View<float, cpu> r = v.rows(1, 3);
  CHECK(r.shape() == Shape{2, 3});
  CHECK(r.data() == t.data() + 3);
  CHECK(r(1, 2) == 8.f);
  CHECK(v.rows(0, 4).shape() == Shape{4, 3});
  CHECK(v.rows(2, 2).shape() == Shape{0, 3});  // an empty range is fine

  const View<float, cpu> row = v[2];
  CHECK(row.shape() == Shape{3});
  CHECK(row.data() == t.data() + 6);
  CHECK(row(0) == 6.f);
  row(1) = -1.f;
  CHECK(t(2, 1) == -1.f);

  // Higher rank: one batch element, then one of its rows.
  Tensor<double, cpu> b(Shape{2, 3, 4});
  CHECK(b.view()[1].shape() == Shape{3, 4});
  CHECK(b.view()[1].data() == b.data() + 12);
  CHECK(b.view()[1][2].data() == b.data() + 20);
  CHECK(b.cview().rows(1, 2).data() == b.data() + 12);

  CHECK_THROWS_WITH_AS(v.rows(2, 5), "rows: range [2, 5) outside [4, 3]", rlhf::error);
  CHECK_THROWS_WITH_AS(v.rows(3, 2), "rows: range [3, 2) outside [4, 3]", rlhf::error);
  CHECK_THROWS_WITH_AS(v.rows(-1, 2), "rows: range [-1, 2) outside [4, 3]", rlhf::error);
  CHECK_THROWS_WITH_AS(v[4], "index: 4 outside [4, 3]", rlhf::error);
  CHECK_THROWS_WITH_AS(v[-1], "index: -1 outside [4, 3]", rlhf::error);
  Tensor<float, cpu> s(Shape{});
  CHECK_THROWS_WITH_AS(s.view()[0], "index: 0 outside []", rlhf::error);
  CHECK_THROWS_WITH_AS(s.view().rows(0, 1), "rows: range [0, 1) outside []", rlhf::error);
}

// ------------------------------------------------------------------------------------------
// Kernel shape errors: exact messages
// ------------------------------------------------------------------------------------------

namespace {
constexpr auto none = [] { return View<const float, cpu>{}; };
}

TEST_CASE("errors: matmul") {
  using rlhf::WeightLayout;
  Tensor<float, cpu> a(Shape{2, 3}), w(Shape{4, 5}), out(Shape{2, 5});
  CHECK_THROWS_WITH_AS(matmul_forward(cpu{}, out.view(), a, w, none(), WeightLayout::in_out),
                       "matmul_forward: a [2, 3] and w [4, 5] (in_out) have different inner dimensions 3 and 4",
                       rlhf::error);
  CHECK_THROWS_WITH_AS(matmul_forward(cpu{}, out.view(), a, w, none(), WeightLayout::out_in),
                       "matmul_forward: a [2, 3] and w [4, 5] (out_in) have different inner dimensions 3 and 5",
                       rlhf::error);
  Tensor<float, cpu> w35(Shape{3, 5}), out24(Shape{2, 4}), bias4(Shape{4}), w3(Shape{3});
  CHECK_THROWS_WITH_AS(matmul_forward(cpu{}, out24.view(), a, w35, none(), WeightLayout::in_out),
                       "matmul_forward: out has shape [2, 4], expected a's leading dimensions of [2, 3] and 5 columns",
                       rlhf::error);
  CHECK_THROWS_WITH_AS(matmul_forward(cpu{}, out.view(), a, w35, bias4, WeightLayout::in_out),
                       "matmul_forward: bias has shape [4], expected [5]", rlhf::error);
  CHECK_THROWS_WITH_AS(matmul_forward(cpu{}, out.view(), a, w3, none(), WeightLayout::in_out),
                       "matmul_forward: w has shape [3], expected rank 2", rlhf::error);
  CHECK_NOTHROW(matmul_forward(cpu{}, out.view(), a, w35, none(), WeightLayout::in_out));

  Tensor<float, cpu> da(Shape{2, 3}), dw(Shape{3, 5}), db(Shape{5}), dout(Shape{2, 5});
  Tensor<float, cpu> dw_t(Shape{5, 3}), da_bad(Shape{3, 2});
  CHECK_THROWS_WITH_AS(matmul_backward(cpu{}, da.view(), dw.view(), db.view(), dout, a, w, WeightLayout::in_out),
                       "matmul_backward: a [2, 3] and w [4, 5] (in_out) have different inner dimensions 3 and 4",
                       rlhf::error);
  CHECK_THROWS_WITH_AS(matmul_backward(cpu{}, da.view(), dw_t.view(), db.view(), dout, a, w35, WeightLayout::in_out),
                       "matmul_backward: dw has shape [5, 3], expected [3, 5]", rlhf::error);
  CHECK_THROWS_WITH_AS(matmul_backward(cpu{}, da_bad.view(), dw.view(), db.view(), dout, a, w35, WeightLayout::in_out),
                       "matmul_backward: da has shape [3, 2], expected [2, 3]", rlhf::error);
  CHECK_THROWS_WITH_AS(matmul_backward(cpu{}, da.view(), dw.view(), bias4.view(), dout, a, w35, WeightLayout::in_out),
                       "matmul_backward: dbias has shape [4], expected [5]", rlhf::error);
  CHECK_THROWS_WITH_AS(
      matmul_backward(cpu{}, da.view(), dw.view(), db.view(), out24, a, w35, WeightLayout::in_out),
      "matmul_backward: dout has shape [2, 4], expected a's leading dimensions of [2, 3] and 5 columns", rlhf::error);
  CHECK_NOTHROW(matmul_backward(cpu{}, da.view(), dw.view(), db.view(), dout, a, w35, WeightLayout::in_out));
}

TEST_CASE("errors: layernorm") {
  Tensor<float, cpu> x(Shape{2, 4}), out(Shape{2, 4}), w(Shape{4}), b(Shape{4}), mean(Shape{2}), rstd(Shape{2});
  Tensor<float, cpu> out5(Shape{2, 5}), w3(Shape{3}), mean3(Shape{3});
  CHECK_THROWS_WITH_AS(layernorm_forward(cpu{}, out5.view(), mean.view(), rstd.view(), x, w, b, 1e-5f),
                       "layernorm_forward: out [2, 5] and x [2, 4] must have the same shape", rlhf::error);
  CHECK_THROWS_WITH_AS(layernorm_forward(cpu{}, out.view(), mean.view(), rstd.view(), x, w3, b, 1e-5f),
                       "layernorm_forward: w has shape [3], expected [4]", rlhf::error);
  CHECK_THROWS_WITH_AS(layernorm_forward(cpu{}, out.view(), mean.view(), rstd.view(), x, w, w3, 1e-5f),
                       "layernorm_forward: b has shape [3], expected [4]", rlhf::error);
  CHECK_THROWS_WITH_AS(layernorm_forward(cpu{}, out.view(), mean3.view(), rstd.view(), x, w, b, 1e-5f),
                       "layernorm_forward: mean has shape [3], expected [2]", rlhf::error);
  CHECK_THROWS_WITH_AS(layernorm_forward(cpu{}, out.view(), mean.view(), mean3.view(), x, w, b, 1e-5f),
                       "layernorm_forward: rstd has shape [3], expected [2]", rlhf::error);
  CHECK_NOTHROW(layernorm_forward(cpu{}, out.view(), mean.view(), rstd.view(), x, w, b, 1e-5f));

  Tensor<float, cpu> dx(Shape{2, 4}), dw(Shape{4}), db(Shape{4});
  CHECK_THROWS_WITH_AS(layernorm_backward(cpu{}, dx.view(), dw.view(), db.view(), out5, x, w, mean, rstd),
                       "layernorm_backward: dout [2, 5] and x [2, 4] must have the same shape", rlhf::error);
  CHECK_THROWS_WITH_AS(layernorm_backward(cpu{}, out5.view(), dw.view(), db.view(), out, x, w, mean, rstd),
                       "layernorm_backward: dx [2, 5] and x [2, 4] must have the same shape", rlhf::error);
  CHECK_THROWS_WITH_AS(layernorm_backward(cpu{}, dx.view(), w3.view(), db.view(), out, x, w, mean, rstd),
                       "layernorm_backward: dw has shape [3], expected [4]", rlhf::error);
  CHECK_THROWS_WITH_AS(layernorm_backward(cpu{}, dx.view(), dw.view(), db.view(), out, x, w, mean3, rstd),
                       "layernorm_backward: mean has shape [3], expected [2]", rlhf::error);
}

TEST_CASE("errors: attention") {
  Tensor<float, cpu> qkv(Shape{1, 2, 12}), out(Shape{1, 2, 4}), att(Shape{1, 2, 2, 2});
  CHECK_THROWS_WITH_AS(attention_forward(cpu{}, out.view(), att.view(), qkv, none(), 3),
                       "attention_forward: 3 heads do not divide C = 4 (qkv [1, 2, 12])", rlhf::error);
  CHECK_THROWS_WITH_AS(attention_forward(cpu{}, out.view(), att.view(), qkv, none(), 0),
                       "attention_forward: 0 heads do not divide C = 4 (qkv [1, 2, 12])", rlhf::error);
  Tensor<float, cpu> att_bad(Shape{1, 2, 2, 3}), out_bad(Shape{1, 2, 3}), mask_bad(Shape{2, 1});
  CHECK_THROWS_WITH_AS(attention_forward(cpu{}, out.view(), att_bad.view(), qkv, none(), 2),
                       "attention_forward: att has shape [1, 2, 2, 3], expected [1, 2, 2, 2]", rlhf::error);
  CHECK_THROWS_WITH_AS(attention_forward(cpu{}, out.view(), att.view(), qkv, none(), 1),
                       "attention_forward: att has shape [1, 2, 2, 2], expected [1, 1, 2, 2]", rlhf::error);
  CHECK_THROWS_WITH_AS(attention_forward(cpu{}, out_bad.view(), att.view(), qkv, none(), 2),
                       "attention_forward: out has shape [1, 2, 3], expected [1, 2, 4]", rlhf::error);
  CHECK_THROWS_WITH_AS(attention_forward(cpu{}, out.view(), att.view(), qkv, mask_bad, 2),
                       "attention_forward: key_mask has shape [2, 1], expected [1, 2]", rlhf::error);
  Tensor<float, cpu> qkv10(Shape{1, 2, 10}), qkv2(Shape{2, 12});
  CHECK_THROWS_WITH_AS(attention_forward(cpu{}, out.view(), att.view(), qkv10, none(), 2),
                       "attention_forward: qkv has shape [1, 2, 10], its last dimension is not 3·C", rlhf::error);
  CHECK_THROWS_WITH_AS(attention_forward(cpu{}, out.view(), att.view(), qkv2, none(), 2),
                       "attention_forward: qkv has shape [2, 12], expected rank 3", rlhf::error);
  CHECK_NOTHROW(attention_forward(cpu{}, out.view(), att.view(), qkv, none(), 2));

  Tensor<float, cpu> dqkv(Shape{1, 2, 12}), datt(Shape{1, 2, 2, 2}), dqkv_bad(Shape{1, 2, 9});
  CHECK_THROWS_WITH_AS(attention_backward(cpu{}, dqkv.view(), datt.view(), out, qkv, att, 3),
                       "attention_backward: 3 heads do not divide C = 4 (qkv [1, 2, 12])", rlhf::error);
  CHECK_THROWS_WITH_AS(attention_backward(cpu{}, dqkv.view(), datt.view(), out, qkv, att_bad, 2),
                       "attention_backward: att has shape [1, 2, 2, 3], expected [1, 2, 2, 2]", rlhf::error);
  CHECK_THROWS_WITH_AS(attention_backward(cpu{}, dqkv_bad.view(), datt.view(), out, qkv, att, 2),
                       "attention_backward: dqkv [1, 2, 9] and qkv [1, 2, 12] must have the same shape", rlhf::error);
  CHECK_THROWS_WITH_AS(attention_backward(cpu{}, dqkv.view(), att_bad.view(), out, qkv, att, 2),
                       "attention_backward: datt [1, 2, 2, 3] and att [1, 2, 2, 2] must have the same shape",
                       rlhf::error);
}

TEST_CASE("errors: embedding") {
  Tensor<float, cpu> table(Shape{7, 4}), out(Shape{3, 4});
  const Tensor<std::int32_t, cpu> ids(Shape{3}, {0, 7, 1}), neg(Shape{3}, {0, 1, -1}), ok(Shape{3}, {0, 6, 1});
  CHECK_THROWS_WITH_AS(embedding_forward(cpu{}, out.view(), table, ids),
                       "embedding_forward: id 7 at position 1 is outside the table [7, 4]", rlhf::error);
  CHECK_THROWS_WITH_AS(embedding_forward(cpu{}, out.view(), table, neg),
                       "embedding_forward: id -1 at position 2 is outside the table [7, 4]", rlhf::error);
  Tensor<float, cpu> out_bad(Shape{3, 5});
  CHECK_THROWS_WITH_AS(embedding_forward(cpu{}, out_bad.view(), table, ok),
                       "embedding_forward: out has shape [3, 5], expected 3 rows (ids [3]) of 4 columns (table [7, 4])",
                       rlhf::error);
  CHECK_NOTHROW(embedding_forward(cpu{}, out.view(), table, ok));
  Tensor<float, cpu> dtable(Shape{7, 4});
  CHECK_THROWS_WITH_AS(embedding_backward(cpu{}, dtable.view(), out, ids),
                       "embedding_backward: id 7 at position 1 is outside the table [7, 4]", rlhf::error);
}

TEST_CASE("errors: cross_entropy") {
  Tensor<float, cpu> logits(Shape{2, 9}), losses(Shape{2}), lse(Shape{2});
  const Tensor<std::int32_t, cpu> bad(Shape{2}, {3, 9}), neg(Shape{2}, {-100, 0}), good(Shape{2}, {3, 8});
  CHECK_THROWS_WITH_AS(cross_entropy_forward(cpu{}, losses.view(), lse.view(), logits, bad, none()),
                       "cross_entropy_forward: target 9 at row 1 is outside the vocabulary of 9", rlhf::error);
  CHECK_THROWS_WITH_AS(cross_entropy_forward(cpu{}, losses.view(), lse.view(), logits, neg, none()),
                       "cross_entropy_forward: target -100 at row 0 is outside the vocabulary of 9", rlhf::error);
  // A masked token's target is never read: -100 is fine there.
  const Tensor<float, cpu> mask(Shape{2}, {0.f, 1.f});
  CHECK_NOTHROW(cross_entropy_forward(cpu{}, losses.view(), lse.view(), logits, neg, mask));

  Tensor<float, cpu> empty(Shape{0, 9}), e_losses(Shape{0}), e_lse(Shape{0});
  const Tensor<std::int32_t, cpu> e_targets(Shape{0});
  CHECK_THROWS_WITH_AS(cross_entropy_forward(cpu{}, e_losses.view(), e_lse.view(), empty, e_targets, none()),
                       "cross_entropy_forward: empty batch: logits has no rows (0)", rlhf::error);
  Tensor<float, cpu> novocab(Shape{2, 0});
  CHECK_THROWS_WITH_AS(cross_entropy_forward(cpu{}, losses.view(), lse.view(), novocab, good, none()),
                       "cross_entropy_forward: logits has shape [2, 0], expected a non-empty vocabulary", rlhf::error);
  const Tensor<std::int32_t, cpu> three(Shape{3}, {0, 1, 2});
  CHECK_THROWS_WITH_AS(cross_entropy_forward(cpu{}, losses.view(), lse.view(), logits, three, none()),
                       "cross_entropy_forward: targets has shape [3], expected one per row of logits [2, 9]",
                       rlhf::error);
  Tensor<float, cpu> mask3(Shape{3}), flat(Shape{18});
  CHECK_THROWS_WITH_AS(cross_entropy_forward(cpu{}, losses.view(), lse.view(), logits, good, mask3),
                       "cross_entropy_forward: mask has shape [3], expected [2]", rlhf::error);
  CHECK_THROWS_WITH_AS(cross_entropy_forward(cpu{}, losses.view(), lse.view(), flat, good, none()),
                       "cross_entropy_forward: logits has shape [18], expected rank 2", rlhf::error);
  CHECK_NOTHROW(cross_entropy_forward(cpu{}, losses.view(), lse.view(), logits, good, none()));

  Tensor<float, cpu> dlogits(Shape{2, 9}), dlogits_bad(Shape{2, 8});
  CHECK_THROWS_WITH_AS(cross_entropy_backward(cpu{}, dlogits.view(), empty, e_lse, e_targets, none(), 1.f),
                       "cross_entropy_backward: empty batch: logits has no rows (0)", rlhf::error);
  CHECK_THROWS_WITH_AS(cross_entropy_backward(cpu{}, dlogits_bad.view(), logits, lse, good, none(), 1.f),
                       "cross_entropy_backward: dlogits [2, 8] and logits [2, 9] must have the same shape",
                       rlhf::error);
}

TEST_CASE("errors: logprob and entropy temperature") {
  Tensor<float, cpu> logits(Shape{2, 5}), logp(Shape{2}), lse(Shape{2}), dlogits(Shape{2, 5}), g(Shape{2});
  const Tensor<std::int32_t, cpu> targets(Shape{2}, {0, 4}), bad(Shape{2}, {5, 0});
  CHECK_THROWS_WITH_AS(logprob_forward(cpu{}, logp.view(), lse.view(), logits, targets, 0.f),
                       "logprob_forward: temperature must be positive, got 0", rlhf::error);
  CHECK_THROWS_WITH_AS(logprob_forward(cpu{}, logp.view(), lse.view(), logits, targets, -0.5f),
                       "logprob_forward: temperature must be positive, got -0.5", rlhf::error);
  CHECK_THROWS_AS(
      logprob_forward(cpu{}, logp.view(), lse.view(), logits, targets, std::numeric_limits<float>::quiet_NaN()),
      rlhf::error);
  CHECK_THROWS_AS(
      logprob_forward(cpu{}, logp.view(), lse.view(), logits, targets, std::numeric_limits<float>::infinity()),
      rlhf::error);
  CHECK_THROWS_WITH_AS(logprob_backward(cpu{}, dlogits.view(), g, logits, lse, targets, 0.f),
                       "logprob_backward: temperature must be positive, got 0", rlhf::error);
  CHECK_THROWS_WITH_AS(logprob_forward(cpu{}, logp.view(), lse.view(), logits, bad, 1.f),
                       "logprob_forward: target 5 at row 0 is outside the vocabulary of 5", rlhf::error);
  CHECK_NOTHROW(logprob_forward(cpu{}, logp.view(), lse.view(), logits, targets, 1.f));

  CHECK_THROWS_WITH_AS(entropy_forward(cpu{}, logp.view(), lse.view(), logits, 0.f),
                       "entropy_forward: temperature must be positive, got 0", rlhf::error);
  CHECK_THROWS_WITH_AS(entropy_backward(cpu{}, dlogits.view(), g, logits, lse, logp, -1.f),
                       "entropy_backward: temperature must be positive, got -1", rlhf::error);
  Tensor<float, cpu> ent3(Shape{3});
  CHECK_THROWS_WITH_AS(entropy_forward(cpu{}, ent3.view(), lse.view(), logits, 1.f),
                       "entropy_forward: entropy has shape [3], expected [2]", rlhf::error);
}

TEST_CASE("errors: residual, softmax, gelu") {
  Tensor<float, cpu> a(Shape{2, 3}), b(Shape{3, 2}), out(Shape{2, 3}), out6(Shape{6});
  CHECK_THROWS_WITH_AS(residual_forward(cpu{}, out.view(), a, b),
                       "residual_forward: a [2, 3] and b [3, 2] must have the same shape", rlhf::error);
  CHECK_THROWS_WITH_AS(residual_forward(cpu{}, out6.view(), a, a),
                       "residual_forward: out [6] and a [2, 3] must have the same shape", rlhf::error);
  CHECK_THROWS_WITH_AS(residual_backward(cpu{}, a.view(), b.view(), out),
                       "residual_backward: db [3, 2] and dout [2, 3] must have the same shape", rlhf::error);

  Tensor<float, cpu> x(Shape{2, 4});
  CHECK_THROWS_WITH_AS(softmax_forward(cpu{}, out.view(), x),
                       "softmax_forward: out [2, 3] and x [2, 4] must have the same shape", rlhf::error);
  CHECK_THROWS_WITH_AS(softmax_backward(cpu{}, out.view(), x, x),
                       "softmax_backward: dx [2, 3] and y [2, 4] must have the same shape", rlhf::error);
  CHECK_THROWS_WITH_AS(softmax_backward(cpu{}, x.view(), a, x),
                       "softmax_backward: dout [2, 3] and y [2, 4] must have the same shape", rlhf::error);
  Tensor<float, cpu> s(Shape{}), s2(Shape{});
  CHECK_THROWS_WITH_AS(softmax_forward(cpu{}, s.view(), s2), "softmax_forward: x has shape [], expected rank >= 1",
                       rlhf::error);

  Tensor<float, cpu> g3(Shape{3}), g4(Shape{4});
  CHECK_THROWS_WITH_AS(gelu_forward(cpu{}, g3.view(), g4), "gelu_forward: out [3] and x [4] must have the same shape",
                       rlhf::error);
  CHECK_THROWS_WITH_AS(gelu_backward(cpu{}, g4.view(), g3, g4),
                       "gelu_backward: dout [3] and x [4] must have the same shape", rlhf::error);
  CHECK_THROWS_WITH_AS(gelu_backward(cpu{}, g3.view(), g4, g4),
                       "gelu_backward: dx [3] and x [4] must have the same shape", rlhf::error);
}

TEST_CASE("errors are rlhf::error, catchable as std::runtime_error") {
  Tensor<float, cpu> a(Shape{2, 3}), b(Shape{3, 2}), out(Shape{2, 3});
  CHECK_THROWS_AS(residual_forward(cpu{}, out.view(), a, b), std::runtime_error);
  try {
    rlhf::fail("op: ", 3, " and ", Shape{1, 2});
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) == "op: 3 and [1, 2]");
  }
}

TEST_CASE("a default-constructed tensor owns nothing and has no elements") {
  rlhf::Tensor<float, rlhf::cpu> t;
  CHECK(t.numel() == 0);
  CHECK(t.bytes() == 0);
  CHECK(t.to_vector().empty());
  CHECK(t.clone().numel() == 0);
  CHECK(rlhf::View<float, rlhf::cpu>{}.numel() == 0);
}

}  // namespace test_tensor
