#pragma once
// Human comparisons for reward-model training, in the two JSONL formats of the ecosystem:
//   pairwise (Anthropic HH, TRL):  {"prompt": ..., "chosen": ..., "rejected": ...}  (+ "margin")
//   K-wise (InstructGPT):          {"prompt": ..., "completions": [K strings], "ranking": [K ints]}
// ranking[i] is the rank of completions[i], 1 = best; equal ranks are ties (no comparison).
// One file holds one format (the first record decides). Each record becomes one RankedGroup of
// K sequences (pairwise: K = 2, chosen first, ranks {1, 2}); a group is one batch element and is
// never split across batches.
//
// Each sequence is prompt tokens + completion tokens + EOS (unless the completion already ends
// with it), tokenised separately as in the SFT data, so the reward head reads the EOS. A group
// with a sequence longer than max_length is dropped and counted (as TRL's RewardTrainer filters
// by max_length): cutting it would move the head off the EOS, onto a text the labeler never saw.
//
// Errors name the file and line: a missing/unknown/mistyped field, an empty completion, K outside
// [2, 9], a ranking whose length differs from the completions', a rank outside [1, K], a
// margin outside [-max_margin, max_margin], mixed formats.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <numeric>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "rlhf/backend/cpu/tag.hpp"
#include "rlhf/core/error.hpp"
#include "rlhf/core/tensor.hpp"
#include "rlhf/data/jsonl.hpp"
#include "rlhf/data/tokenizer.hpp"
#include "rlhf/data/ranking.hpp"

namespace rlhf::data {

enum class PreferenceFormat { pairwise, kwise };

inline std::string_view to_string(PreferenceFormat f) {
  return f == PreferenceFormat::pairwise ? R"({"prompt", "chosen", "rejected"})"
                                         : R"({"prompt", "completions", "ranking"})";
}

inline constexpr std::int64_t min_completions = 2, max_completions = 9;
// A margin is in reward units (rewards are O(1)); beyond this the loss -log σ(d - m) is ~|m|, its
// gradient saturates, and in float the rewards' own differences fall below the margin's rounding.
inline constexpr double max_margin = 1e4;

struct PreferenceGroup {
  std::vector<std::vector<std::int32_t>> sequences;  // prompt + completion + EOS, one per completion
  std::vector<std::int32_t> ranks;                   // per completion, 1 = best
  std::int64_t prompt_length = 0;                    // tokens of the prompt at the start of each sequence
  double margin = 0;                                 // pairwise "margin" (0 when absent)
  std::int64_t line = 0;                             // where it came from

  std::int64_t completions() const { return static_cast<std::int64_t>(sequences.size()); }
  std::int64_t longest() const {
    std::size_t n = 0;
    for (const auto& s : sequences) n = std::max(n, s.size());
    return static_cast<std::int64_t>(n);
  }
  std::int64_t pairs() const { return static_cast<std::int64_t>(data::ranked_pairs(ranks).size()); }
};

struct PreferenceStats {
  std::int64_t records = 0;      // records in the file
  std::int64_t too_long = 0;     // dropped: a sequence longer than max_length
  std::int64_t all_tied = 0;     // dropped: every completion has the same rank (no comparison)
  std::int64_t completions = 0;  // in the kept groups
  std::int64_t pairs = 0;        // untied comparisons in the kept groups
  std::int64_t tokens = 0;
};

class PreferenceDataset {
 public:
  PreferenceDataset(PreferenceFormat format, std::int64_t max_length, std::int32_t eos_id, bool has_margin,
                    std::vector<PreferenceGroup> groups, PreferenceStats stats)
      : format_(format),
        max_length_(max_length),
        eos_id_(eos_id),
        has_margin_(has_margin),
        groups_(std::move(groups)),
        stats_(stats) {}

  PreferenceFormat format() const { return format_; }
  std::int64_t max_length() const { return max_length_; }
  std::int32_t eos_id() const { return eos_id_; }
  bool has_margin() const { return has_margin_; }  // some pairwise record gave a "margin"
  std::int64_t size() const { return static_cast<std::int64_t>(groups_.size()); }
  const PreferenceGroup& operator[](std::int64_t i) const {
    if (i < 0 || i >= size()) fail("PreferenceDataset: group ", i, " outside [0, ", size(), ")");
    return groups_[static_cast<std::size_t>(i)];
  }
  const PreferenceStats& stats() const { return stats_; }

  std::string summary() const {
    std::ostringstream s;
    s << stats_.records << ' ' << to_string(format_) << " records: " << size() << " kept, " << stats_.too_long
      << " dropped as longer than " << max_length_ << " tokens, " << stats_.all_tied << " dropped as all tied; "
      << stats_.completions << " completions, " << stats_.pairs << " comparisons, " << stats_.tokens << " tokens";
    return s.str();
  }

 private:
  PreferenceFormat format_;
  std::int64_t max_length_;
  std::int32_t eos_id_;
  bool has_margin_;
  std::vector<PreferenceGroup> groups_;
  PreferenceStats stats_;
};

// Where the reward head reads a sequence: its first EOS at or after position `from` (the
// response's start), else its last token. nn::reward_positions applies the same rule to padded
// batches.
inline std::int32_t reward_position(std::span<const std::int32_t> sequence, std::int64_t from, std::int32_t eos_id) {
  for (std::size_t t = static_cast<std::size_t>(std::max<std::int64_t>(from, 0)); t < sequence.size(); ++t)
    if (sequence[t] == eos_id) return static_cast<std::int32_t>(t);
  return static_cast<std::int32_t>(sequence.size()) - 1;
}

// prompt + completion + EOS (not doubled when the completion ends with it).
inline std::vector<std::int32_t> prompt_completion_sequence(std::span<const std::int32_t> prompt,
                                                            std::span<const std::int32_t> completion,
                                                            std::int32_t eos_id) {
  std::vector<std::int32_t> s(prompt.begin(), prompt.end());
  s.insert(s.end(), completion.begin(), completion.end());
  if (completion.empty() || completion.back() != eos_id) s.push_back(eos_id);
  return s;
}

template <Tokenizer Tok>
PreferenceDataset load_preference_jsonl(const std::filesystem::path& file, const Tok& tokenizer,
                                        std::int64_t max_length) {
  if (max_length < 2) fail("load_preference_jsonl: max_length ", max_length, " is too short (at least 2)");
  static const JsonlFields pairwise{{"prompt", "chosen", "rejected"}, {"margin"}};
  static const JsonlFields kwise{{"prompt", "completions", "ranking"}};
  bool format_known = false, has_margin = false;
  PreferenceFormat format = PreferenceFormat::pairwise;
  std::int64_t format_line = 0;
  std::vector<PreferenceGroup> groups;
  PreferenceStats stats;
  const std::int32_t eos = tokenizer.eos_id();

  read_jsonl(file, [&](const JsonlRecord& r) {
    const bool is_pair = r.json().contains("chosen") || r.json().contains("rejected");
    const bool is_kwise = r.json().contains("completions") || r.json().contains("ranking");
    if (!format_known) {
      if (is_pair == is_kwise)
        r.fail("expected the fields ", to_string(PreferenceFormat::pairwise), " or ",
               to_string(PreferenceFormat::kwise));
      format = is_pair ? PreferenceFormat::pairwise : PreferenceFormat::kwise;
      format_known = true;
      format_line = r.line();
    }
    if ((format == PreferenceFormat::pairwise && is_kwise && !is_pair) ||
        (format == PreferenceFormat::kwise && is_pair && !is_kwise))
      r.fail(
          "a ", to_string(format == PreferenceFormat::pairwise ? PreferenceFormat::kwise : PreferenceFormat::pairwise),
          " record in a file of ", to_string(format), " records (line ", format_line, "): one file holds one format");
    r.expect_fields(format == PreferenceFormat::pairwise ? pairwise : kwise);

    PreferenceGroup g;
    g.line = r.line();
    std::vector<std::string> completions;
    if (format == PreferenceFormat::pairwise) {
      completions = {r.string("chosen"), r.string("rejected")};
      g.ranks = {1, 2};
      if (r.has("margin")) {
        g.margin = r.number("margin");
        if (!(std::abs(g.margin) <= max_margin))
          r.fail("field \"margin\" is ", g.margin, "; it must be within [-", max_margin, ", ", max_margin, "]");
        has_margin = true;
      }
    } else {
      completions = r.strings("completions");
      const auto K = static_cast<std::int64_t>(completions.size());
      if (K < min_completions || K > max_completions)
        r.fail("field \"completions\" has ", K, " completions; K must lie in [", min_completions, ", ", max_completions,
               "]");
      const std::vector<std::int64_t> ranking = r.integers("ranking");
      if (static_cast<std::int64_t>(ranking.size()) != K)
        r.fail("field \"ranking\" has ", ranking.size(), " ranks for ", K, " completions");
      for (std::size_t i = 0; i < ranking.size(); ++i) {
        if (ranking[i] < 1 || ranking[i] > K)
          r.fail("field \"ranking\": rank ", ranking[i], " of completion ", i, " is outside [1, ", K, "] (1 = best)");
        g.ranks.push_back(static_cast<std::int32_t>(ranking[i]));
      }
    }
    const std::vector<std::int32_t> prompt = tokenizer.encode(r.string("prompt"));
    g.prompt_length = static_cast<std::int64_t>(prompt.size());
    for (std::size_t i = 0; i < completions.size(); ++i) {
      if (completions[i].empty())
        r.fail(format == PreferenceFormat::pairwise ? (i == 0 ? "field \"chosen\"" : "field \"rejected\"")
                                                    : "field \"completions\": completion " + std::to_string(i),
               " is empty");
      g.sequences.push_back(prompt_completion_sequence(prompt, tokenizer.encode(completions[i]), eos));
    }
    ++stats.records;
    if (g.longest() > max_length) {
      ++stats.too_long;
      return;
    }
    if (g.pairs() == 0) {
      ++stats.all_tied;
      return;
    }
    stats.completions += g.completions();
    stats.pairs += g.pairs();
    for (const auto& s : g.sequences) stats.tokens += static_cast<std::int64_t>(s.size());
    groups.push_back(std::move(g));
  });
  if (stats.records == 0) fail(file.string(), ": no records");
  if (groups.empty())
    fail(file.string(), ": all ", stats.records, " records were dropped (", stats.too_long, " longer than ", max_length,
         " tokens, ", stats.all_tied, " all tied)");
  return PreferenceDataset(format, max_length, eos, has_margin, std::move(groups), stats);
}

// Micro-batches of whole groups under a token budget: the groups are taken longest first and
// each micro-batch holds as many as fit rows × longest ≤ max_tokens (at least one group), so the
// padded batches are balanced by tokens and short groups are not padded to long ones.
// Returns lists of indices into `groups_of_step` (dataset indices).
inline std::vector<std::vector<std::int64_t>> plan_micro_batches(const PreferenceDataset& data,
                                                                 std::span<const std::int64_t> groups_of_step,
                                                                 std::int64_t max_tokens) {
  if (max_tokens <= 0) fail("plan_micro_batches: max_tokens must be positive, got ", max_tokens);
  std::vector<std::int64_t> order(groups_of_step.begin(), groups_of_step.end());
  std::stable_sort(order.begin(), order.end(),
                   [&](std::int64_t a, std::int64_t b) { return data[a].longest() > data[b].longest(); });
  std::vector<std::vector<std::int64_t>> batches;
  std::int64_t rows = 0, longest = 0;
  for (const std::int64_t g : order) {
    const PreferenceGroup& group = data[g];
    const std::int64_t new_rows = rows + group.completions(), new_longest = std::max(longest, group.longest());
    if (batches.empty() || new_rows * new_longest > max_tokens) {
      batches.push_back({g});
      rows = group.completions();
      longest = group.longest();
    } else {
      batches.back().push_back(g);
      rows = new_rows;
      longest = new_longest;
    }
  }
  return batches;
}

// A batch of whole groups for the reward model: every sequence of every group is a row, right-
// padded; read_at[row] is the position of its EOS; groups[g] says which rows are group g's.
template <class M = float>
struct RewardBatch {
  View<const std::int32_t, cpu> ids;  // [rows, T]
  View<const M, cpu> key_mask;        // [rows, T]
  std::vector<std::int32_t> read_at;  // [rows]
  std::vector<data::RankedGroup> groups;
  std::vector<double> margins;  // per group (pairwise)
  std::int64_t tokens = 0;      // real tokens
  std::int64_t rows() const { return ids.size(0); }
};

template <class M = float>
class RewardBatcher {
 public:
  explicit RewardBatcher(std::int32_t pad_id = 0) : pad_id_(pad_id) {}

  const RewardBatch<M>& fill(const PreferenceDataset& data, std::span<const std::int64_t> group_indices) {
    if (group_indices.empty()) fail("RewardBatcher: empty batch");
    std::int64_t rows = 0, T = 0;
    for (const std::int64_t g : group_indices) {
      rows += data[g].completions();
      T = std::max(T, data[g].longest());
    }
    if (ids_.numel() < rows * T) {
      ids_ = Tensor<std::int32_t, cpu>(Shape{rows * T});
      key_mask_ = Tensor<M, cpu>(Shape{rows * T});
    }
    std::fill(ids_.data(), ids_.data() + rows * T, pad_id_);
    std::fill(key_mask_.data(), key_mask_.data() + rows * T, M(0));
    batch_.read_at.clear();
    batch_.groups.clear();
    batch_.margins.clear();
    batch_.tokens = 0;
    std::int64_t row = 0;
    for (const std::int64_t g : group_indices) {
      const PreferenceGroup& group = data[g];
      batch_.groups.push_back({row, group.ranks});
      batch_.margins.push_back(group.margin);
      for (const auto& s : group.sequences) {
        std::copy(s.begin(), s.end(), ids_.data() + row * T);
        std::fill(key_mask_.data() + row * T, key_mask_.data() + row * T + static_cast<std::int64_t>(s.size()), M(1));
        batch_.read_at.push_back(reward_position(s, group.prompt_length, data.eos_id()));
        batch_.tokens += static_cast<std::int64_t>(s.size());
        ++row;
      }
    }
    batch_.ids = View<const std::int32_t, cpu>(ids_.data(), Shape{rows, T});
    batch_.key_mask = View<const M, cpu>(key_mask_.data(), Shape{rows, T});
    return batch_;
  }

 private:
  std::int32_t pad_id_;
  Tensor<std::int32_t, cpu> ids_;
  Tensor<M, cpu> key_mask_;
  RewardBatch<M> batch_;
};

}  // namespace rlhf::data
