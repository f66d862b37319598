#pragma once
// Shape checks at op boundaries. They stay on in Release: a wrong shape must be an error that
// names the op and both shapes, never a silent out-of-bounds read.
#include <string_view>

#include "rlhf/core/error.hpp"
#include "rlhf/core/shape.hpp"

namespace rlhf::check {

template <class V>
void shape(std::string_view op, std::string_view name, const V& v, const Shape& want) {
  if (!(v.shape() == want)) fail(op, ": ", name, " has shape ", v.shape(), ", expected ", want);
}

template <class V>
void rank(std::string_view op, std::string_view name, const V& v, int want) {
  if (v.rank() != want) fail(op, ": ", name, " has shape ", v.shape(), ", expected rank ", want);
}

// Two tensors that must have the same shape.
template <class V, class W>
void same(std::string_view op, std::string_view a_name, const V& a, std::string_view b_name, const W& b) {
  if (!(a.shape() == b.shape()))
    fail(op, ": ", a_name, " ", a.shape(), " and ", b_name, " ", b.shape(), " must have the same shape");
}

// An optional argument, when present, must have the given shape.
template <class V>
void optional_shape(std::string_view op, std::string_view name, const V& v, const Shape& want) {
  if (v.present()) shape(op, name, v, want);
}

inline void nonempty(std::string_view op, std::string_view what, std::int64_t n) {
  if (n <= 0) fail(op, ": empty ", what, " (", n, ")");
}

}  // namespace rlhf::check
