#pragma once
// What a pipeline checks before its first stage, so that a run does not fail an hour in: every
// input file exists, every prompt leaves room for its stage's new tokens, and a run directory that
// already exists was made by the same config (DIR/config.json).
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

#include "rlhf/core/error.hpp"
#include "rlhf/data/any_tokenizer.hpp"
#include "rlhf/data/jsonl.hpp"
#include "rlhf/files/atomic_file.hpp"
#include "rlhf/files/json_text.hpp"
#include "rlhf/io/checkpoint.hpp"
#include "rlhf/train/pipeline_config.hpp"

namespace rlhf::train {

// Every file the config names exists (a path is named by its config key).
inline void check_pipeline_files(const PipelineConfig& config) {
  const std::pair<const char*, const std::string*> inputs[] = {{"data.sft", &config.data.sft},
                                                               {"data.collect_prompts", &config.data.collect_prompts},
                                                               {"data.ppo_prompts", &config.data.ppo_prompts},
                                                               {"data.eval_prompts", &config.data.eval_prompts},
                                                               {"data.ptx", &config.data.ptx},
                                                               {"labeler.afinn", &config.labeler.afinn},
                                                               {"labeler.words", &config.labeler.words}};
  std::error_code ec;
  for (const auto& [key, path] : inputs)
    if (!path->empty() && !std::filesystem::is_regular_file(*path, ec))
      fail("pipeline config: ", key, ": ", *path, ": no such file");
  if (!config.model.checkpoint.empty() && !std::filesystem::is_directory(config.model.checkpoint, ec))
    fail("pipeline config: model.checkpoint: ", config.model.checkpoint, ": no such checkpoint directory");
}

// Before any stage runs: every prompt a stage will use leaves room for its new tokens.
inline void check_pipeline_prompts(const PipelineConfig& config, const data::AnyTokenizer& tokenizer) {
  const std::int64_t context =
      config.model.checkpoint.empty() ? config.model.n_positions : io::read_config(config.model.checkpoint).n_positions;
  if (config.sft.max_length > context)  // a new model's context was checked with the config
    fail("pipeline config: sft.max_length ", config.sft.max_length, " exceeds the context of model.checkpoint ",
         config.model.checkpoint, " (n_positions ", context, ")");
  const struct {
    const char *file_key, *tokens_key;
    const std::string& file;
    std::int64_t new_tokens, first;  // first: how many prompts the stage reads (0: all)
  } uses[] = {{"data.collect_prompts", "collect.max_new_tokens", config.data.collect_prompts,
               config.collect.max_new_tokens, config.collect.prompts},
              {"data.ppo_prompts", "ppo.max_new_tokens", config.data.ppo_prompts, config.ppo.train.max_new_tokens, 0},
              {"data.eval_prompts", "eval.max_new_tokens", config.data.eval_prompts, config.eval.max_new_tokens,
               config.eval.prompts}};
  for (const auto& u : uses) {
    std::int64_t n = 0;
    data::read_jsonl(std::filesystem::path(u.file), [&](const data::JsonlRecord& r) {
      if (u.first > 0 && n >= u.first) return;
      ++n;
      if (!r.has("prompt")) r.fail("missing field \"prompt\" (", u.file_key, ")");
      const auto tokens = std::int64_t(tokenizer.encode(r.string("prompt")).size());
      if (tokens == 0) r.fail("field \"prompt\" is empty (", u.file_key, ")");
      if (tokens + u.new_tokens > context)
        r.fail("a prompt of ", tokens, " tokens + ", u.tokens_key, " = ", u.new_tokens,
               " exceed the model's context of ", context, " (", u.file_key,
               "; raise model.n_positions or shorten the prompts)");
    });
  }
}

// A new run directory gets config.json (returns true); an existing one must have been made by the
// same config (returns false: the run continues there).
inline bool prepare_run_directory(const PipelineConfig& config, const std::filesystem::path& dir) {
  const nlohmann::ordered_json mine = to_json(config);
  const std::filesystem::path file = dir / "config.json";
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) {
    const auto theirs = files::read_json_file<nlohmann::ordered_json>(file);
    if (theirs != mine)
      fail(dir.string(), ": holds a run of a different config (", files::first_difference(mine, theirs),
           "); use another --out directory, or delete this one");
    return false;
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) fail(dir.string(), ": cannot create the run directory: ", ec.message());
  files::write_file_atomically(file, mine.dump(2) + "\n");
  return true;
}

}  // namespace rlhf::train
