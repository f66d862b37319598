#pragma once
// What a config's validate() calls its fields in errors: the words the user set them with.
// validate(names) asks names(&field, "member") for each field it names; the answer is
//   - the name recorded for that field's address: the command line records each option's
//     ("--steps" for SFTConfig::max_steps), a config file each key's ("sft.steps");
//   - otherwise "<owner>.<member>" ("SFTConfig.max_steps"), for code that builds configs itself.
// Addresses, not member names, because a config file spells some fields differently
// ("steps" for max_steps) and flattens nested structs ("ppo.temperature" for sampling.temperature).
#include <cmath>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "rlhf/core/error.hpp"

namespace rlhf {

class FieldNames {
 public:
  explicit FieldNames(std::string owner) : owner_(std::move(owner)) {}

  // Errors call `field` (a member of the config object that will be validated) `name`.
  void set(const void* field, std::string name) { names_[field] = std::move(name); }

  std::string operator()(const void* field, std::string_view member) const {
    if (const auto it = names_.find(field); it != names_.end()) return it->second;
    return owner_ + "." + std::string(member);
  }

  // The same recorded names, with `owner` for the fields they do not cover.
  FieldNames owned_by(std::string owner) const {
    FieldNames out = *this;
    out.owner_ = std::move(owner);
    return out;
  }

 private:
  std::string owner_;
  std::map<const void*, std::string> names_;
};

// The range checks configs share, with the CLI's wording ("--lr must be finite and > 0, got inf").
template <class V>
void require_positive(const std::string& name, V value) {
  if (!(value > 0) || !std::isfinite(double(value))) fail(name, " must be finite and > 0, got ", value);
}
template <class V>
void require_finite_non_negative(const std::string& name, V value) {
  if (!(value >= 0) || !std::isfinite(double(value))) fail(name, " must be finite and >= 0, got ", value);
}
template <class V>
void require_within(const std::string& name, V value, V low, V high) {
  if (!(value >= low && value <= high)) fail(name, " must lie in [", low, ", ", high, "], got ", value);
}

}  // namespace rlhf
