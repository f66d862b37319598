// libFuzzer target: every JSONL reader on one file, the input: load_sft_jsonl,
// load_preference_jsonl (pairwise and K-wise records) and read_jsonl with the prompts' fields,
// each on its own, with the byte tokenizer and a context of 64 tokens.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "rlhf/data/byte_tokenizer.hpp"
#include "rlhf/data/jsonl.hpp"
#include "rlhf/data/preference_dataset.hpp"
#include "rlhf/data/sft_dataset.hpp"

namespace {
constexpr std::int64_t max_length = 64;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static rlhf_fuzz::InputFile file("fuzz_jsonl");
  static const rlhf::data::ByteTokenizer tokenizer;
  const auto& path = file.write(data, size);

  rlhf_fuzz::expect_only_rlhf_errors("load_sft_jsonl", [&] {
    const rlhf::data::SftDataset d = rlhf::data::load_sft_jsonl(path, tokenizer, max_length);
    for (const rlhf::data::SftExample& e : d.examples()) {
      if (e.tokens.empty() || e.tokens.size() != e.loss_mask.size() ||
          static_cast<std::int64_t>(e.tokens.size()) > max_length || e.targets() == 0)
        rlhf_fuzz::finding("load_sft_jsonl kept a malformed example");
      for (const std::int32_t id : e.tokens)
        if (id < 0 || id >= tokenizer.vocab_size()) rlhf_fuzz::finding("load_sft_jsonl: token id out of range");
    }
    (void)d.summary();
  });

  rlhf_fuzz::expect_only_rlhf_errors("load_preference_jsonl", [&] {
    const rlhf::data::PreferenceDataset d = rlhf::data::load_preference_jsonl(path, tokenizer, max_length);
    for (std::int64_t g = 0; g < d.size(); ++g) {
      const rlhf::data::PreferenceGroup& group = d[g];
      if (group.completions() < 2 || group.ranks.size() != group.sequences.size() || group.longest() > max_length ||
          group.pairs() == 0)
        rlhf_fuzz::finding("load_preference_jsonl kept a malformed group");
      for (const auto& s : group.sequences) {
        if (static_cast<std::int64_t>(s.size()) <= group.prompt_length)
          rlhf_fuzz::finding("load_preference_jsonl: a sequence without a completion");
        for (const std::int32_t id : s)
          if (id < 0 || id >= tokenizer.vocab_size())
            rlhf_fuzz::finding("load_preference_jsonl: token id out of range");
      }
    }
    (void)d.summary();
  });

  rlhf_fuzz::expect_only_rlhf_errors("read_jsonl {\"prompt\"}", [&] {
    std::vector<std::vector<std::int32_t>> prompts;
    rlhf::data::read_jsonl(path, rlhf::data::JsonlFields{{"prompt"}}, [&](const rlhf::data::JsonlRecord& r) {
      std::vector<std::int32_t> ids = tokenizer.encode(r.string("prompt"));
      if (ids.empty()) r.fail("field \"prompt\" is empty");
      prompts.push_back(std::move(ids));
    });
  });
  return 0;
}
