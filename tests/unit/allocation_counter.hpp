// Counts heap allocations made through the global operator new while counting is switched on
// (allocation_counter.cpp replaces operator new and delete for the whole test binary).
#pragma once

#include <atomic>

namespace allocation_counter {
inline std::atomic<bool> counting{false};
inline std::atomic<long> allocations{0};
}  // namespace allocation_counter
