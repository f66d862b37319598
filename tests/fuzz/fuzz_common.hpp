#pragma once
// Shared by the fuzz targets: what counts as a finding, and a per-process input file.
//
// The library's contract for bad input is one exception type, rlhf::error (core/error.hpp).
// expect_only_rlhf_errors runs a piece of the harness and lets rlhf::error pass; any other
// exception (nlohmann::json::type_error, std::out_of_range, std::bad_alloc, ...) is reported
// with its type and message and abort()s, which libFuzzer records as a crash.
#include <cxxabi.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>

#include "rlhf/core/error.hpp"

namespace rlhf_fuzz {

inline std::string type_name(const std::type_info& t) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(t.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && name ? name.get() : t.name();
}

// A harness's own invariant failed (e.g. decode(encode(s)) != s): say which and abort.
[[noreturn]] inline void finding(std::string_view what) {
  std::fprintf(stderr, "\n==FUZZ FINDING== %.*s\n", static_cast<int>(what.size()), what.data());
  std::fflush(stderr);
  std::abort();
}

// Runs f; returns true if it finished, false if it threw rlhf::error (bad input, expected).
template <class F>
bool expect_only_rlhf_errors(const char* step, F&& f) {
  try {
    f();
    return true;
  } catch (const rlhf::error& e) {
    // The expected outcome of bad input. Touch the message: it must be a valid string.
    volatile std::size_t n = std::string_view(e.what()).size();
    (void)n;
    return false;
  } catch (const std::exception& e) {
    finding(std::string(step) + ": unexpected exception " + type_name(typeid(e)) + ": " + e.what());
  } catch (...) {
    finding(std::string(step) + ": unexpected exception of a type not derived from std::exception");
  }
}

// Runs f, which must not throw at all (e.g. reading back what the library wrote itself).
template <class F>
void expect_success(const char* step, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    finding(std::string(step) + ": exception " + type_name(typeid(e)) + ": " + e.what());
  } catch (...) {
    finding(std::string(step) + ": exception of a type not derived from std::exception");
  }
}

// The readers under test open files by path: each input is written to one file per process,
// created on first use in /dev/shm (memory, no disk I/O) and rewritten for every input.
class InputFile {
 public:
  explicit InputFile(std::string_view stem) {
    std::error_code ec;
    std::filesystem::path dir = "/dev/shm";
    if (!std::filesystem::is_directory(dir, ec)) dir = std::filesystem::temp_directory_path();
    path_ = dir / ("rlhf_" + std::string(stem) + "." + std::to_string(::getpid()));
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }

  const std::filesystem::path& write(const std::uint8_t* data, std::size_t size) {
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    if (!f) finding("harness: cannot create the input file " + path_.string());
    const bool ok = (size == 0 || std::fwrite(data, 1, size, f) == size);
    if (std::fclose(f) != 0 || !ok) finding("harness: cannot write the input file " + path_.string());
    return path_;
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace rlhf_fuzz
