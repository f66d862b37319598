#pragma once
// JSON text -> nlohmann::json for every file the library reads (configs, trainer state, JSONL
// records, tokenizer vocabularies). Two things nlohmann does not do by itself:
//   - a key that appears twice in one object is an error. nlohmann keeps the last one, so
//     {"lr": 1e-4, ..., "lr": 1} would silently train at the second value;
//   - errors name the file (or file:line) and drop nlohmann's "[json.exception.parse_error.101]"
//     prefix: "run.json: not valid JSON: syntax error while parsing value ... at line 3, column 7".
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlhf/core/error.hpp"

namespace rlhf::files {

// nlohmann's message without its exception id. A JSONL line is parsed on its own, so for it
// (single_line) "at line 1, column 12" becomes "at column 12": the caller already names the line.
inline std::string json_error_message(const nlohmann::json::exception& e, bool single_line = false) {
  std::string_view msg = e.what();
  if (msg.starts_with("[json.exception.")) {
    const auto end = msg.find("] ");
    if (end != std::string_view::npos) msg.remove_prefix(end + 2);
  }
  std::string out(msg);
  constexpr std::string_view line_one = "at line 1, column ";
  if (single_line)
    if (const auto at = out.find(line_one); at != std::string::npos) out.replace(at, line_one.size(), "at column ");
  return out;
}

namespace detail {

// Follows the parser's events and remembers the first key seen twice in one object, with its
// dotted path ("ppo.kl_coef"; array elements show as "[]").
class DuplicateKeyFinder {
 public:
  template <class Json>
  bool operator()(int /*depth*/, nlohmann::detail::parse_event_t event, Json& parsed) {
    using Event = nlohmann::detail::parse_event_t;
    switch (event) {
      case Event::object_start: open_.push_back({true, {}, {}}); break;
      case Event::array_start: open_.push_back({false, {}, {}}); break;
      case Event::object_end:
      case Event::array_end:
        if (!open_.empty()) open_.pop_back();
        break;
      case Event::key: {
        if (open_.empty()) break;
        Open& object = open_.back();
        object.key = parsed.template get<std::string>();
        if (!object.keys.insert(object.key).second && duplicate_.empty()) duplicate_ = path();
        break;
      }
      case Event::value: break;
    }
    return true;  // keep every value: this only watches
  }

  const std::string& duplicate() const { return duplicate_; }

 private:
  struct Open {
    bool is_object;
    std::set<std::string> keys;
    std::string key;  // the key whose value is being read
  };
  std::string path() const {
    std::string p;
    for (const Open& o : open_) {
      if (!p.empty() && o.is_object) p += '.';
      p += o.is_object ? o.key : std::string("[]");
    }
    return p;
  }

  std::vector<Open> open_;
  std::string duplicate_;
};

}  // namespace detail

// Parses text; on invalid JSON throws rlhf::error "<where>: <invalid>: <reason>", and on a
// duplicated key "<where>: key \"a.b\" appears twice". where is a file name or "file:line".
template <class Json = nlohmann::json>
Json parse_json(std::string_view text, std::string_view where, std::string_view invalid = "not valid JSON",
                bool single_line = false) {
  detail::DuplicateKeyFinder finder;
  Json j;
  try {
    j = Json::parse(text.begin(), text.end(), std::ref(finder));
  } catch (const nlohmann::json::exception& e) {
    fail(where, ": ", invalid, ": ", json_error_message(e, single_line));
  }
  if (!finder.duplicate().empty()) fail(where, ": key \"", finder.duplicate(), "\" appears twice");
  return j;
}

// A whole file, parsed as above; a missing or unreadable file is an error naming it.
template <class Json = nlohmann::json>
Json read_json_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(file.string(), ": cannot open the file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) fail(file.string(), ": cannot read the file");
  return parse_json<Json>(text.str(), file.string());
}

// Where two JSON values first differ, for an error message: 'key "a.b" was 1, is 2', or a key
// that is new or gone. Objects are compared key by key in the order of `a`.
inline std::string first_difference(const nlohmann::ordered_json& a, const nlohmann::ordered_json& b,
                                    const std::string& path = "") {
  if (a.is_object() && b.is_object()) {
    for (const auto& [k, v] : a.items()) {
      const std::string p = path.empty() ? k : path + "." + k;
      if (!b.contains(k)) return "key \"" + p + "\" is new";
      if (v != b[k]) return first_difference(v, b[k], p);
    }
    for (const auto& [k, v] : b.items())
      if (!a.contains(k)) return "key \"" + (path.empty() ? k : path + "." + k) + "\" is gone";
  }
  return "key \"" + path + "\" was " + b.dump() + ", is " + a.dump();
}

}  // namespace rlhf::files
