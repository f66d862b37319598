#pragma once
// A digest of a file's bytes, to tell whether a resumed run reads the same inputs as the run it
// continues (train/run_directory.hpp): 64-bit FNV-1a, "fnv1a64:" and 16 hex digits. It detects
// changed files, not tampering; it is not a cryptographic hash.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "rlhf/core/error.hpp"

namespace rlhf::files {

namespace digest_detail {
inline constexpr std::uint64_t fnv_offset = 14695981039346656037ull, fnv_prime = 1099511628211ull;

inline std::uint64_t add_bytes(std::uint64_t h, const char* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(p[i])) * fnv_prime;
  return h;
}
inline std::uint64_t add_file(std::uint64_t h, const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail("cannot open ", file.string());
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    h = add_bytes(h, buf.data(), std::size_t(in.gcount()));
  }
  if (in.bad()) fail("cannot read ", file.string());
  return h;
}
inline std::string hex(std::uint64_t h) {
  char s[32];
  std::snprintf(s, sizeof s, "fnv1a64:%016llx", static_cast<unsigned long long>(h));
  return s;
}
}  // namespace digest_detail

// The digest of a file; of a directory, the digest of its files named in `names` that exist,
// each with its name (a model checkpoint: config.json, the weights, the tokenizer files).
inline std::string file_digest(const std::filesystem::path& path,
                               const std::vector<std::string>& names = {"config.json", "model.safetensors",
                                                                        "vocab.json", "merges.txt"}) {
  using namespace digest_detail;
  if (!std::filesystem::is_directory(path)) return hex(add_file(fnv_offset, path));
  std::uint64_t h = fnv_offset;
  for (const std::string& name : names) {
    const std::filesystem::path file = path / name;
    if (!std::filesystem::exists(file)) continue;
    h = add_bytes(h, name.data(), name.size() + 1);  // with its terminating NUL: names are delimited
    h = add_file(h, file);
  }
  return hex(h);
}

}  // namespace rlhf::files
