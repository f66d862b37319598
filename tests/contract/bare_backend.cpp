// Must not compile: a backend with memory and no kernels. The backend_contract test builds it and
// expects check_model_backend's messages naming each missing kernel family.
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "rlhf/rlhf.hpp"

struct bare {
  static constexpr std::string_view name = "bare";
  static constexpr bool host_accessible = true;
  static void* allocate(std::size_t n) { return std::malloc(n); }
  static void deallocate(void* p) { std::free(p); }
  static void copy(void* d, const void* s, std::size_t n) { std::memcpy(d, s, n); }
  static void copy_from_host(void* d, const void* s, std::size_t n) { std::memcpy(d, s, n); }
  static void copy_to_host(void* d, const void* s, std::size_t n) { std::memcpy(d, s, n); }
  static void fill_zero(void* d, std::size_t n) { std::memset(d, 0, n); }
};
static_assert(rlhf::Backend<bare>);

int main() { rlhf::nn::GPT<float, bare> model(rlhf::nn::GPTConfig{}); }
