#pragma once
// Reward-model checkpoints: the Hugging Face GPT-2 directory of io/checkpoint.hpp with the head
// as one more tensor, as transformers' GPT2ForSequenceClassification (num_labels 1) stores it:
//   model.safetensors   GPT-2's tensors + score.weight [1, n_embd]
//   config.json         GPT2Config + "architectures": ["GPT2ForSequenceClassification"],
//                       id2label/label2id of one label, pad_token_id, and the normalisation
//                       "reward_gain", "reward_bias" (score = gain · r + bias)
// transformers loads the directory with GPT2ForSequenceClassification.from_pretrained (it ignores
// the reward_* fields, so its logits are the raw rewards).
//
//   save_reward_model(dir, model, options)
//   load_reward_model<T>(dir)                   a trained reward model (head required)
//   reward_model_from_lm<T>(dir, seed)          InstructGPT step 2's start: the trunk of a
//                                               language-model (SFT) checkpoint, a new head
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "rlhf/io/checkpoint.hpp"
#include "rlhf/nn/reward_model.hpp"

namespace rlhf::io {

inline constexpr std::string_view reward_architecture = "GPT2ForSequenceClassification";

template <class T, Backend B>
void save_reward_model(const std::filesystem::path& dir, const nn::RewardModel<T, B>& model, SaveOptions options = {}) {
  const std::int64_t eos =
      options.config.eos_token_id >= 0 ? options.config.eos_token_id : model.config().vocab_size - 1;
  options.config_fields.update(nlohmann::json{{"architectures", nlohmann::json::array({reward_architecture})},
                                              {"id2label", {{"0", "LABEL_0"}}},
                                              {"label2id", {{"LABEL_0", 0}}},
                                              {"pad_token_id", eos},
                                              {"reward_gain", model.gain()},
                                              {"reward_bias", model.bias()}});
  save_gpt(dir, model.gpt(), options);
}

// Whether `dir`'s config.json says it holds a reward model.
inline bool is_reward_checkpoint(const std::filesystem::path& dir) {
  const nlohmann::json j = read_config_json(dir);
  const auto it = j.find("architectures");
  if (it == j.end() || !it->is_array()) return false;
  for (const nlohmann::json& a : *it)
    if (a.is_string() && a.get<std::string>() == reward_architecture) return true;
  return false;
}

namespace reward_detail {
// reward_gain / reward_bias from config.json (1 and 0 when absent, as in a checkpoint that
// transformers wrote).
template <class T, Backend B>
void read_normalization(const std::filesystem::path& dir, nn::RewardModel<T, B>& model) {
  const nlohmann::json j = read_config_json(dir);
  const std::string file = (dir / config_file_name).string();
  auto number = [&](const char* name, double fallback) {
    const auto it = j.find(name);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_number()) fail(file, ": field '", name, "' must be a number, got ", it->type_name(), " ", it->dump());
    return it->get<double>();
  };
  try {
    model.set_normalization(number("reward_gain", 1.0), number("reward_bias", 0.0));
  } catch (const error& e) {
    fail(file, ": ", e.what());
  }
}
}  // namespace reward_detail

// The checkpoint in `dir` into an existing reward model of the same architecture.
template <class T, Backend B>
void load_reward_weights(const std::filesystem::path& dir, nn::RewardModel<T, B>& model) {
  load_weights(dir, model.gpt(), Heads::required);
  reward_detail::read_normalization(dir, model);
}

template <class T, Backend B = cpu>
std::unique_ptr<nn::RewardModel<T, B>> load_reward_model(const std::filesystem::path& dir, B backend = {},
                                                         nn::Trainable trainable = nn::Trainable::yes) {
  auto model = std::make_unique<nn::RewardModel<T, B>>(read_config(dir), backend, trainable);
  load_weights_file(checkpoint_detail::weights_path(dir), model->gpt(), Heads::required);
  reward_detail::read_normalization(dir, *model);
  return model;
}

template <class T, Backend B = cpu>
std::unique_ptr<nn::RewardModel<T, B>> reward_model_from_lm(const std::filesystem::path& dir, std::uint64_t seed,
                                                            B backend = {}) {
  auto model = std::make_unique<nn::RewardModel<T, B>>(read_config(dir), backend);
  model->init_weights(seed);  // the head's draw; the trunk is overwritten next
  load_weights_file(checkpoint_detail::weights_path(dir), model->gpt(), Heads::optional);
  return model;
}

}  // namespace rlhf::io

// Compiled mode (RLHF_COMPILED, set by the CMake target rlhf::compiled): these specializations
// are compiled once, in src/; a translation unit that includes this header calls them instead.
#if defined(RLHF_COMPILED)
#include "rlhf/backend/cpu/tag.hpp"
namespace rlhf::io {
extern template void save_reward_model(const std::filesystem::path&, const nn::RewardModel<float, cpu>&, SaveOptions);
extern template void load_reward_weights(const std::filesystem::path&, nn::RewardModel<float, cpu>&);
extern template std::unique_ptr<nn::RewardModel<float, cpu>> load_reward_model(const std::filesystem::path&, cpu,
                                                                               nn::Trainable);
extern template std::unique_ptr<nn::RewardModel<float, cpu>> reward_model_from_lm(const std::filesystem::path&,
                                                                                  std::uint64_t, cpu);
extern template void save_reward_model(const std::filesystem::path&, const nn::RewardModel<double, cpu>&, SaveOptions);
extern template void load_reward_weights(const std::filesystem::path&, nn::RewardModel<double, cpu>&);
extern template std::unique_ptr<nn::RewardModel<double, cpu>> load_reward_model(const std::filesystem::path&, cpu,
                                                                                nn::Trainable);
extern template std::unique_ptr<nn::RewardModel<double, cpu>> reward_model_from_lm(const std::filesystem::path&,
                                                                                   std::uint64_t, cpu);
}  // namespace rlhf::io
#endif
