#pragma once
// Config structs <-> JSON objects, from one list of fields per struct. A struct's fields are
// listed once, in a function `visit(f, config)` that calls
//   f("key", config.member);                       a number, integer, boolean or string
//   f.section("name", [&](auto& g) { visit(g, config.part); });   a nested object
// ConfigReader runs that list over a parsed JSON object: it assigns the keys present (absent ones
// keep their defaults), checks each value's type, and fails on a key the list does not know, so a
// typo ("kl_cof") is an error instead of a silent default. ConfigWriter runs the same list to
// write every field back, defaults included. Errors name the file and the key's path
// ("run.json: key \"ppo.kl_coef\" must be a number, got a string"). ConfigKeyNames runs it to
// record each field's dotted key, so that validate() names fields as the file spells them.
#include <concepts>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "rlhf/core/error.hpp"
#include "rlhf/core/field_names.hpp"

namespace rlhf::io {

// A type with a string form in config files: specialise with parse (string -> value) and name.
template <class E>
struct ConfigEnum;

class ConfigReader {
 public:
  ConfigReader(const nlohmann::json& object, std::string file, std::string path = "")
      : object_(object), file_(std::move(file)), path_(std::move(path)) {
    if (!object_.is_object()) fail(where(), "must be a JSON object, got ", describe(object_));
  }

  template <class V>
  void operator()(std::string_view key, V& slot) {
    const auto it = object_.find(std::string(key));
    if (it == object_.end()) return;
    used_.insert(std::string(key));
    const nlohmann::json& v = *it;
    const std::string at = where(key);
    if constexpr (std::is_same_v<V, bool>) {
      if (!v.is_boolean()) fail(at, "must be true or false, got ", describe(v));
      slot = v.get<bool>();
    } else if constexpr (std::is_integral_v<V>) {
      if (!v.is_number_integer()) fail(at, "must be an integer, got ", describe(v));
      if constexpr (std::is_unsigned_v<V>) {
        if (v.get<std::int64_t>() < 0 && !v.is_number_unsigned()) fail(at, "must be >= 0, got ", v.dump());
        slot = v.get<V>();
      } else {
        slot = static_cast<V>(v.get<std::int64_t>());
      }
    } else if constexpr (std::is_floating_point_v<V>) {
      if (!v.is_number()) fail(at, "must be a number, got ", describe(v));
      slot = v.get<V>();
    } else if constexpr (std::is_same_v<V, std::string>) {
      if (!v.is_string()) fail(at, "must be a string, got ", describe(v));
      slot = v.get<std::string>();
    } else {
      if (!v.is_string()) fail(at, "must be a string, got ", describe(v));
      try {
        slot = ConfigEnum<V>::parse(v.get<std::string>());
      } catch (const std::exception& e) {
        fail(at, e.what());
      }
    }
  }

  template <class Visit>
  void section(std::string_view key, Visit&& visit) {
    const auto it = object_.find(std::string(key));
    if (it == object_.end()) return;
    used_.insert(std::string(key));
    ConfigReader inner(*it, file_, dotted(key));
    visit(inner);
    inner.finish();
  }

  // Fails on the first key that no field took.
  void finish() const {
    for (const auto& [key, value] : object_.items())
      if (!used_.contains(key)) fail(file_, ": unknown key \"", dotted(key), "\"");
  }

 private:
  std::string dotted(std::string_view key) const {
    if (key.empty()) return path_;
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  std::string where(std::string_view key = {}) const {
    return file_ + ": " + (key.empty() && path_.empty() ? std::string("the config ") : "key \"" + dotted(key) + "\" ");
  }
  static std::string describe(const nlohmann::json& v) {
    const std::string type = v.type_name();
    return (type == "object" || type == "array" ? "an " : "a ") + type + " (" + v.dump().substr(0, 40) + ")";
  }

  const nlohmann::json& object_;
  std::string file_, path_;
  std::set<std::string> used_;
};

// Records, for each field of the list, its dotted key ("ppo.temperature") by the field's address.
class ConfigKeyNames {
 public:
  explicit ConfigKeyNames(FieldNames& names, std::string path = "") : names_(names), path_(std::move(path)) {}

  template <class V>
  void operator()(std::string_view key, V& slot) {
    names_.set(&slot, dotted(key));
  }
  template <class Visit>
  void section(std::string_view key, Visit&& visit) {
    ConfigKeyNames inner(names_, dotted(key));
    visit(inner);
  }

 private:
  std::string dotted(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  FieldNames& names_;
  std::string path_;
};

class ConfigWriter {
 public:
  template <class V>
  void operator()(std::string_view key, const V& slot) {
    if constexpr (std::is_arithmetic_v<V> || std::is_same_v<V, std::string>) json_[std::string(key)] = slot;
    else json_[std::string(key)] = std::string(ConfigEnum<V>::name(slot));
  }
  template <class Visit>
  void section(std::string_view key, Visit&& visit) {
    ConfigWriter inner;
    visit(inner);
    json_[std::string(key)] = std::move(inner.json_);
  }
  const nlohmann::ordered_json& json() const { return json_; }

 private:
  nlohmann::ordered_json json_ = nlohmann::ordered_json::object();
};

}  // namespace rlhf::io
