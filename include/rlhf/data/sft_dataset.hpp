#pragma once
// Supervised fine-tuning data in TRL's two JSONL formats, tokenised once at load time:
//   {"prompt": ..., "completion": ...}   prompt tokens + completion tokens + EOS;
//                                        the loss is on the completion and the EOS only
//   {"text": ...}                        text tokens + EOS; the loss is on every token
// One file holds one format (the first example decides; another is an error naming its line).
// Prompt and completion are tokenised separately and concatenated, so the boundary between
// what is learnt and what is not falls exactly between the two strings. EOS is appended unless
// the example already ends with it (TRL does the same).
//
// Truncation: an example longer than max_length (the model's context) keeps its FIRST
// max_length tokens, so a long completion loses its end (and its EOS). Next-token training
// never predicts token 0 (nothing precedes it), so an example needs a learnt token at position
// 1 or later; one left without (a prompt that fills the context, an empty text) is dropped.
// Both are counted in stats().
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rlhf/core/error.hpp"
#include "rlhf/data/batch.hpp"
#include "rlhf/data/jsonl.hpp"
#include "rlhf/data/tokenizer.hpp"

namespace rlhf::data {

enum class SftFormat { prompt_completion, text };

inline std::string_view to_string(SftFormat f) {
  return f == SftFormat::text ? R"({"text"})" : R"({"prompt", "completion"})";
}

struct SftExample {
  std::vector<std::int32_t> tokens;
  std::vector<std::uint8_t> loss_mask;  // per token: 1 to learn it (completion, EOS), 0 not (prompt)

  TokenSequence sequence() const { return {tokens, loss_mask}; }
  // Next-token targets that count: learnt tokens after position 0.
  std::int64_t targets() const {
    std::int64_t n = 0;
    for (std::size_t t = 1; t < loss_mask.size(); ++t) n += loss_mask[t] != 0;
    return n;
  }
};

// prompt (not learnt) + completion (learnt) + EOS (learnt, unless completion already ends with
// it), cut to the first max_length tokens. The text format is an empty prompt.
inline SftExample make_sft_example(std::span<const std::int32_t> prompt, std::span<const std::int32_t> completion,
                                   std::int32_t eos_id, std::int64_t max_length) {
  if (max_length < 1) fail("make_sft_example: max_length ", max_length, " is not positive");
  const bool add_eos = completion.empty() || completion.back() != eos_id;
  const std::size_t full = prompt.size() + completion.size() + (add_eos ? 1 : 0);
  const std::size_t n = std::min(full, static_cast<std::size_t>(max_length));
  SftExample e;
  e.tokens.reserve(n);
  e.loss_mask.reserve(n);
  for (std::size_t i = 0; i < prompt.size() && e.tokens.size() < n; ++i) {
    e.tokens.push_back(prompt[i]);
    e.loss_mask.push_back(0);
  }
  for (std::size_t i = 0; i < completion.size() && e.tokens.size() < n; ++i) {
    e.tokens.push_back(completion[i]);
    e.loss_mask.push_back(1);
  }
  if (add_eos && e.tokens.size() < n) {
    e.tokens.push_back(eos_id);
    e.loss_mask.push_back(1);
  }
  return e;
}

struct SftStats {
  std::int64_t records = 0;      // examples in the file
  std::int64_t truncated = 0;    // longer than max_length, cut (whether kept or dropped)
  std::int64_t dropped = 0;      // no target left after truncation: not in the dataset
  std::int64_t tokens = 0;       // tokens of the kept examples
  std::int64_t loss_tokens = 0;  // next-token targets that count, in the kept examples
};

class SftDataset {
 public:
  SftDataset(SftFormat format, std::int64_t max_length, std::vector<SftExample> examples, SftStats stats)
      : format_(format), max_length_(max_length), examples_(std::move(examples)), stats_(stats) {}

  SftFormat format() const { return format_; }
  std::int64_t max_length() const { return max_length_; }
  std::int64_t size() const { return static_cast<std::int64_t>(examples_.size()); }
  const SftExample& operator[](std::int64_t i) const {
    if (i < 0 || i >= size()) fail("SftDataset: example ", i, " outside [0, ", size(), ")");
    return examples_[static_cast<std::size_t>(i)];
  }
  std::span<const SftExample> examples() const { return examples_; }
  const SftStats& stats() const { return stats_; }

  // One line for the training log, e.g.
  // "1000 {"prompt", "completion"} examples: 12 truncated to 128 tokens, 3 dropped (nothing to learn left); 81234
  // tokens, 40321 targets"
  std::string summary() const {
    std::ostringstream s;
    s << stats_.records << ' ' << to_string(format_) << " examples: " << stats_.truncated << " truncated to "
      << max_length_ << " tokens, " << stats_.dropped << " dropped (nothing to learn left); " << stats_.tokens
      << " tokens, " << stats_.loss_tokens << " targets";
    return s.str();
  }

 private:
  SftFormat format_;
  std::int64_t max_length_;
  std::vector<SftExample> examples_;
  SftStats stats_;
};

// Reads and tokenises an SFT JSONL file. Errors (rlhf::error) name the file and line: missing,
// unknown or mistyped fields, mixed formats, malformed JSON; and a file with no usable example.
template <Tokenizer Tok>
SftDataset load_sft_jsonl(const std::filesystem::path& file, const Tok& tokenizer, std::int64_t max_length) {
  if (max_length < 2) fail("load_sft_jsonl: max_length ", max_length, " leaves no token to predict (at least 2)");
  static const JsonlFields prompt_completion{{"prompt", "completion"}};
  static const JsonlFields text{{"text"}};

  bool format_known = false;
  SftFormat format = SftFormat::text;
  std::int64_t format_line = 0;
  std::vector<SftExample> examples;
  SftStats stats;
  const std::int32_t eos = tokenizer.eos_id();

  read_jsonl(file, [&](const JsonlRecord& r) {
    const bool has_text = r.json().contains("text");
    const bool has_pc = r.json().contains("prompt") || r.json().contains("completion");
    if (!format_known) {
      if (has_text == has_pc) {
        std::string got;
        for (const auto& [key, value] : r.json().items()) got += (got.empty() ? "\"" : ", \"") + key + "\"";
        r.fail("expected the fields ", to_string(SftFormat::prompt_completion), " or ", to_string(SftFormat::text),
               ", got {", got, "}");
      }
      format = has_text ? SftFormat::text : SftFormat::prompt_completion;
      format_known = true;
      format_line = r.line();
    }
    const bool other_format = format == SftFormat::text ? has_pc && !has_text : has_text && !has_pc;
    if (other_format)
      r.fail("a ", to_string(format == SftFormat::text ? SftFormat::prompt_completion : SftFormat::text),
             " example in a file of ", to_string(format), " examples (line ", format_line,
             "): one file holds one format");

    SftExample e;
    std::size_t full = 0;
    if (format == SftFormat::text) {
      r.expect_fields(text);
      const std::vector<std::int32_t> ids = tokenizer.encode(r.string("text"));
      full = ids.size() + (ids.empty() || ids.back() != eos ? 1 : 0);
      e = make_sft_example({}, ids, eos, max_length);
    } else {
      r.expect_fields(prompt_completion);
      const std::vector<std::int32_t> prompt = tokenizer.encode(r.string("prompt"));
      const std::vector<std::int32_t> completion = tokenizer.encode(r.string("completion"));
      full = prompt.size() + completion.size() + (completion.empty() || completion.back() != eos ? 1 : 0);
      e = make_sft_example(prompt, completion, eos, max_length);
    }
    ++stats.records;
    stats.truncated += full > static_cast<std::size_t>(max_length);
    const std::int64_t targets = e.targets();
    if (targets == 0) {
      ++stats.dropped;
      return;
    }
    stats.tokens += static_cast<std::int64_t>(e.tokens.size());
    stats.loss_tokens += targets;
    examples.push_back(std::move(e));
  });

  if (stats.records == 0) fail(file.string(), ": no examples");
  if (examples.empty())
    fail(file.string(), ": all ", stats.records, " examples were dropped: none has a token to learn within the first ",
         max_length, " tokens");
  return SftDataset(format, max_length, std::move(examples), stats);
}

}  // namespace rlhf::data
