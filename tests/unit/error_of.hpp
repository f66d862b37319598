#pragma once
// The message of the rlhf::error that f() throws, or "(no error)": for checks on what an error says.
#include <string>

#include "rlhf/core/error.hpp"

namespace testing {

template <class F>
std::string error_of(const F& f) {
  try {
    f();
  } catch (const rlhf::error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace testing
