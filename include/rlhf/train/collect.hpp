#pragma once
// Collecting comparisons (InstructGPT step 2's data): the SFT policy samples K completions of
// each prompt, K drawn uniformly from [min_k, max_k], and a labeler ranks them. The result is
// written in the K-wise JSONL format {"prompt", "completions", "ranking"} (1 = best), the format
// real human rankings come in, so that a file of those can take its place.
//
// A completion that is empty (EOS at once) cannot be scored by the reward model and is left out;
// a prompt left with fewer than two completions gives no record. Draw layout: K of prompt i is
// uniform(i) of stream (seed, collect_k_stream); generation batch j samples with seed (seed + j);
// the ranking of record i is Plackett-Luce draw number i of stream (seed, collect_rank_stream)
// (data/labeler.hpp). Everything is a pure
// function of the config, the policy and the prompts.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlhf/core/philox.hpp"
#include "rlhf/core/random_streams.hpp"
#include "rlhf/core/sampling.hpp"
#include "rlhf/data/jsonl.hpp"
#include "rlhf/data/labeler.hpp"
#include "rlhf/data/preference_dataset.hpp"
#include "rlhf/generate/generate.hpp"
#include "rlhf/nn/gpt.hpp"

namespace rlhf::train {

struct CollectConfig {
  std::int64_t prompts = 1000;  // the first N prompts of the file (0: all)
  std::int64_t min_k = 4, max_k = 9;
  std::int64_t max_new_tokens = 48;
  SamplingParams sampling{1.0, 0, 1.0};
  double labeler_temperature = 0.5;  // τ of the Plackett-Luce ranking; small: the labelers agree with gold
  std::int64_t batch_size = 64;      // sequences sampled together
  std::uint64_t seed = 0;

  // Errors name the fields as `names` does (core/field_names.hpp).
  void validate(const FieldNames& names = FieldNames("CollectConfig")) const {
    const auto n = [&](const auto& field, std::string_view member) { return names(&field, member); };
    sampling.validate(names);
    // Greedy decoding gives a prompt K identical completions; ranking them strictly would teach
    // the reward model the labelers' noise.
    if (sampling.temperature == 0)
      fail(n(sampling.temperature, "temperature"),
           " must be > 0 to collect comparisons (greedy decoding gives K identical completions to rank)");
    if (prompts < 0) fail(n(prompts, "prompts"), " must be >= 0, got ", prompts);
    if (min_k < data::min_completions || max_k > data::max_completions || min_k > max_k)
      fail("need ", data::min_completions, " <= ", n(min_k, "min_k"), " <= ", n(max_k, "max_k"),
           " <= ", data::max_completions, ", got ", min_k, " and ", max_k);
    require_positive(n(max_new_tokens, "max_new_tokens"), max_new_tokens);
    require_positive(n(labeler_temperature, "labeler_temperature"), labeler_temperature);
    require_positive(n(batch_size, "batch_size"), batch_size);
  }
};

// One labelled prompt: its completions, their ranks (1 = best) and the labeler's noise-free
// scores (not part of the file format; kept for diagnostics).
struct Comparison {
  std::string prompt;
  std::vector<std::string> completions;
  std::vector<std::int32_t> ranking;
  std::vector<double> gold;
};

struct CollectStats {
  std::int64_t prompts = 0, records = 0, completions = 0, empty = 0;
  double agreement = 0;  // share of ranked pairs whose order agrees with the gold scores (untied in gold)
};

// collect_k_stream and collect_rank_stream: core/random_streams.hpp.

template <class T, Backend B, data::Tokenizer Tok>
std::vector<Comparison> collect_comparisons(nn::GPT<T, B>& policy, const Tok& tokenizer, const data::Labeler& labeler,
                                            std::span<const std::string> prompt_texts, const CollectConfig& config,
                                            CollectStats* stats = nullptr) {
  config.validate();
  const std::size_t n =
      config.prompts > 0 ? std::min(prompt_texts.size(), std::size_t(config.prompts)) : prompt_texts.size();
  if (n == 0) fail("collect_comparisons: no prompts");
  // One row per (prompt, sample).
  const PhiloxStream k_draws{config.seed, collect_k_stream};
  std::vector<std::vector<std::int32_t>> rows;
  std::vector<std::size_t> row_prompt;
  std::vector<std::vector<std::int32_t>> prompt_ids(n);
  for (std::size_t i = 0; i < n; ++i) {
    prompt_ids[i] = tokenizer.encode(prompt_texts[i]);
    if (prompt_ids[i].empty()) fail("collect_comparisons: prompt ", i, " is empty");
    const auto span_k = double(config.max_k - config.min_k + 1);
    const std::int64_t K =
        config.min_k + std::min<std::int64_t>(config.max_k - config.min_k, std::int64_t(k_draws.uniform(i) * span_k));
    for (std::int64_t k = 0; k < K; ++k) {
      rows.push_back(prompt_ids[i]);
      row_prompt.push_back(i);
    }
  }
  std::vector<std::vector<std::string>> samples(n);
  GenerationConfig g;
  g.max_new_tokens = config.max_new_tokens;
  g.sampling = config.sampling;
  g.eos_id = tokenizer.eos_id();
  g.pad_id = tokenizer.eos_id();
  CollectStats s;
  s.prompts = std::int64_t(n);
  for (std::size_t r0 = 0, batch = 0; r0 < rows.size(); r0 += std::size_t(config.batch_size), ++batch) {
    const std::size_t r1 = std::min(rows.size(), r0 + std::size_t(config.batch_size));
    const std::vector<std::vector<std::int32_t>> part(rows.begin() + std::ptrdiff_t(r0),
                                                      rows.begin() + std::ptrdiff_t(r1));
    g.seed = config.seed + batch;
    const Generation<T> gen = generate(policy, part, g);
    for (std::size_t r = r0; r < r1; ++r) {
      const std::vector<std::int32_t> response = gen.response(std::int64_t(r - r0), g.eos_id);
      if (response.empty()) {
        ++s.empty;
        continue;
      }
      samples[row_prompt[r]].push_back(tokenizer.decode(response));
    }
  }
  std::vector<Comparison> out;
  std::int64_t agree = 0, pairs = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (samples[i].size() < 2) continue;
    Comparison c;
    c.prompt = prompt_texts[i];
    c.completions = std::move(samples[i]);
    for (const std::string& completion : c.completions) c.gold.push_back(labeler.score(c.prompt, completion));
    c.ranking = data::Labeler::plackett_luce_ranks(
        c.gold, config.labeler_temperature, PhiloxStream{config.seed, collect_rank_stream}, std::uint64_t(out.size()));
    for (std::size_t a = 0; a < c.gold.size(); ++a)
      for (std::size_t b = a + 1; b < c.gold.size(); ++b) {
        if (c.gold[a] == c.gold[b]) continue;
        ++pairs;
        agree += (c.gold[a] > c.gold[b]) == (c.ranking[a] < c.ranking[b]);
      }
    s.completions += std::int64_t(c.completions.size());
    out.push_back(std::move(c));
  }
  s.records = std::int64_t(out.size());
  s.agreement = pairs ? double(agree) / double(pairs) : 0.0;
  if (stats) *stats = s;
  if (out.empty()) fail("collect_comparisons: no prompt got two non-empty completions from the policy");
  return out;
}

// The comparisons as K-wise JSONL, written atomically.
inline void write_comparisons_jsonl(const std::filesystem::path& file, std::span<const Comparison> comparisons) {
  data::JsonlWriter out(file);
  for (const Comparison& c : comparisons)
    out.write_ordered(
        nlohmann::ordered_json{{"prompt", c.prompt}, {"completions", c.completions}, {"ranking", c.ranking}});
  out.commit();
}

}  // namespace rlhf::train

// Compiled mode (RLHF_COMPILED, set by the CMake target rlhf::compiled): these specializations
// are compiled once, in src/; a translation unit that includes this header calls them instead.
#if defined(RLHF_COMPILED)
#include "rlhf/backend/cpu/tag.hpp"
#include "rlhf/data/any_tokenizer.hpp"
namespace rlhf::train {
extern template std::vector<Comparison> collect_comparisons(nn::GPT<float, cpu>&, const data::AnyTokenizer&,
                                                            const data::Labeler&, std::span<const std::string>,
                                                            const CollectConfig&, CollectStats*);
}  // namespace rlhf::train
#endif
