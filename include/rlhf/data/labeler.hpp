#pragma once
// Simulated labelers, in the role of InstructGPT's human labelers: a labeler gives each
// completion a noise-free ("gold") score and ranks K completions of a prompt the way a noisy
// human would, by a Plackett-Luce draw on the gold scores. A user's own labeler derives from
// Labeler and overrides score(); rank() then follows from it.
//
// Plackett-Luce (the K-wise Bradley-Terry model): the best completion is drawn with probability
// ∝ exp(s_i / τ) among all, the second among the rest, and so on; for K = 2 the better one wins
// with probability σ((s_1 − s_2) / τ). τ → 0 ranks by score; a large τ ranks at random. Draw
// layout: draw d of ranking k uses uniform(k·K + d) of the labeler's Philox stream, so a ranking
// is a pure function of (seed, k).
//
// SentimentLabeler, the default: the mean AFINN-165 valence of the completion's words (single
// words and two-word phrases of the lexicon, −5..+5), plus two terms that make gibberish and
// repetition lose:
//   gold = mean valence + w_dict · (share of words in the word list − 1)
//                       + w_distinct · (distinct words / words − 1)
// and `empty_score` for a completion without a word. Words are maximal runs of ASCII letters and
// apostrophes, lower-cased.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "rlhf/core/error.hpp"
#include "rlhf/core/philox.hpp"

namespace rlhf::data {

class Labeler {
 public:
  virtual ~Labeler() = default;
  // The noise-free score of `completion` as an answer to `prompt`; higher is better.
  virtual double score(std::string_view prompt, std::string_view completion) const = 0;

  // Ranks (1 = best) of the completions, drawn by Plackett-Luce on their scores at temperature
  // tau (> 0), with draws from ranking number `index` of `rng` (layout above).
  std::vector<std::int32_t> rank(std::string_view prompt, std::span<const std::string> completions, double tau,
                                 const PhiloxStream& rng, std::uint64_t index) const {
    std::vector<double> s;
    for (const std::string& c : completions) s.push_back(score(prompt, c));
    return plackett_luce_ranks(s, tau, rng, index);
  }

  static std::vector<std::int32_t> plackett_luce_ranks(std::span<const double> scores, double tau,
                                                       const PhiloxStream& rng, std::uint64_t index) {
    if (!(tau > 0) || !std::isfinite(tau)) fail("Labeler: the ranking temperature must be positive, got ", tau);
    const std::size_t K = scores.size();
    if (K == 0) fail("Labeler: no completions to rank");
    std::vector<std::size_t> left(K);
    for (std::size_t i = 0; i < K; ++i) left[i] = i;
    std::vector<std::int32_t> ranks(K, 0);
    for (std::size_t d = 0; d < K; ++d) {
      double top = -INFINITY;
      for (const std::size_t i : left) top = std::max(top, scores[i] / tau);
      double total = 0;
      for (const std::size_t i : left) total += std::exp(scores[i] / tau - top);
      const double u = rng.uniform(index * K + d) * total;
      double acc = 0;
      std::size_t pick = left.size() - 1;  // round-off fallback: the last candidate
      for (std::size_t j = 0; j < left.size(); ++j) {
        acc += std::exp(scores[left[j]] / tau - top);
        if (u < acc) {
          pick = j;
          break;
        }
      }
      ranks[left[pick]] = static_cast<std::int32_t>(d + 1);
      left.erase(left.begin() + static_cast<std::ptrdiff_t>(pick));
    }
    return ranks;
  }
};

// Lower-cased words: maximal runs of ASCII letters and apostrophes (trimmed of apostrophes).
inline std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> words;
  std::string w;
  auto flush = [&] {
    while (!w.empty() && w.front() == '\'') w.erase(w.begin());
    while (!w.empty() && w.back() == '\'') w.pop_back();
    if (!w.empty()) words.push_back(w);
    w.clear();
  };
  for (const char c : text) {
    if ((c >= 'a' && c <= 'z') || c == '\'') w += c;
    else if (c >= 'A' && c <= 'Z') w += char(c - 'A' + 'a');
    else flush();
  }
  flush();
  return words;
}

struct SentimentWeights {
  double dictionary = 2.0;  // w_dict: a completion of non-words loses this much
  double distinct =
      4.0;  // w_distinct: one word repeated loses up to this much (4 below the valence when one word repeats)
  double empty_score = -3;  // a completion without a word
};

class SentimentLabeler : public Labeler {
 public:
  // afinn: AFINN-165 as "word<TAB>score" lines (data/afinn-165.tsv); words: one word per line
  // (Debian's wamerican, /usr/share/dict/american-english). Errors name the file and line.
  SentimentLabeler(const std::filesystem::path& afinn, const std::filesystem::path& words,
                   SentimentWeights weights = {})
      : weights_(weights) {
    read_lines(afinn, [&](std::string_view line, std::int64_t n) {
      const auto tab = line.find('\t');
      if (tab == std::string_view::npos || tab == 0) fail(afinn.string(), ':', n, ": expected \"word<TAB>score\"");
      const std::string_view value = line.substr(tab + 1);
      std::size_t used = 0;
      int v = 0;
      try {
        v = std::stoi(std::string(value), &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != value.size() || v < -5 || v > 5)
        fail(afinn.string(), ':', n, ": the score \"", value, "\" is not an integer in [-5, 5]");
      std::string key;
      for (const std::string& w : words_of(line.substr(0, tab))) key += (key.empty() ? "" : " ") + w;
      if (key.empty()) fail(afinn.string(), ':', n, ": no word before the tab");
      valence_[key] = v;
    });
    read_lines(words, [&](std::string_view line, std::int64_t) {
      for (const std::string& w : words_of(line)) dictionary_.insert(w);
    });
    if (valence_.empty()) fail(afinn.string(), ": no entries");
    if (dictionary_.empty()) fail(words.string(), ": no words");
  }

  double score(std::string_view /*prompt*/, std::string_view completion) const override {
    const std::vector<std::string> w = words_of(completion);
    if (w.empty()) return weights_.empty_score;
    double valence = 0;
    std::size_t known = 0;
    std::unordered_set<std::string> distinct;
    for (std::size_t i = 0; i < w.size(); ++i) {
      distinct.insert(w[i]);
      known += dictionary_.contains(w[i]);
      // A two-word phrase of the lexicon ("no fun") takes precedence over its words.
      if (i + 1 < w.size())
        if (const auto it = valence_.find(w[i] + " " + w[i + 1]); it != valence_.end()) {
          valence += it->second;
          distinct.insert(w[i + 1]);
          known += dictionary_.contains(w[i + 1]);
          ++i;
          continue;
        }
      if (const auto it = valence_.find(w[i]); it != valence_.end()) valence += it->second;
    }
    const double n = double(w.size());
    return valence / n + weights_.dictionary * (double(known) / n - 1) +
           weights_.distinct * (double(distinct.size()) / n - 1);
  }

  std::size_t lexicon_size() const { return valence_.size(); }
  std::size_t dictionary_size() const { return dictionary_.size(); }

 private:
  template <class OnLine>
  static void read_lines(const std::filesystem::path& file, OnLine&& on_line) {
    std::ifstream in(file, std::ios::binary);
    if (!in) fail(file.string(), ": cannot open the file");
    std::string line;
    for (std::int64_t n = 1; std::getline(in, line); ++n) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      on_line(std::string_view(line), n);
    }
  }

  SentimentWeights weights_;
  std::unordered_map<std::string, int> valence_;
  std::unordered_set<std::string> dictionary_;
};

}  // namespace rlhf::data
