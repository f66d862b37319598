#pragma once
// rlhf::error: the one exception type the library throws. Messages say what was expected and
// what came: the op and both shapes for tensors; file, line and field for data.
#include <sstream>
#include <stdexcept>
#include <string>

namespace rlhf {

struct error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Builds the message from any streamable parts and throws rlhf::error.
template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw error(os.str());
}

}  // namespace rlhf
