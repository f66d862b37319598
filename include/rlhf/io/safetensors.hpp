#pragma once
// The safetensors format (Hugging Face's checkpoint format):
//
//   8 bytes   N, the header length, unsigned little-endian
//   N bytes   a JSON object: {"<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]},
//                             ..., "__metadata__": {"<key>": "<string>", ...}}
//   the rest  the data buffer; tensor <name> is bytes [b, e) of it, row-major, little-endian
//
// SafetensorsReader checks the header the way the reference implementation does before any
// tensor is read: a header length within bounds, a JSON object, known dtypes, shape × dtype size
// == e − b for every tensor, and ranges that tile the buffer exactly (no overlap, no gap, nothing
// left over). A bad file is an rlhf::error naming the file and the tensor. Tensors are read one
// at a time (a GPT-2 file is 0.5 GB), converted from F16/BF16/F64 to the caller's type.
// write_safetensors writes any dtype from host memory, in the order given, atomically.
#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlhf/core/error.hpp"
#include "rlhf/files/atomic_file.hpp"
#include "rlhf/io/half_float.hpp"

namespace rlhf::io {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian; so must the host be");

enum class Dtype { BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 };

struct DtypeInfo {
  Dtype dtype;
  std::string_view name;
  std::size_t bytes;
};
inline constexpr std::array<DtypeInfo, 15> dtype_table{{{Dtype::BOOL, "BOOL", 1},
                                                        {Dtype::U8, "U8", 1},
                                                        {Dtype::I8, "I8", 1},
                                                        {Dtype::F8_E5M2, "F8_E5M2", 1},
                                                        {Dtype::F8_E4M3, "F8_E4M3", 1},
                                                        {Dtype::I16, "I16", 2},
                                                        {Dtype::U16, "U16", 2},
                                                        {Dtype::F16, "F16", 2},
                                                        {Dtype::BF16, "BF16", 2},
                                                        {Dtype::I32, "I32", 4},
                                                        {Dtype::U32, "U32", 4},
                                                        {Dtype::F32, "F32", 4},
                                                        {Dtype::F64, "F64", 8},
                                                        {Dtype::I64, "I64", 8},
                                                        {Dtype::U64, "U64", 8}}};

inline const DtypeInfo& info(Dtype d) { return dtype_table[static_cast<std::size_t>(d)]; }
inline std::string_view to_string(Dtype d) { return info(d).name; }
inline std::size_t dtype_bytes(Dtype d) { return info(d).bytes; }
inline std::optional<Dtype> parse_dtype(std::string_view name) {
  for (const DtypeInfo& i : dtype_table)
    if (i.name == name) return i.dtype;
  return std::nullopt;
}
inline bool is_floating(Dtype d) { return d == Dtype::F16 || d == Dtype::BF16 || d == Dtype::F32 || d == Dtype::F64; }

// The dtype that stores a C++ element type as it is in memory.
template <class T>
constexpr Dtype dtype_of() {
  if constexpr (std::is_same_v<T, float>) return Dtype::F32;
  else if constexpr (std::is_same_v<T, double>) return Dtype::F64;
  else if constexpr (std::is_same_v<T, std::int32_t>) return Dtype::I32;
  else if constexpr (std::is_same_v<T, std::int64_t>) return Dtype::I64;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return Dtype::U8;
  else static_assert(sizeof(T) == 0, "no safetensors dtype for this element type");
}

inline std::string shape_string(std::span<const std::int64_t> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// One tensor of a file: where its bytes are within the data buffer.
struct TensorEntry {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0;  // data_offsets, relative to the start of the data buffer

  std::int64_t numel() const {
    std::int64_t n = 1;
    for (std::int64_t d : shape) n *= d;
    return n;
  }
  std::uint64_t bytes() const { return end - begin; }
};

class SafetensorsReader {
 public:
  // The reference implementation's bound: a larger header is an attack or a corrupt length.
  static constexpr std::uint64_t max_header_bytes = 100'000'000;

  explicit SafetensorsReader(std::filesystem::path file) : path_(std::move(file)) {
    in_.open(path_, std::ios::binary);
    if (!in_) bad("cannot open the file");
    std::error_code ec;
    const std::uint64_t file_bytes = std::filesystem::file_size(path_, ec);
    if (ec) bad("cannot read its size: ", ec.message());
    if (file_bytes < 8) bad("file of ", file_bytes, " bytes is too short for the 8-byte header length");

    std::array<unsigned char, 8> len{};
    read_exactly(0, len.data(), len.size());
    std::uint64_t header_bytes = 0;
    for (int i = 7; i >= 0; --i) header_bytes = (header_bytes << 8) | len[static_cast<std::size_t>(i)];
    if (header_bytes > max_header_bytes)
      bad("header length ", header_bytes, " exceeds the limit of ", max_header_bytes, " bytes");
    if (header_bytes > file_bytes - 8)
      bad("header length ", header_bytes, " runs past the end of the file (", file_bytes - 8,
          " bytes follow the length field)");
    data_start_ = 8 + header_bytes;
    data_bytes_ = file_bytes - data_start_;

    std::string header(header_bytes, '\0');
    read_exactly(8, header.data(), header.size());
    parse_header(header);
    check_layout();
  }

  const std::filesystem::path& path() const { return path_; }
  // Tensors in the order of their bytes in the file.
  const std::vector<TensorEntry>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const TensorEntry* find(std::string_view name) const {
    for (const TensorEntry& t : tensors_)
      if (t.name == name) return &t;
    return nullptr;
  }
  const TensorEntry& at(std::string_view name) const {
    if (const TensorEntry* t = find(name)) return *t;
    bad("no tensor named '", name, "'");
  }

  // The tensor's elements as T. Floating dtypes convert to a floating T (F16, BF16 widen
  // exactly; F64 → float rounds), integer dtypes to an integral T; other pairings are errors.
  template <class T>
  void read_into(const TensorEntry& t, std::span<T> out) {
    static_assert(std::is_arithmetic_v<T>);
    if (static_cast<std::int64_t>(out.size()) != t.numel())
      bad("tensor '", t.name, "' has ", t.numel(), " elements, the destination ", out.size());
    if (std::is_floating_point_v<T> != is_floating(t.dtype) || t.dtype == Dtype::F8_E5M2 || t.dtype == Dtype::F8_E4M3)
      bad("tensor '", t.name, "' has dtype ", to_string(t.dtype), ", which cannot be read as ",
          std::is_floating_point_v<T> ? "floating point" : "integers");
    if (dtype_of_or_none<T>() == t.dtype) {
      read_exactly(data_start_ + t.begin, out.data(), t.bytes());  // stored as T: no conversion
      return;
    }
    std::vector<unsigned char> raw(t.bytes());
    read_exactly(data_start_ + t.begin, raw.data(), raw.size());
    convert(t.dtype, raw.data(), out);
  }
  template <class T>
  std::vector<T> read(const TensorEntry& t) {
    std::vector<T> v(static_cast<std::size_t>(t.numel()));
    read_into(t, std::span<T>(v));
    return v;
  }
  template <class T>
  std::vector<T> read(std::string_view name) {
    return read<T>(at(name));
  }

 private:
  template <class... Parts>
  [[noreturn]] void bad(const Parts&... parts) const {
    fail("safetensors ", path_.string(), ": ", parts...);
  }

  template <class T>
  static constexpr std::optional<Dtype> dtype_of_or_none() {
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, std::int32_t> ||
                  std::is_same_v<T, std::int64_t> || std::is_same_v<T, std::uint8_t>)
      return dtype_of<T>();
    else return std::nullopt;
  }

  void read_exactly(std::uint64_t offset, void* dst, std::uint64_t bytes) {
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(static_cast<char*>(dst), static_cast<std::streamsize>(bytes));
    if (!in_ || static_cast<std::uint64_t>(in_.gcount()) != bytes)
      bad("cannot read ", bytes, " bytes at offset ", offset, " (was the file changed while it was read?)");
  }

  template <class Word>
  static Word load(const unsigned char* p) {
    Word w;
    std::memcpy(&w, p, sizeof(Word));
    return w;
  }

  template <class T>
  static void convert(Dtype dtype, const unsigned char* raw, std::span<T> out) {
    const std::size_t n = out.size();
    auto each = [&]<class Stored>(auto widen) {
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<T>(widen(load<Stored>(raw + i * sizeof(Stored))));
    };
    auto same = [](auto v) { return v; };
    switch (dtype) {
      case Dtype::F16: each.template operator()<std::uint16_t>(half_to_float); break;
      case Dtype::BF16: each.template operator()<std::uint16_t>(bfloat16_to_float); break;
      case Dtype::F32: each.template operator()<float>(same); break;
      case Dtype::F64: each.template operator()<double>(same); break;
      case Dtype::BOOL:
      case Dtype::U8: each.template operator()<std::uint8_t>(same); break;
      case Dtype::I8: each.template operator()<std::int8_t>(same); break;
      case Dtype::I16: each.template operator()<std::int16_t>(same); break;
      case Dtype::U16: each.template operator()<std::uint16_t>(same); break;
      case Dtype::I32: each.template operator()<std::int32_t>(same); break;
      case Dtype::U32: each.template operator()<std::uint32_t>(same); break;
      case Dtype::I64: each.template operator()<std::int64_t>(same); break;
      case Dtype::U64: each.template operator()<std::uint64_t>(same); break;
      case Dtype::F8_E5M2:
      case Dtype::F8_E4M3: break;  // rejected by read_into
    }
  }

  void parse_header(const std::string& header) {
    // The reference rejects a header that does not start with '{' (trailing spaces pad it).
    if (header.empty() || header.front() != '{')
      bad("header is not a JSON object (it starts with ",
          header.empty() ? std::string("nothing") : std::string{'\'', header.front(), '\''}, ")");
    // nlohmann keeps the last of duplicate keys; a duplicated tensor name must be an error.
    std::set<std::string> names;
    std::string duplicate;
    auto on_key = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
      if (event == nlohmann::json::parse_event_t::key && depth == 1 && !names.insert(parsed.get<std::string>()).second)
        duplicate = parsed.get<std::string>();
      return true;
    };
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(header, on_key);
    } catch (const nlohmann::json::exception& e) {
      bad("header is not valid JSON: ", e.what());
    }
    if (!j.is_object()) bad("header is not a JSON object");
    if (!duplicate.empty()) bad("tensor '", duplicate, "' appears twice in the header");

    for (auto& [name, value] : j.items()) {
      if (name == "__metadata__") {
        if (!value.is_object()) bad("__metadata__ must be an object of strings, got ", value.type_name());
        for (auto& [key, v] : value.items()) {
          if (!v.is_string()) bad("__metadata__ entry '", key, "' must be a string, got ", v.type_name());
          metadata_[key] = v.get<std::string>();
        }
        continue;
      }
      tensors_.push_back(parse_entry(name, value));
    }
  }

  TensorEntry parse_entry(const std::string& name, const nlohmann::json& v) const {
    auto where = [&] { return "tensor '" + name + "'"; };
    if (!v.is_object()) bad(where(), ": expected an object with dtype, shape and data_offsets, got ", v.type_name());
    for (const char* field : {"dtype", "shape", "data_offsets"})
      if (!v.contains(field)) bad(where(), ": missing field '", field, "'");
    TensorEntry t;
    t.name = name;
    const nlohmann::json& dtype = v.at("dtype");
    if (!dtype.is_string()) bad(where(), ": dtype must be a string, got ", dtype.type_name());
    const auto parsed = parse_dtype(dtype.get<std::string>());
    if (!parsed) bad(where(), ": unknown dtype '", dtype.get<std::string>(), "'");
    t.dtype = *parsed;

    auto unsigned_array = [&](const char* field) {
      const nlohmann::json& a = v.at(field);
      if (!a.is_array()) bad(where(), ": ", field, " must be an array of non-negative integers, got ", a.type_name());
      std::vector<std::uint64_t> out;
      for (const nlohmann::json& x : a) {
        if (!x.is_number_unsigned()) bad(where(), ": ", field, " must hold non-negative integers, got ", x.dump());
        out.push_back(x.get<std::uint64_t>());
      }
      return out;
    };
    const std::vector<std::uint64_t> offsets = unsigned_array("data_offsets");
    if (offsets.size() != 2) bad(where(), ": data_offsets must be [begin, end], got ", v.at("data_offsets").dump());
    t.begin = offsets[0];
    t.end = offsets[1];
    if (t.end < t.begin) bad(where(), ": data_offsets [", t.begin, ", ", t.end, "] end before they begin");

    // shape × dtype size must be the byte range; multiply with an overflow guard (a huge shape
    // in a small file is a corrupt header, not a reason to wrap around).
    std::uint64_t elements = 1;
    bool overflow = false;
    for (std::uint64_t d : unsigned_array("shape")) {
      if (d > static_cast<std::uint64_t>(INT64_MAX)) overflow = true;
      t.shape.push_back(static_cast<std::int64_t>(std::min<std::uint64_t>(d, INT64_MAX)));
      if (d != 0 && elements > UINT64_MAX / 16 / d) overflow = true;
      elements *= d;
    }
    const std::uint64_t need = elements * dtype_bytes(t.dtype);
    if (overflow || need != t.bytes())
      bad(where(), ": shape ", shape_string(t.shape), " of ", to_string(t.dtype), " needs ",
          overflow ? std::string("more than 2^60") : std::to_string(need), " bytes, but data_offsets [", t.begin, ", ",
          t.end, "] hold ", t.bytes());
    return t;
  }

  // The byte ranges must tile the data buffer: sorted by offset, each begins where the last ended.
  void check_layout() {
    std::sort(tensors_.begin(), tensors_.end(), [](const TensorEntry& a, const TensorEntry& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    std::uint64_t covered = 0;
    const TensorEntry* previous = nullptr;
    for (const TensorEntry& t : tensors_) {
      if (t.end > data_bytes_)
        bad("tensor '", t.name, "': data_offsets [", t.begin, ", ", t.end, "] run past the end of the data buffer (",
            data_bytes_, " bytes); is the file truncated?");
      if (t.begin < covered)
        bad("tensors '", previous->name, "' [", previous->begin, ", ", previous->end, ") and '", t.name, "' [", t.begin,
            ", ", t.end, ") overlap");
      if (t.begin > covered)
        bad("gap of ", t.begin - covered, " bytes in the data buffer before tensor '", t.name, "' [", t.begin, ", ",
            t.end, ")", previous ? " (after '" + previous->name + "')" : std::string(" (at its start)"));
      covered = t.end;
      previous = &t;
    }
    if (covered != data_bytes_)
      bad(data_bytes_ - covered, " bytes after the last tensor are not covered by any tensor (buffer of ", data_bytes_,
          " bytes, tensors end at ", covered, ")");
  }

  std::filesystem::path path_;
  std::ifstream in_;
  std::uint64_t data_start_ = 0, data_bytes_ = 0;
  std::vector<TensorEntry> tensors_;
  std::map<std::string, std::string> metadata_;
};

// A tensor to write: its elements in host memory, stored as dtype (little-endian, row-major).
struct TensorToWrite {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<std::int64_t> shape;
  const void* data = nullptr;

  template <class T>
  static TensorToWrite of(std::string name, std::vector<std::int64_t> shape, std::span<const T> values) {
    TensorToWrite t{std::move(name), dtype_of<T>(), std::move(shape), values.data()};
    if (static_cast<std::int64_t>(values.size()) != t.numel())
      fail("safetensors: tensor '", t.name, "' of shape ", shape_string(t.shape), " given ", values.size(), " values");
    return t;
  }
  std::int64_t numel() const {
    std::int64_t n = 1;
    for (std::int64_t d : shape) n *= d;
    return n;
  }
  std::uint64_t bytes() const { return static_cast<std::uint64_t>(numel()) * dtype_bytes(dtype); }
};

// PyTorch's tag; transformers' loader expects it.
inline const std::map<std::string, std::string> pytorch_metadata{{"format", "pt"}};

// Writes the file into `out` (not yet committed: the caller commits, possibly together with other
// files). Tensors are stored in the order given; the header is padded with spaces to a multiple
// of 8 bytes, as the reference writer does, so the data buffer stays aligned.
inline void write_safetensors(files::AtomicFile& out, std::span<const TensorToWrite> tensors,
                              const std::map<std::string, std::string>& metadata = pytorch_metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const TensorToWrite& t : tensors) {
    if (t.name == "__metadata__" || header.contains(t.name))
      fail("safetensors ", out.target().string(), ": tensor name '", t.name, "' is used twice or reserved");
    for (std::int64_t d : t.shape)
      if (d < 0) fail("safetensors ", out.target().string(), ": tensor '", t.name, "' has a negative dimension");
    if (t.bytes() > 0 && t.data == nullptr)
      fail("safetensors ", out.target().string(), ": tensor '", t.name, "' has no data");
    header[t.name] = {
        {"dtype", to_string(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes()}}};
    offset += t.bytes();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::array<unsigned char, 8> len{};
  for (std::size_t i = 0; i < 8; ++i)
    len[i] = static_cast<unsigned char>(static_cast<std::uint64_t>(text.size()) >> (8 * i));
  out.write(len.data(), len.size());
  out.write(text);
  for (const TensorToWrite& t : tensors) out.write(t.data, t.bytes());
}

// Writes and commits one file.
inline void write_safetensors(const std::filesystem::path& file, std::span<const TensorToWrite> tensors,
                              const std::map<std::string, std::string>& metadata = pytorch_metadata) {
  files::AtomicFile out(file);
  write_safetensors(out, tensors, metadata);
  out.commit();
}

}  // namespace rlhf::io
