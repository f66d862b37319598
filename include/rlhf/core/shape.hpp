#pragma once
// Shape: the dimensions of a row-major tensor of rank 0..4.
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "rlhf/core/error.hpp"

namespace rlhf {

struct Shape {
  static constexpr int max_rank = 4;

  Shape() = default;
  Shape(std::initializer_list<std::int64_t> dims) {
    if (dims.size() > max_rank) fail("Shape: rank ", dims.size(), " exceeds the maximum of ", max_rank);
    for (std::int64_t d : dims) {
      if (d < 0) fail("Shape: negative dimension ", d);
      dims_[rank_++] = d;
    }
  }

  int rank() const { return rank_; }
  std::int64_t operator[](int i) const { return dims_[i]; }
  std::int64_t numel() const {
    std::int64_t n = 1;
    for (int i = 0; i < rank_; ++i) n *= dims_[i];
    return n;
  }
  // The shape without its first dimension (the shape of one row of a batch).
  Shape drop_front() const {
    Shape s;
    for (int i = 1; i < rank_; ++i) s.dims_[s.rank_++] = dims_[i];
    return s;
  }
  Shape with_front(std::int64_t n) const {
    Shape s = *this;
    s.dims_[0] = n;
    return s;
  }

  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.rank_ != b.rank_) return false;
    for (int i = 0; i < a.rank_; ++i)
      if (a.dims_[i] != b.dims_[i]) return false;
    return true;
  }

  std::string str() const {
    std::string s = "[";
    for (int i = 0; i < rank_; ++i) s += (i ? ", " : "") + std::to_string(dims_[i]);
    return s + "]";
  }
  friend std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.str(); }

 private:
  std::array<std::int64_t, max_rank> dims_{};
  int rank_ = 0;
};

}  // namespace rlhf
