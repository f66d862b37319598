#pragma once
// Checkpoints of a GPT in the Hugging Face GPT-2 directory layout, so that transformers'
// GPT2LMHeadModel.from_pretrained(dir) loads ours and a GPT-2 from the hub loads here:
//
//   dir/config.json          GPT2Config's fields (io/gpt2_config.hpp)
//   dir/model.safetensors    GPT-2's tensor names and shapes, Conv1D weights as [in, out]
//                            (h.{i}.attn.c_attn.weight is [n_embd, 3·n_embd]); written without
//                            a prefix, like the hub's gpt2
//   dir/vocab.json, merges.txt   the BPE tokenizer, when the caller gives its files
//
//   rlhf::io::save_gpt("ckpt", model);
//   auto model = rlhf::io::load_gpt<float>("ckpt");   // or load_weights("ckpt", existing_model)
//
// Loading accepts what transformers writes and the hub holds: names with the `transformer.`
// prefix, the attention-mask buffers h.{i}.attn.bias / h.{i}.attn.masked_bias (ignored) and an
// lm_head.weight equal to wte.weight. Every parameter must be present with its shape and nothing
// else may be: a checkpoint of another architecture is an error naming the file and the tensor,
// never a model with some weights silently left at their initial values. The model is changed
// only once the whole file has been checked and read.
//
// Saving writes every file to a temporary beside it and renames them only once all are written
// (io/atomic_file.hpp): a failure leaves the directory as it was.
//
// The weights pass through host memory (Tensor::to_vector, B::copy_from_host), so this works for
// every backend.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "rlhf/backend/cpu/tag.hpp"
#include "rlhf/core/error.hpp"
#include "rlhf/files/atomic_file.hpp"
#include "rlhf/io/gpt2_config.hpp"
#include "rlhf/io/safetensors.hpp"
#include "rlhf/nn/gpt.hpp"

namespace rlhf::io {

inline constexpr std::string_view weights_file_name = "model.safetensors";

struct SaveOptions {
  Gpt2ConfigExtras config;           // bos/eos token ids written to config.json
  std::filesystem::path vocab_json;  // the BPE tokenizer's files: copied into the checkpoint when given
  std::filesystem::path merges_txt;
  nlohmann::json config_fields = nlohmann::json::object();  // added to config.json, replacing GPT2Config's
};

namespace checkpoint_detail {

inline std::vector<std::int64_t> dims(const Shape& s) {
  std::vector<std::int64_t> d(static_cast<std::size_t>(s.rank()));
  for (int i = 0; i < s.rank(); ++i) d[static_cast<std::size_t>(i)] = s[i];
  return d;
}

inline std::string name_list(const std::vector<std::string>& names) {
  constexpr std::size_t shown = 8;
  std::string s;
  for (std::size_t i = 0; i < names.size() && i < shown; ++i) s += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > shown) s += " and " + std::to_string(names.size() - shown) + " more";
  return s;
}

// h.{i}.attn.bias and h.{i}.attn.masked_bias: the causal mask and its fill value, which older
// transformers saved as buffers. They hold no learned values.
inline bool is_attention_buffer(std::string_view name) {
  if (!name.starts_with("h.")) return false;
  name.remove_prefix(2);
  std::size_t digits = 0;
  while (digits < name.size() && name[digits] >= '0' && name[digits] <= '9') ++digits;
  if (digits == 0) return false;
  name.remove_prefix(digits);
  return name == ".attn.bias" || name == ".attn.masked_bias";
}

inline std::string read_whole_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(file.string(), ": cannot open the file");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) fail(file.string(), ": cannot read the file");
  return bytes.str();
}

// The path of the weights in `dir`, or an error that says what the directory holds instead.
inline std::filesystem::path weights_path(const std::filesystem::path& dir) {
  std::filesystem::path file = dir / weights_file_name;
  if (std::filesystem::exists(file)) return file;
  if (std::filesystem::exists(dir / "model.safetensors.index.json"))
    fail(dir.string(),
         ": sharded checkpoints (model.safetensors.index.json) are not supported; save as one "
         "model.safetensors");
  if (std::filesystem::exists(dir / "pytorch_model.bin"))
    fail(dir.string(),
         ": only model.safetensors is supported, not pytorch_model.bin; convert it with transformers' "
         "save_pretrained(dir, safe_serialization=True)");
  fail(file.string(), ": no such file");
}

}  // namespace checkpoint_detail

// Saves model into directory `dir` (created if missing): config.json, model.safetensors and the
// tokenizer files given in options.
template <class T, Backend B>
void save_gpt(const std::filesystem::path& dir, const nn::GPT<T, B>& model, const SaveOptions& options = {}) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "checkpoints store F32 or F64 weights");
  std::error_code ec;
  const bool created = !std::filesystem::exists(dir, ec);
  std::filesystem::create_directories(dir, ec);
  if (ec) fail(dir.string(), ": cannot create the checkpoint directory: ", ec.message());
  try {
    // Every file is written in full before any is renamed into place.
    const std::vector<T> host = model.parameters().to_vector();
    std::vector<TensorToWrite> tensors;
    for (const nn::ParameterInfo& p : model.layout().params())
      tensors.push_back({p.name, dtype_of<T>(), checkpoint_detail::dims(p.shape), host.data() + p.offset});
    files::AtomicFile weights(dir / weights_file_name);
    write_safetensors(weights, tensors);

    files::AtomicFile config(dir / config_file_name);
    nlohmann::json config_json = gpt2_config_json(model.config(), options.config, torch_dtype_name<T>());
    config_json.update(options.config_fields);
    config.write(config_json.dump(2) + "\n");

    std::vector<files::AtomicFile> tokenizer;
    for (const auto& [source, name] :
         {std::pair{options.vocab_json, "vocab.json"}, std::pair{options.merges_txt, "merges.txt"}}) {
      if (source.empty()) continue;
      const std::string bytes = checkpoint_detail::read_whole_file(source);
      tokenizer.emplace_back(dir / name).write(bytes);
    }

    // config.json last: a reader that sees the new config finds the new weights beside it.
    weights.commit();
    for (files::AtomicFile& f : tokenizer) f.commit();
    config.commit();
  } catch (...) {
    if (created) std::filesystem::remove(dir, ec);  // only if still empty: never delete what others wrote
    throw;
  }
}

// Whether a checkpoint must hold the model's head parameters (ParameterInfo::head): a reward
// model starts from a language model's checkpoint, which has none, and keeps its own initial head.
enum class Heads { required, optional };

// Loads the weights in safetensors file `file` into model (whose architecture must match).
template <class T, Backend B>
void load_weights_file(const std::filesystem::path& file, nn::GPT<T, B>& model, Heads heads = Heads::required) {
  SafetensorsReader reader(file);
  const std::string where = file.string();
  const nn::ParameterLayout& layout = model.layout();
  const auto& params = layout.params();

  std::vector<const TensorEntry*> found(params.size(), nullptr);
  const TensorEntry* lm_head = nullptr;
  std::vector<std::string> unknown;
  for (const TensorEntry& t : reader.tensors()) {
    std::string_view name = t.name;
    if (name.starts_with("transformer.")) name.remove_prefix(std::string_view("transformer.").size());
    if (name == "lm_head.weight") {
      lm_head = &t;
      continue;
    }
    if (checkpoint_detail::is_attention_buffer(name)) continue;
    const nn::ParameterInfo* p = layout.find(name);
    if (!p) {
      unknown.push_back(t.name);
      continue;
    }
    const TensorEntry*& slot = found[static_cast<std::size_t>(p - params.data())];
    if (slot) fail(where, ": tensor '", p->name, "' appears twice, as '", slot->name, "' and '", t.name, "'");
    slot = &t;
  }
  const nn::GPTConfig& c = model.config();
  auto architecture = [&] {
    return "GPT-2 with vocab_size " + std::to_string(c.vocab_size) + ", n_positions " + std::to_string(c.n_positions) +
           ", n_embd " + std::to_string(c.n_embd) + ", n_layer " + std::to_string(c.n_layer);
  };
  if (!unknown.empty())
    fail(where, ": unknown tensor", unknown.size() > 1 ? "s " : " ", checkpoint_detail::name_list(unknown),
         " (not a parameter of ", architecture(), ")");
  std::vector<std::string> missing;
  for (std::size_t i = 0; i < params.size(); ++i)
    if (!found[i] && !(params[i].head && heads == Heads::optional)) missing.push_back(params[i].name);
  if (!missing.empty())
    fail(where, ": missing tensor", missing.size() > 1 ? "s " : " ", checkpoint_detail::name_list(missing), " (",
         architecture(), ")");

  auto check_tensor = [&](const TensorEntry& t, const nn::ParameterInfo& p) {
    if (t.shape != checkpoint_detail::dims(p.shape))
      fail(where, ": tensor '", t.name, "' has shape ", shape_string(t.shape), ", expected ", p.shape, " (",
           architecture(), ")");
    if (!is_floating(t.dtype))
      fail(where, ": tensor '", t.name, "' has dtype ", to_string(t.dtype), ", expected F32, F64, F16 or BF16");
  };
  std::vector<T> host = model.parameters().to_vector();  // a head the file lacks keeps its value
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!found[i]) continue;
    check_tensor(*found[i], params[i]);
    const std::span<T> values(host.data() + params[i].offset, static_cast<std::size_t>(params[i].shape.numel()));
    reader.read_into(*found[i], values);
    // A NaN or an infinity would only surface later, as null log-probs or NUL tokens.
    for (std::size_t k = 0; k < values.size(); ++k)
      if (!std::isfinite(values[k]))
        fail(where, ": tensor '", found[i]->name, "' has a non-finite value (", values[k], ") at element ", k,
             "; the checkpoint is damaged or the run that wrote it diverged");
  }
  if (lm_head) {  // transformers ties it to wte; a different head is another model
    const nn::ParameterInfo& wte = layout.at("wte.weight");
    check_tensor(*lm_head, wte);
    const std::vector<T> head = reader.read<T>(*lm_head);
    const T* table = host.data() + wte.offset;
    for (std::size_t k = 0; k < head.size(); ++k)
      // Bitwise on purpose: a tied head is the same tensor, so even -0 against 0 is another model.
      if (std::memcmp(&head[k], &table[k], sizeof(T)) != 0)  // NOLINT(bugprone-suspicious-memory-comparison)
        fail(where, ": tensor '", lm_head->name, "' differs from wte.weight (element ", k, ": ", head[k], " vs ",
             table[k], "); rlhf::nn::GPT supports only an LM head tied to the token embedding");
  }
  B::copy_from_host(model.parameters().data(), host.data(), host.size() * sizeof(T));
}

// Loads the checkpoint in `dir` into an existing model; its config.json must describe the
// model's architecture.
template <class T, Backend B>
void load_weights(const std::filesystem::path& dir, nn::GPT<T, B>& model, Heads heads = Heads::required) {
  const nn::GPTConfig saved = read_config(dir);
  const nn::GPTConfig& have = model.config();
  const std::string file = (dir / config_file_name).string();
  auto same = [&](const char* field, auto a, auto b) {
    if (a != b) fail(file, ": field '", field, "' is ", a, ", but the model has ", b);
  };
  same("vocab_size", saved.vocab_size, have.vocab_size);
  same("n_positions", saved.n_positions, have.n_positions);
  same("n_embd", saved.n_embd, have.n_embd);
  same("n_layer", saved.n_layer, have.n_layer);
  same("n_head", saved.n_head, have.n_head);
  same("layer_norm_epsilon", saved.layer_norm_epsilon, have.layer_norm_epsilon);
  load_weights_file(checkpoint_detail::weights_path(dir), model, heads);
}

// A new model with the architecture and weights of the checkpoint in `dir`. (GPT is not movable:
// its modules hold views into its buffers.)
template <class T, Backend B = cpu>
std::unique_ptr<nn::GPT<T, B>> load_gpt(const std::filesystem::path& dir, B backend = {},
                                        nn::Trainable trainable = nn::Trainable::yes) {
  auto model = std::make_unique<nn::GPT<T, B>>(read_config(dir), backend, std::vector<nn::HeadParameter>{}, trainable);
  load_weights_file(checkpoint_detail::weights_path(dir), *model);
  return model;
}

}  // namespace rlhf::io

// Compiled mode (RLHF_COMPILED, set by the CMake target rlhf::compiled): these specializations
// are compiled once, in src/; a translation unit that includes this header calls them instead.
#if defined(RLHF_COMPILED)
#include "rlhf/backend/cpu/tag.hpp"
namespace rlhf::io {
extern template void save_gpt(const std::filesystem::path&, const nn::GPT<float, cpu>&, const SaveOptions&);
extern template void load_weights(const std::filesystem::path&, nn::GPT<float, cpu>&, Heads);
extern template std::unique_ptr<nn::GPT<float, cpu>> load_gpt(const std::filesystem::path&, cpu, nn::Trainable);
extern template void save_gpt(const std::filesystem::path&, const nn::GPT<double, cpu>&, const SaveOptions&);
extern template void load_weights(const std::filesystem::path&, nn::GPT<double, cpu>&, Heads);
extern template std::unique_ptr<nn::GPT<double, cpu>> load_gpt(const std::filesystem::path&, cpu, nn::Trainable);
}  // namespace rlhf::io
#endif
