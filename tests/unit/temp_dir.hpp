#pragma once
// A fresh directory under the system's temporary directory, removed with everything in it when
// the test ends.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace testing {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "rlhf-test-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::filesystem::path operator/(const std::string& name) const { return path / name; }
  // Writes content to name and returns the path.
  std::filesystem::path write(const std::string& name, std::string_view content) const {
    const std::filesystem::path p = path / name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
};

}  // namespace testing
