// The global operator new and delete of the test binary, counting allocations for
// allocation_counter.hpp. The replacements pair malloc with free; GCC's -Wmismatched-new-delete
// cannot see that.
#include "allocation_counter.hpp"

#include <cstdlib>
#include <new>

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
void count() {
  if (allocation_counter::counting.load(std::memory_order_relaxed))
    allocation_counter::allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

void* operator new(std::size_t n) {
  count();
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
// The nothrow forms too (std::stable_sort's temporary buffer uses them): left to the runtime
// (ASan's, say), they would allocate with its allocator and free with ours.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  count();
  return std::malloc(n ? n : 1);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
