#pragma once
// JSONL in and out. Every data file of the project (SFT examples, preference pairs, rankings,
// prompts) is read through read_jsonl, so a bad row fails the same way whatever reads it: an
// rlhf::error naming the file, the line and the field:
//   data/sft.jsonl:12: missing field "completion"
//   data/sft.jsonl:3: field "prompt" must be a string
//   data/sft.jsonl:7: unknown field "complete" (allowed: "prompt", "completion")
//   data/sft.jsonl:9: malformed JSON: parse error at column 12: ...
// Unknown fields are errors rather than ignored, so that a typo ("complete") cannot silently
// train on nothing; fields a format allows but does not need are declared optional.
// Blank lines are skipped; line numbers count every physical line from 1.
//
// Complete outputs (generated samples, scores, log-probs) are written with JsonlWriter: whole
// lines into a temporary file that commit() renames over the target (files::AtomicFile), so an
// error or a crash never leaves a half-written file.
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <istream>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlhf/core/error.hpp"
#include "rlhf/files/atomic_file.hpp"
#include "rlhf/files/json_text.hpp"

namespace rlhf::data {

// The fields a record must have and the ones it may have; any other field is an error.
struct JsonlFields {
  std::vector<std::string_view> required;
  std::vector<std::string_view> optional = {};
};

// One non-blank line of a JSONL file: a JSON object and where it came from, with typed
// accessors that fail naming file, line and field. Valid while read_jsonl's callback runs.
class JsonlRecord {
 public:
  JsonlRecord(std::string_view file, std::int64_t line, const nlohmann::json& object)
      : file_(file), line_(line), object_(&object) {}

  std::string_view file() const { return file_; }
  std::int64_t line() const { return line_; }
  const nlohmann::json& json() const { return *object_; }

  // Throws rlhf::error "FILE:LINE: <parts>", for checks the caller makes itself (a ranking of
  // the wrong length, a rank out of range, ...).
  template <class... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    rlhf::fail(file_, ':', line_, ": ", parts...);
  }

  // Unknown fields are reported first: a typo is named directly ("complete"), not as the
  // missing field it was meant to be.
  void expect_fields(const JsonlFields& fields) const {
    const auto listed = [](const std::vector<std::string_view>& names, std::string_view key) {
      for (const std::string_view n : names)
        if (n == key) return true;
      return false;
    };
    for (const auto& [key, value] : object_->items()) {
      if (listed(fields.required, key) || listed(fields.optional, key)) continue;
      std::string allowed;
      for (const auto* names : {&fields.required, &fields.optional})
        for (const std::string_view n : *names) allowed += (allowed.empty() ? "\"" : ", \"") + std::string(n) + "\"";
      fail("unknown field \"", key, "\" (allowed: ", allowed, ")");
    }
    for (const std::string_view n : fields.required)
      if (!object_->contains(n)) fail("missing field \"", n, "\"");
  }

  // Present and not null (null is how exported tables write an absent optional column).
  bool has(std::string_view field) const {
    const auto it = object_->find(field);
    return it != object_->end() && !it->is_null();
  }

  const std::string& string(std::string_view field) const {
    const nlohmann::json& v = at(field);
    if (!v.is_string()) fail("field \"", field, "\" must be a string");
    return v.get_ref<const std::string&>();
  }
  double number(std::string_view field) const {
    const nlohmann::json& v = at(field);
    if (!v.is_number()) fail("field \"", field, "\" must be a number");
    return v.get<double>();
  }
  std::int64_t integer(std::string_view field) const {
    const auto value = as_integer(at(field));
    if (!value.first) fail("field \"", field, "\" must be an integer");
    return value.second;
  }
  std::vector<std::string> strings(std::string_view field) const {
    const nlohmann::json& v = at(field);
    std::vector<std::string> out;
    if (v.is_array()) {
      for (const nlohmann::json& e : v) {
        if (!e.is_string()) break;
        out.push_back(e.get<std::string>());
      }
    }
    if (!v.is_array() || out.size() != v.size()) fail("field \"", field, "\" must be an array of strings");
    return out;
  }
  std::vector<std::int64_t> integers(std::string_view field) const {
    const nlohmann::json& v = at(field);
    std::vector<std::int64_t> out;
    if (v.is_array()) {
      for (const nlohmann::json& e : v) {
        const auto value = as_integer(e);
        if (!value.first) break;
        out.push_back(value.second);
      }
    }
    if (!v.is_array() || out.size() != v.size()) fail("field \"", field, "\" must be an array of integers");
    return out;
  }

 private:
  const nlohmann::json& at(std::string_view field) const {
    const auto it = object_->find(field);
    if (it == object_->end()) fail("missing field \"", field, "\"");
    return *it;
  }
  // Integers only (2.0 is a float in JSON's eyes and in ours), within int64.
  static std::pair<bool, std::int64_t> as_integer(const nlohmann::json& v) {
    if (v.is_number_unsigned()) {
      const auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return {false, 0};
      return {true, static_cast<std::int64_t>(u)};
    }
    if (v.is_number_integer()) return {true, v.get<std::int64_t>()};
    return {false, 0};
  }

  std::string_view file_;
  std::int64_t line_;
  const nlohmann::json* object_;
};

namespace detail {

inline bool is_blank(std::string_view line) { return line.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos; }

}  // namespace detail

// Calls on_record(const JsonlRecord&) for every non-blank line of in, in order; name is the file
// name the errors give. Each line must hold one JSON object.
template <class OnRecord>
void read_jsonl(std::istream& in, std::string_view name, OnRecord&& on_record) {
  std::string line;
  nlohmann::json object;
  for (std::int64_t number = 1; std::getline(in, line); ++number) {
    if (detail::is_blank(line)) continue;
    object = files::parse_json(line, std::string(name) + ':' + std::to_string(number), "malformed JSON",
                               /*single_line=*/true);
    const JsonlRecord record(name, number, object);
    if (!object.is_object()) record.fail("expected a JSON object, got ", object.type_name());
    on_record(record);
  }
  if (in.bad()) rlhf::fail("cannot read ", name);
}

template <class OnRecord>
void read_jsonl(const std::filesystem::path& file, OnRecord&& on_record) {
  const std::string name = file.string();
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) rlhf::fail("cannot open ", name, ": Is a directory");
  std::ifstream in(file, std::ios::binary);
  if (!in) rlhf::fail("cannot open ", name, ": ", std::strerror(errno));
  read_jsonl(in, name, std::forward<OnRecord>(on_record));
}

// As above, with every record checked against fields before on_record sees it.
template <class OnRecord>
void read_jsonl(const std::filesystem::path& file, const JsonlFields& fields, OnRecord&& on_record) {
  read_jsonl(file, [&](const JsonlRecord& record) {
    record.expect_fields(fields);
    on_record(record);
  });
}

// Writes a complete JSONL output: one compact object per line into a temporary file beside the
// target; commit() makes it appear under the target name at once. Without commit() (an error
// on the way) the target is left as it was. Strings that are not valid UTF-8 (text decoded
// from sampled tokens can be) are written with U+FFFD in place of the bad bytes, unless asked
// to throw.
class JsonlWriter {
 public:
  explicit JsonlWriter(std::filesystem::path target,
                       nlohmann::json::error_handler_t invalid_utf8 = nlohmann::json::error_handler_t::replace)
      : file_(std::move(target)), invalid_utf8_(invalid_utf8) {}

  void write(const nlohmann::json& record) { write_record(record); }
  void write_ordered(const nlohmann::ordered_json& record) { write_record(record); }  // keys in the order given

 private:
  template <class Json>
  void write_record(const Json& record) {
    try {
      buffer_ += record.dump(-1, ' ', false, invalid_utf8_);
    } catch (const nlohmann::json::exception& e) {
      rlhf::fail("cannot write ", file_.target().string(), ": record ", lines_ + 1, ": ", files::json_error_message(e));
    }
    buffer_ += '\n';
    ++lines_;
    if (buffer_.size() >= flush_bytes) flush();
  }

 public:
  void commit() {
    flush();
    file_.commit();
  }

  std::int64_t lines() const { return lines_; }
  const std::filesystem::path& target() const { return file_.target(); }

 private:
  static constexpr std::size_t flush_bytes = std::size_t{1} << 20;
  void flush() {
    file_.write(buffer_);
    buffer_.clear();
  }

  files::AtomicFile file_;
  nlohmann::json::error_handler_t invalid_utf8_;
  std::string buffer_;
  std::int64_t lines_ = 0;
};

}  // namespace rlhf::data
