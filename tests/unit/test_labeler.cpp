// Simulated labelers: the sentiment labeler's gold score (AFINN-165 valence, dictionary share,
// distinct-word ratio) by hand, its file errors, and the Plackett-Luce rankings: deterministic
// per seed, sorted as τ → 0, and for K = 2 the Bradley-Terry win rate σ((s1 − s2)/τ).
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "rlhf/data/labeler.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

namespace test_labeler {

namespace fs = std::filesystem;
using rlhf::data::SentimentLabeler;
using testing::error_of;

namespace {

const fs::path afinn = fs::path(RLHF_DATA_DIR) / "afinn-165.tsv";

// A small word list: the tests do not depend on the system's.
fs::path word_list(const testing::TempDir& dir) {
  return dir.write("words.txt", "a\nday\ngood\ngreat\nbad\nawful\nit\nis\nwas\nthe\nfun\nno\nvery\nsun\nto\nyou\n");
}

}  // namespace

TEST_CASE("labeler: words are lower-cased runs of letters and apostrophes") {
  CHECK(rlhf::data::words_of("It's a GOOD day -- 'really'!") ==
        std::vector<std::string>{"it's", "a", "good", "day", "really"});
  CHECK(rlhf::data::words_of("  42 ... ").empty());
}

TEST_CASE("labeler: the sentiment labeler's gold score by hand") {
  testing::TempDir dir;
  const SentimentLabeler lab(afinn, word_list(dir));
  CHECK(lab.lexicon_size() > 3000);
  // AFINN: good +3, great +3, bad −3, awful −3; every word known and distinct.
  CHECK(lab.score("", "good great") == doctest::Approx((3 + 3) / 2.0));
  CHECK(lab.score("", "bad awful day") == doctest::Approx((-3 - 3) / 3.0));
  CHECK(lab.score("", "a good day to you") == doctest::Approx(3 / 5.0));
  // Repetition: 4 words, 1 distinct: (12/4) + 4·(1/4 − 1).
  CHECK(lab.score("", "good good good good") == doctest::Approx(3 + 4 * (0.25 - 1)));
  // Gibberish: no word in the list, no valence: 2·(0 − 1).
  CHECK(lab.score("", "xqzt vbnm") == doctest::Approx(-2.0));
  CHECK(lab.score("", "") == -3);
  CHECK(lab.score("", "...") == -3);
  // A two-word phrase of the lexicon counts once: "no fun" is −3 (not "no" −1 plus "fun" +4).
  CHECK(lab.score("", "no fun") == doctest::Approx(-3 / 2.0));
  // What the labeler is for: sentiment wins, gibberish and repetition lose.
  CHECK(lab.score("", "it was a great day") > lab.score("", "it was a bad day"));
  CHECK(lab.score("", "a good day to you") > lab.score("", "good good good good good"));
  CHECK(lab.score("", "the sun is good") > lab.score("", "thw sn iz goood"));
}

TEST_CASE("labeler: lexicon and word-list errors name the file and the line") {
  testing::TempDir dir;
  const fs::path words = word_list(dir);
  const fs::path no_tab = dir.write("a.tsv", "good\t3\nbad -3\n");
  CHECK(error_of([&] { SentimentLabeler(no_tab, words); }).find("a.tsv:2: expected \"word<TAB>score\"") !=
        std::string::npos);
  const fs::path bad_score = dir.write("b.tsv", "good\t3\nbad\tvery\n");
  CHECK(error_of([&] {
          SentimentLabeler(bad_score, words);
        }).find("b.tsv:2: the score \"very\" is not an integer in [-5, 5]") != std::string::npos);
  const fs::path out_of_range = dir.write("c.tsv", "good\t9\n");
  CHECK(error_of([&] { SentimentLabeler(out_of_range, words); }).find("c.tsv:1: the score \"9\"") != std::string::npos);
  CHECK(error_of([&] { SentimentLabeler(dir / "missing.tsv", words); }).find("missing.tsv: cannot open the file") !=
        std::string::npos);
  CHECK(error_of([&] { SentimentLabeler(afinn, dir / "nowords"); }).find("nowords: cannot open the file") !=
        std::string::npos);
}

TEST_CASE("labeler: Plackett-Luce rankings — deterministic, sorted at low temperature, Bradley-Terry for K = 2") {
  using rlhf::data::Labeler;
  const rlhf::PhiloxStream rng{17, 3};
  const std::vector<double> s{0.5, 2.0, -1.0, 1.0};
  CHECK(Labeler::plackett_luce_ranks(s, 1.0, rng, 5) == Labeler::plackett_luce_ranks(s, 1.0, rng, 5));
  CHECK(Labeler::plackett_luce_ranks(s, 1e-3, rng, 0) == std::vector<std::int32_t>{3, 1, 4, 2});
  // Every ranking is a permutation of 1..K.
  for (std::uint64_t k = 0; k < 50; ++k) {
    auto r = Labeler::plackett_luce_ranks(s, 2.0, rng, k);
    std::sort(r.begin(), r.end());
    CHECK(r == std::vector<std::int32_t>{1, 2, 3, 4});
  }
  // K = 2: the better completion is ranked first with probability σ((s1 − s2)/τ).
  const std::vector<double> pair{1.0, 0.0};
  const double tau = 0.8, want = 1 / (1 + std::exp(-(1.0 - 0.0) / tau));
  int wins = 0;
  const int n = 20000;
  for (int k = 0; k < n; ++k) wins += Labeler::plackett_luce_ranks(pair, tau, rng, std::uint64_t(k))[0] == 1;
  const double rate = double(wins) / n, sd = std::sqrt(want * (1 - want) / n);
  MESSAGE("win rate ", rate, ", Bradley-Terry ", want);
  CHECK(std::abs(rate - want) < 4 * sd);
  CHECK_THROWS_WITH(Labeler::plackett_luce_ranks(pair, 0.0, rng, 0),
                    "Labeler: the ranking temperature must be positive, got 0");
}

TEST_CASE("labeler: a user's own labeler plugs in through score()") {
  struct Longer : rlhf::data::Labeler {
    double score(std::string_view, std::string_view c) const override { return double(c.size()); }
  };
  const Longer lab;
  const std::vector<std::string> completions{"ab", "abcdef", "abcd"};
  CHECK(lab.rank("q", completions, 1e-3, rlhf::PhiloxStream{1, 0}, 0) == std::vector<std::int32_t>{3, 1, 2});
}

}  // namespace test_labeler
