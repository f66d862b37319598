#pragma once
// The backend is a type. A backend tag (rlhf::cpu, later rlhf::cuda) says where memory lives
// and how raw bytes are allocated and copied; kernels are free functions overloaded on the tag
// (layernorm_forward(cpu const&, ...)) and found by argument-dependent lookup, so the models
// never name a backend and a new backend only adds overloads.
#include <concepts>
#include <cstddef>
#include <string_view>

namespace rlhf {

template <class B>
concept Backend = requires(void* dst, const void* src, std::size_t bytes) {
  { B::name } -> std::convertible_to<std::string_view>;
  { B::host_accessible } -> std::convertible_to<bool>;  // may the CPU dereference its pointers?
  { B::allocate(bytes) } -> std::same_as<void*>;
  B::deallocate(dst);
  B::copy(dst, src, bytes);            // within this backend
  B::copy_from_host(dst, src, bytes);  // host -> this backend
  B::copy_to_host(dst, src, bytes);    // this backend -> host
  B::fill_zero(dst, bytes);
};

template <class B>
inline constexpr bool is_host_backend = B::host_accessible;

}  // namespace rlhf
