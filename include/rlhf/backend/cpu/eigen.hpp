#pragma once
// Eigen maps over rlhf views. With RLHF_USE_BLAS the build defines EIGEN_USE_BLAS, and Eigen
// sends these products to the BLAS (OpenBLAS sgemm/dgemm) with beta = 1 for `+=`.
#include <Eigen/Core>

#include "rlhf/backend/cpu/tag.hpp"
#include "rlhf/core/tensor.hpp"

namespace rlhf::cpu_detail {

template <class T>
using RowMajor = Eigen::Matrix<std::remove_const_t<T>, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using Vec = Eigen::Matrix<std::remove_const_t<T>, Eigen::Dynamic, 1>;

// A rows x cols row-major matrix starting at p whose rows are `stride` elements apart.
template <class T>
using MatMap = Eigen::Map<std::conditional_t<std::is_const_v<T>, const RowMajor<T>, RowMajor<T>>, Eigen::Unaligned,
                          Eigen::OuterStride<>>;
template <class T>
using VecMap = Eigen::Map<std::conditional_t<std::is_const_v<T>, const Vec<T>, Vec<T>>>;

// A contiguous run of values as an array, for coefficient-wise math (vectorised exp, tanh, sums).
template <class T>
using RowArray = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using MutRowArray = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;

template <class T>
MatMap<T> mat(T* p, std::int64_t rows, std::int64_t cols, std::int64_t stride) {
  return MatMap<T>(p, rows, cols, Eigen::OuterStride<>(stride));
}
// A rank-2 view as a matrix; higher ranks are flattened to [rows, last dim].
template <class T>
MatMap<T> mat(View<T, cpu> v) {
  const std::int64_t cols = v.rank() ? v.size(v.rank() - 1) : 1;
  const std::int64_t rows = cols ? v.numel() / cols : 0;
  return mat(v.data(), rows, cols, cols);
}
template <class T>
VecMap<T> vec(View<T, cpu> v) {
  return VecMap<T>(v.data(), v.numel());
}

}  // namespace rlhf::cpu_detail
