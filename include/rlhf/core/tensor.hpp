#pragma once
// Tensor<T, B> owns a contiguous row-major buffer of rank <= 4 in backend B's memory;
// View<T, B> is a non-owning window onto one. Where memory lives is part of the type: a
// View<float, cpu> cannot be passed where a View<float, cuda> is expected, and element access
// exists only for host-accessible backends. Moving data between backends is explicit (to<B>).
#include <cstddef>
#include <memory>
#include <new>
#include <span>
#include <type_traits>
#include <vector>

#include "rlhf/core/backend.hpp"
#include "rlhf/core/error.hpp"
#include "rlhf/core/host_memory.hpp"
#include "rlhf/core/shape.hpp"

namespace rlhf {

template <class T, Backend B>
class View {
 public:
  using value_type = T;
  using backend = B;

  View() = default;  // the absent view: optional kernel arguments take it
  View(T* data, Shape shape) : data_(data), shape_(shape) {}
  // A mutable view converts to a read-only one, never the other way.
  template <class U>
  requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>) View(const View<U, B>& v)
      : data_(v.data()), shape_(v.shape()) {}

  T* data() const { return data_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  std::int64_t size(int dim) const { return shape_[dim]; }
  std::int64_t numel() const { return present() ? shape_.numel() : 0; }
  std::size_t bytes() const { return static_cast<std::size_t>(numel()) * sizeof(T); }
  // False only for the absent view (View{}); a tensor with a zero dimension is present.
  bool present() const { return data_ != nullptr || shape_.rank() > 0; }

  View reshape(Shape s) const {
    if (s.numel() != numel())
      fail("reshape: cannot view ", shape_, " as ", s, " (", numel(), " vs ", s.numel(), " elements)");
    return View(data_, s);
  }
  // Rows [begin, end) along the first dimension.
  View rows(std::int64_t begin, std::int64_t end) const {
    if (rank() == 0 || begin < 0 || end < begin || end > size(0))
      fail("rows: range [", begin, ", ", end, ") outside ", shape_);
    return View(data_ + begin * row_stride(), shape_.with_front(end - begin));
  }
  // One row along the first dimension, with that dimension dropped.
  View operator[](std::int64_t i) const {
    if (rank() == 0 || i < 0 || i >= size(0)) fail("index: ", i, " outside ", shape_);
    return View(data_ + i * row_stride(), shape_.drop_front());
  }

  template <class... I>
  requires(B::host_accessible && sizeof...(I) >= 1 && (std::is_integral_v<I> && ...)) T& operator()(I... idx) const {
    const std::int64_t ix[] = {static_cast<std::int64_t>(idx)...};
    std::int64_t off = 0;
    for (int d = 0; d < static_cast<int>(sizeof...(I)); ++d) off = off * shape_[d] + ix[d];
    return data_[off];
  }
  std::span<T> span() const requires(B::host_accessible) { return {data_, static_cast<std::size_t>(numel())}; }

 private:
  std::int64_t row_stride() const { return rank() ? numel() / (size(0) ? size(0) : 1) : 0; }
  T* data_ = nullptr;
  Shape shape_{};
};

template <class T, Backend B>
class Tensor {
  static_assert(std::is_trivially_copyable_v<T>, "Tensor holds trivially copyable elements");

 public:
  using value_type = T;
  using backend = B;

  Tensor() = default;
  // Zero-filled.
  explicit Tensor(Shape shape) : shape_(shape), data_(allocate(shape.numel())) { B::fill_zero(data_.get(), bytes()); }
  // From host values (any backend: copied over).
  Tensor(Shape shape, std::span<const T> values) : Tensor(shape) {
    if (static_cast<std::int64_t>(values.size()) != shape.numel())
      fail("Tensor: ", values.size(), " values given for shape ", shape, " (", shape.numel(), " elements)");
    B::copy_from_host(data_.get(), values.data(), bytes());
  }
  Tensor(Shape shape, std::initializer_list<T> values)
      : Tensor(shape, std::span<const T>(values.begin(), values.size())) {}

  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;
  Tensor(const Tensor&) = delete;  // copies are explicit: clone()
  Tensor& operator=(const Tensor&) = delete;

  Tensor clone() const {
    if (!data_) {  // no storage (default or zero-sized): same shape, still no storage
      Tensor t;
      t.shape_ = shape_;
      return t;
    }
    Tensor t(shape_);
    B::copy(t.data(), data(), bytes());
    return t;
  }

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  std::int64_t size(int dim) const { return shape_[dim]; }
  // A default-constructed tensor owns no storage and has no elements.
  std::int64_t numel() const { return data_ ? shape_.numel() : 0; }
  std::size_t bytes() const { return static_cast<std::size_t>(numel()) * sizeof(T); }

  // Views of a named tensor only: a temporary's view would dangle once the full expression ends
  // (model.forward(make_ids()) followed by backward), so taking one does not compile.
  View<T, B> view() & { return {data(), shape_}; }
  View<const T, B> view() const& { return {data(), shape_}; }
  View<const T, B> cview() const& { return {data(), shape_}; }
  operator View<T, B>() & { return view(); }
  operator View<const T, B>() const& { return cview(); }
  View<const T, B> view() const&& = delete;
  View<const T, B> cview() const&& = delete;
  operator View<const T, B>() const&& = delete;

  template <class... I>
  requires(B::host_accessible && sizeof...(I) >= 1) T& operator()(I... idx) { return view()(idx...); }
  template <class... I>
  requires(B::host_accessible && sizeof...(I) >= 1) const T& operator()(I... idx) const { return cview()(idx...); }

  // A copy of the elements in host memory, whatever the backend.
  std::vector<T> to_vector() const {
    std::vector<T> v(static_cast<std::size_t>(numel()));
    B::copy_to_host(v.data(), data(), bytes());
    return v;
  }

 private:
  struct Free {
    void operator()(T* p) const { B::deallocate(p); }
  };
  static T* allocate(std::int64_t n) {
    const std::size_t bytes = static_cast<std::size_t>(n) * sizeof(T);
    try {
      return static_cast<T*>(B::allocate(bytes));
    } catch (const std::bad_alloc&) {
      fail("out of ", B::name, " memory: cannot allocate ", readable_bytes(double(bytes)), " (", n, " elements)");
    }
  }

  Shape shape_{};
  std::unique_ptr<T, Free> data_;
};

// Explicit move between backends: a new tensor in Dst's memory holding src's values.
template <Backend Dst, class T, Backend Src>
Tensor<T, Dst> to(const Tensor<T, Src>& src) {
  Tensor<T, Dst> dst(src.shape());
  if constexpr (std::is_same_v<Dst, Src>) {
    Dst::copy(dst.data(), src.data(), src.bytes());
  } else if constexpr (Src::host_accessible) {
    Dst::copy_from_host(dst.data(), src.data(), src.bytes());
  } else if constexpr (Dst::host_accessible) {
    Src::copy_to_host(dst.data(), src.data(), src.bytes());
  } else {
    const std::vector<T> host = src.to_vector();
    Dst::copy_from_host(dst.data(), host.data(), src.bytes());
  }
  return dst;
}

// Read-only view of the same type whatever was passed; used to keep kernel parameters from
// taking part in template argument deduction (T is deduced from the outputs).
template <class T, class B>
using In = std::type_identity_t<View<const T, B>>;

}  // namespace rlhf
