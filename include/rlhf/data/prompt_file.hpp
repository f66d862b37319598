#pragma once
// The prompts of a JSONL file of {"prompt": ...} records (TRL's prompt-only format), as the
// collection, PPO and evaluation stages read them.
#include <filesystem>
#include <string>
#include <vector>

#include "rlhf/core/error.hpp"
#include "rlhf/data/jsonl.hpp"

namespace rlhf::data {

// The "prompt" field of each record of a JSONL file (other fields are ignored).
inline std::vector<std::string> read_prompt_texts(const std::filesystem::path& file) {
  std::vector<std::string> prompts;
  read_jsonl(file, [&](const JsonlRecord& r) {
    if (!r.has("prompt")) r.fail("missing field \"prompt\"");
    if (r.string("prompt").empty()) r.fail("field \"prompt\" is empty");
    prompts.push_back(r.string("prompt"));
  });
  if (prompts.empty()) fail(file.string(), ": no prompts");
  return prompts;
}

}  // namespace rlhf::data
