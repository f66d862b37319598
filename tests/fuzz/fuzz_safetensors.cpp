// libFuzzer target: rlhf::io::SafetensorsReader on arbitrary bytes. The input is the whole
// file; every tensor the header lists is read as float and, for the integer dtypes, as int64.
#include <cstdint>
#include <vector>

#include "fuzz_common.hpp"
#include "rlhf/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static rlhf_fuzz::InputFile file("fuzz_safetensors");
  const auto& path = file.write(data, size);
  rlhf_fuzz::expect_only_rlhf_errors("SafetensorsReader", [&] {
    rlhf::io::SafetensorsReader reader(path);
    for (const rlhf::io::TensorEntry& t : reader.tensors()) {
      if (t.end < t.begin || static_cast<std::uint64_t>(t.numel()) * rlhf::io::dtype_bytes(t.dtype) != t.bytes())
        rlhf_fuzz::finding("an accepted tensor's shape does not match its byte range");
      rlhf_fuzz::expect_only_rlhf_errors("read<float>", [&] {
        if (reader.read<float>(t).size() != static_cast<std::size_t>(t.numel()))
          rlhf_fuzz::finding("read<float> returned the wrong number of elements");
      });
      rlhf_fuzz::expect_only_rlhf_errors("read<int64_t>", [&] {
        if (reader.read<std::int64_t>(t).size() != static_cast<std::size_t>(t.numel()))
          rlhf_fuzz::finding("read<int64_t> returned the wrong number of elements");
      });
      if (reader.find(t.name) == nullptr) rlhf_fuzz::finding("find() misses a listed tensor");
    }
    for (const auto& [key, value] : reader.metadata()) (void)(key.size() + value.size());
  });
  return 0;
}
