#pragma once
// What a trainer saves beside its model checkpoint so that a resumed run continues bit for bit:
//   optimizer.safetensors   AdamW's two moments, laid out like the parameter buffer
//   trainer_state.json      step, optimizer steps, data position, seed, dataset sizes, ...
// Both are written atomically. read_trainer_state checks that the fields a trainer needs are
// integers and that the run being resumed used the same seed and data.
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlhf/core/error.hpp"
#include "rlhf/data/shuffle.hpp"
#include "rlhf/files/atomic_file.hpp"
#include "rlhf/files/json_text.hpp"
#include "rlhf/io/safetensors.hpp"
#include "rlhf/optim/adamw.hpp"

namespace rlhf::train {

inline constexpr std::string_view optimizer_file_name = "optimizer.safetensors";
inline constexpr std::string_view trainer_state_file_name = "trainer_state.json";

template <class T, Backend B>
void save_optimizer(const std::filesystem::path& dir, optim::AdamW<T, B>& optimizer) {
  const auto m = optimizer.first_moment().to_vector(), v = optimizer.second_moment().to_vector();
  const std::vector<std::int64_t> shape{static_cast<std::int64_t>(m.size())};
  const std::vector<io::TensorToWrite> tensors{io::TensorToWrite::of<T>("exp_avg", shape, m),
                                               io::TensorToWrite::of<T>("exp_avg_sq", shape, v)};
  io::write_safetensors(dir / optimizer_file_name, tensors, {});
}

template <class T, Backend B>
void load_optimizer(const std::filesystem::path& dir, optim::AdamW<T, B>& optimizer, std::int64_t steps) {
  io::SafetensorsReader moments(dir / optimizer_file_name);
  for (auto [name, moment] :
       {std::pair{"exp_avg", &optimizer.first_moment()}, std::pair{"exp_avg_sq", &optimizer.second_moment()}}) {
    const std::vector<T> values = moments.read<T>(name);
    if (static_cast<std::int64_t>(values.size()) != moment->numel())
      fail(moments.path().string(), ": tensor '", name, "' has ", values.size(), " elements, the model's optimizer ",
           moment->numel());
    B::copy_from_host(moment->data(), values.data(), moment->bytes());
  }
  optimizer.set_steps(steps);
}

inline void write_trainer_state(const std::filesystem::path& dir, const nlohmann::json& state) {
  files::write_file_atomically(dir / trainer_state_file_name, state.dump(1) + "\n");
}

// The text of a trainer_state.json (`file` names it in errors), with every field in `integers`
// an integer, saved with `seed` and `train_examples` training examples (else resuming would not
// continue the same run).
inline nlohmann::json parse_trainer_state(std::string_view text, const std::string& file,
                                          std::initializer_list<const char*> integers, std::uint64_t seed,
                                          std::size_t train_examples) {
  nlohmann::json state = files::parse_json(text, file, "malformed JSON");
  if (!state.is_object()) fail(file, ": expected a JSON object, got ", state.type_name());
  auto integer = [&](const char* field) -> const nlohmann::json& {
    const auto it = state.find(field);
    if (it == state.end() || !it->is_number_integer()) fail(file, ": missing or non-integer field \"", field, "\"");
    return *it;
  };
  for (const char* field : integers) integer(field);
  const nlohmann::json& saved_seed = integer("seed");
  const nlohmann::json& saved_examples = integer("train_examples");
  if (saved_seed.get<std::uint64_t>() != seed || saved_examples.get<std::size_t>() != train_examples)
    fail(file, ": saved with seed ", saved_seed.get<std::uint64_t>(), " and ", saved_examples.get<std::size_t>(),
         " training examples; this run has seed ", seed, " and ", train_examples,
         " (resume with the same data and seed)");
  return state;
}

// trainer_state.json of `dir`, checked as parse_trainer_state does.
inline nlohmann::json read_trainer_state(const std::filesystem::path& dir, std::initializer_list<const char*> integers,
                                         std::uint64_t seed, std::size_t train_examples) {
  const std::filesystem::path file = dir / trainer_state_file_name;
  std::ifstream in(file, std::ios::binary);
  if (!in) fail("cannot open ", file.string());
  std::ostringstream text;
  text << in.rdbuf();
  return parse_trainer_state(text.str(), file.string(), integers, seed, train_examples);
}

// The state of a trainer that takes optimizer steps over an epoch sampler (SFT, reward model):
// optimizer moments and steps, the step count, the data position, the seed and split sizes.
template <class T, Backend B>
void save_step_state(const std::filesystem::path& dir, optim::AdamW<T, B>& optimizer, std::int64_t step,
                     const data::EpochSampler& sampler, std::uint64_t seed, const data::DataSplit& split) {
  save_optimizer(dir, optimizer);
  write_trainer_state(dir, {{"step", step},
                            {"optimizer_steps", optimizer.steps()},
                            {"data_epoch", sampler.position().epoch},
                            {"data_index", sampler.position().index},
                            {"seed", seed},
                            {"train_examples", split.train.size()},
                            {"validation_examples", split.validation.size()}});
}

// Restores what save_step_state wrote into optimizer and sampler; returns the step count.
template <class T, Backend B>
std::int64_t resume_step_state(const std::filesystem::path& dir, optim::AdamW<T, B>& optimizer,
                               data::EpochSampler& sampler, std::uint64_t seed, const data::DataSplit& split) {
  const nlohmann::json state =
      read_trainer_state(dir, {"step", "optimizer_steps", "data_epoch", "data_index"}, seed, split.train.size());
  load_optimizer(dir, optimizer, state["optimizer_steps"].get<std::int64_t>());
  sampler = data::EpochSampler(split.train, seed,
                               {state["data_epoch"].get<std::int64_t>(), state["data_index"].get<std::int64_t>()});
  return state["step"].get<std::int64_t>();
}

}  // namespace rlhf::train
