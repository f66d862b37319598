#pragma once
// config.json of a Hugging Face GPT-2 checkpoint (transformers' GPT2Config) <-> nn::GPTConfig.
//
// Reading takes what transformers would build the same model from: vocab_size, n_positions,
// n_embd, n_layer and n_head are required (n_ctx stands in for n_positions in old files); the
// other fields default as in GPT2Config. Fields that would make transformers compute something
// rlhf::nn::GPT does not (another activation, an untied head, n_inner ≠ 4·n_embd, attention
// scaled differently, cross-attention) are errors, never silently ignored. Every error names the
// file and the field.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "rlhf/core/error.hpp"
#include "rlhf/files/json_text.hpp"
#include "rlhf/nn/gpt_config.hpp"

namespace rlhf::io {

inline constexpr std::string_view config_file_name = "config.json";

// What config.json says beyond the architecture.
struct Gpt2ConfigExtras {
  std::int64_t bos_token_id = -1;  // -1: vocab_size - 1, GPT-2's <|endoftext|> (the last id)
  std::int64_t eos_token_id = -1;
};

// transformers' spelling of our element type.
template <class T>
constexpr std::string_view torch_dtype_name() {
  if constexpr (std::is_same_v<T, double>) return "float64";
  else return "float32";
}

// GPT2Config's fields for this model. Keys are sorted (nlohmann::json is a std::map), as
// transformers writes them.
inline nlohmann::json gpt2_config_json(const nn::GPTConfig& c, const Gpt2ConfigExtras& extras = {},
                                       std::string_view torch_dtype = "float32") {
  const std::int64_t last_id = c.vocab_size - 1;
  return {
      {"model_type", "gpt2"},
      {"architectures", nlohmann::json::array({"GPT2LMHeadModel"})},
      {"vocab_size", c.vocab_size},
      {"n_positions", c.n_positions},
      {"n_ctx", c.n_positions},  // the old name; some readers still look for it
      {"n_embd", c.n_embd},
      {"n_layer", c.n_layer},
      {"n_head", c.n_head},
      {"n_inner", nullptr},  // 4 · n_embd
      {"activation_function", "gelu_new"},
      {"layer_norm_epsilon", c.layer_norm_epsilon},
      {"initializer_range", c.initializer_range},
      // rlhf::nn::GPT trains without dropout; so does a model fine-tuned from this file.
      {"resid_pdrop", 0.0},
      {"embd_pdrop", 0.0},
      {"attn_pdrop", 0.0},
      {"bos_token_id", extras.bos_token_id >= 0 ? extras.bos_token_id : last_id},
      {"eos_token_id", extras.eos_token_id >= 0 ? extras.eos_token_id : last_id},
      {"tie_word_embeddings", true},
      {"scale_attn_weights", true},
      {"scale_attn_by_inverse_layer_idx", false},
      {"reorder_and_upcast_attn", false},
      {"summary_type", "cls_index"},
      {"summary_use_proj", true},
      {"summary_activation", nullptr},
      {"summary_proj_to_labels", true},
      {"summary_first_dropout", 0.1},
      {"use_cache", true},
      {"torch_dtype", torch_dtype},
  };
}

// The architecture described by a parsed config.json; `file` names it in errors.
inline nn::GPTConfig parse_gpt2_config(const nlohmann::json& j, const std::string& file) {
  auto bad = [&](const auto&... parts) { fail(file, ": ", parts...); };
  if (!j.is_object()) bad("expected a JSON object, got ", j.type_name());
  auto field = [&](const char* name) -> const nlohmann::json* {
    auto it = j.find(name);
    return it == j.end() ? nullptr : &*it;
  };
  auto integer = [&](const char* name, const nlohmann::json& v) {
    if (!v.is_number_integer()) bad("field '", name, "' must be an integer, got ", v.type_name(), " ", v.dump());
    return v.get<std::int64_t>();
  };
  auto required_integer = [&](const char* name) {
    const nlohmann::json* v = field(name);
    if (!v) bad("field '", name, "' is missing");
    return integer(name, *v);
  };
  auto optional_number = [&](const char* name, double fallback) {
    const nlohmann::json* v = field(name);
    if (!v) return fallback;
    if (!v->is_number()) bad("field '", name, "' must be a number, got ", v->type_name(), " ", v->dump());
    return v->get<double>();
  };
  // A boolean that, when present, must have the one value our model implements.
  auto must_be = [&](const char* name, bool want, const char* why) {
    const nlohmann::json* v = field(name);
    if (!v) return;
    if (!v->is_boolean()) bad("field '", name, "' must be true or false, got ", v->type_name(), " ", v->dump());
    if (v->get<bool>() != want) bad("field '", name, "' is ", v->dump(), ": not supported (", why, ")");
  };

  if (const nlohmann::json* v = field("model_type"); v && (!v->is_string() || v->get<std::string>() != "gpt2"))
    bad("field 'model_type' is ", v->dump(), ", expected \"gpt2\"");

  nn::GPTConfig c;
  c.vocab_size = required_integer("vocab_size");
  if (field("n_positions")) c.n_positions = required_integer("n_positions");
  else if (field("n_ctx")) c.n_positions = required_integer("n_ctx");
  else bad("field 'n_positions' is missing");
  c.n_embd = required_integer("n_embd");
  c.n_layer = required_integer("n_layer");
  c.n_head = required_integer("n_head");
  c.layer_norm_epsilon = optional_number("layer_norm_epsilon", 1e-5);
  c.initializer_range = optional_number("initializer_range", 0.02);

  if (const nlohmann::json* v = field("activation_function")) {
    if (!v->is_string()) bad("field 'activation_function' must be a string, got ", v->type_name(), " ", v->dump());
    const std::string act = v->get<std::string>();
    // Both are GPT-2's tanh approximation of GELU (transformers' NewGELU and PyTorch's tanh GELU).
    if (act != "gelu_new" && act != "gelu_pytorch_tanh")
      bad("field 'activation_function' is \"", act,
          "\": not supported (rlhf::nn::GPT implements GPT-2's tanh GELU, "
          "\"gelu_new\")");
  }
  if (const nlohmann::json* v = field("n_inner"); v && !v->is_null()) {
    const std::int64_t inner = integer("n_inner", *v);
    // inner / 4 rather than 4 * n_embd: n_embd is not yet validated, and 4 * n_embd may overflow.
    if (inner % 4 != 0 || inner / 4 != c.n_embd)
      bad("field 'n_inner' is ", inner, ": not supported (the MLP width is 4 · n_embd, n_embd = ", c.n_embd, ")");
  }
  must_be("tie_word_embeddings", true, "the LM head is tied to wte");
  must_be("scale_attn_weights", true, "attention scores are scaled by 1/sqrt(head size)");
  must_be("scale_attn_by_inverse_layer_idx", false, "attention scores are scaled by 1/sqrt(head size) only");
  must_be("add_cross_attention", false, "GPT-2 is a decoder without cross-attention");

  try {
    c.validate();
  } catch (const error& e) {
    bad(e.what());
  }
  return c;
}

inline nn::GPTConfig read_config_file(const std::filesystem::path& file) {
  return parse_gpt2_config(files::read_json_file(file), file.string());
}

// The checkpoint in directory `dir`: its config.json, and the architecture it describes.
inline nlohmann::json read_config_json(const std::filesystem::path& dir) {
  return files::read_json_file(dir / config_file_name);
}
inline nn::GPTConfig read_config(const std::filesystem::path& dir) { return read_config_file(dir / config_file_name); }

}  // namespace rlhf::io
