// Data: the JSONL reader and writer with every error message, SFT datasets in both formats
// (masks, truncation, drops), the validation split and the per-epoch shuffle (determinism,
// permutation, resume, the documented Philox layout), and batching (shift, padding, masks).
// Test files are written into a fresh temporary directory.
#include <doctest/doctest.h>

#include "temp_dir.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "rlhf/data/batch.hpp"
#include "rlhf/data/jsonl.hpp"
#include "rlhf/data/sft_dataset.hpp"
#include "rlhf/data/shuffle.hpp"
#include "rlhf/data/tokenizer.hpp"
#include "rlhf/files/json_text.hpp"

namespace test_data {

namespace fs = std::filesystem;
using namespace rlhf::data;

namespace {

// Byte ids 0..255, EOS = 256; the text "<eos>" encodes as EOS.
struct TestTokenizer {
  static constexpr std::int32_t eos = 256;
  std::vector<std::int32_t> encode(std::string_view text) const {
    std::vector<std::int32_t> ids;
    for (std::size_t i = 0; i < text.size();) {
      if (text.substr(i).starts_with("<eos>")) {
        ids.push_back(eos);
        i += 5;
      } else {
        ids.push_back(static_cast<std::uint8_t>(text[i++]));
      }
    }
    return ids;
  }
  std::string decode(std::span<const std::int32_t> ids) const {
    std::string s;
    for (const std::int32_t id : ids) s += id == eos ? std::string("<eos>") : std::string(1, static_cast<char>(id));
    return s;
  }
  std::int64_t vocab_size() const { return 257; }
  std::int32_t eos_id() const { return eos; }
};
static_assert(Tokenizer<TestTokenizer>);

// A fresh directory, removed with everything in it at the end of the test.
using testing::TempDir;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The message of the rlhf::error f throws ("" if none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const rlhf::error& e) {
    return e.what();
  }
  return "";
}

std::vector<std::int32_t> ids_of(std::string_view s) { return TestTokenizer{}.encode(s); }

template <class T>
std::vector<std::remove_const_t<T>> values(rlhf::View<T, rlhf::cpu> v) {
  return {v.span().begin(), v.span().end()};
}

}  // namespace

// --- JSONL ---------------------------------------------------------------------------------

TEST_CASE("data: jsonl reads objects line by line, skipping blank lines, numbering every line") {
  TempDir dir;
  const fs::path f = dir.write("a.jsonl",
                               "{\"prompt\": \"p1\", \"completion\": \"c1\"}\n"
                               "\n"
                               "   \t\r\n"
                               "{\"completion\": \"c2\", \"prompt\": \"p2\"}\r\n"
                               "{\"prompt\": \"p3\", \"completion\": \"c3\"}");  // no final newline
  std::vector<std::int64_t> lines;
  std::vector<std::string> prompts;
  read_jsonl(f, JsonlFields{{"prompt", "completion"}}, [&](const JsonlRecord& r) {
    lines.push_back(r.line());
    prompts.push_back(r.string("prompt"));
    CHECK(r.file() == f.string());
  });
  CHECK(lines == std::vector<std::int64_t>{1, 4, 5});
  CHECK(prompts == std::vector<std::string>{"p1", "p2", "p3"});
}

TEST_CASE("json text: a key twice in one object is an error naming its path, at any depth") {
  using rlhf::files::parse_json;
  CHECK(parse_json(R"({"a": 1, "b": {"a": 2}, "c": [{"a": 3}, {"a": 4}]})", "ok.json").at("c").size() == 2);
  CHECK(error_of([] { parse_json(R"({"lr": 1, "lr": 2})", "run.json"); }) == "run.json: key \"lr\" appears twice");
  CHECK(error_of([] { parse_json(R"({"ppo": {"kl_coef": 1, "steps": 2, "kl_coef": 3}})", "run.json"); }) ==
        "run.json: key \"ppo.kl_coef\" appears twice");
  CHECK(error_of([] { parse_json(R"({"x": [{"a": 1}, {"a": 1, "a": 2}]})", "f.json"); }) ==
        "f.json: key \"x[].a\" appears twice");
  CHECK(error_of([] {
          parse_json("{\"a\": 1,\n \"b\": }", "f.json");
        }).starts_with("f.json: not valid JSON: parse error at line 2"));
}

TEST_CASE("data: jsonl errors name file, line and field") {
  TempDir dir;
  const JsonlFields pc{{"prompt", "completion"}};
  const auto read = [&](const fs::path& f, const JsonlFields& fields) {
    return error_of([&] { read_jsonl(f, fields, [](const JsonlRecord&) {}); });
  };
  const std::string ok = "{\"prompt\": \"p\", \"completion\": \"c\"}\n";

  const fs::path missing = dir.path / "missing.jsonl";
  CHECK(read(missing, pc) == "cannot open " + missing.string() + ": No such file or directory");
  CHECK(read(dir.path, pc) == "cannot open " + dir.path.string() + ": Is a directory");

  const fs::path bad_json = dir.write("bad.jsonl", ok + "\n{\"prompt\": \"p\", \"completion\": }\n");
  const std::string malformed = read(bad_json, pc);
  CHECK(malformed.starts_with(bad_json.string() + ":3: malformed JSON: parse error at column 31: syntax error"));
  CHECK(malformed.find("[json.exception") == std::string::npos);

  const fs::path overflow = dir.write("overflow.jsonl", "{\"margin\": 1e999}\n");
  CHECK(read(overflow, {{}, {"margin"}}).starts_with(overflow.string() + ":1: malformed JSON: "));

  const fs::path twice =
      dir.write("twice.jsonl", ok + "{\"prompt\": \"p\", \"completion\": \"c\", \"prompt\": \"q\"}\n");
  CHECK(read(twice, pc) == twice.string() + ":2: key \"prompt\" appears twice");

  const fs::path array = dir.write("array.jsonl", ok + "[1, 2]\n");
  CHECK(read(array, pc) == array.string() + ":2: expected a JSON object, got array");

  const fs::path no_completion = dir.write("no_completion.jsonl", ok + ok + "{\"prompt\": \"p\"}\n");
  CHECK(read(no_completion, pc) == no_completion.string() + ":3: missing field \"completion\"");

  const fs::path typo = dir.write("typo.jsonl", "{\"prompt\": \"p\", \"complete\": \"c\"}\n");
  CHECK(read(typo, pc) == typo.string() + ":1: unknown field \"complete\" (allowed: \"prompt\", \"completion\")");
  CHECK(read(typo, {{"prompt"}, {"margin"}}) ==
        typo.string() + ":1: unknown field \"complete\" (allowed: \"prompt\", \"margin\")");

  const fs::path number = dir.write("number.jsonl", "{\"prompt\": 3, \"completion\": \"c\"}\n");
  const std::string wrong_type =
      error_of([&] { read_jsonl(number, pc, [](const JsonlRecord& r) { (void)r.string("prompt"); }); });
  CHECK(wrong_type == number.string() + ":1: field \"prompt\" must be a string");

  // A directory that cannot hold the file is "cannot open" too.
  const fs::path nowhere = dir.path / "no_dir" / "x.jsonl";
  CHECK(read(nowhere, pc) == "cannot open " + nowhere.string() + ": No such file or directory");
}

TEST_CASE("data: jsonl typed accessors serve the reward-model formats") {
  TempDir dir;
  // Pairwise preferences (Anthropic HH / TRL) with an optional margin; null counts as absent.
  const fs::path pairs =
      dir.write("pairs.jsonl",
                "{\"prompt\": \"q\", \"chosen\": \"good\", \"rejected\": \"bad\"}\n"
                "{\"prompt\": \"q\", \"chosen\": \"good\", \"rejected\": \"bad\", \"margin\": 2}\n"
                "{\"prompt\": \"q\", \"chosen\": \"good\", \"rejected\": \"bad\", \"margin\": null}\n"
                "{\"prompt\": \"q\", \"chosen\": \"good\", \"rejected\": \"bad\", \"margin\": 0.5}\n");
  const JsonlFields pair_fields{{"prompt", "chosen", "rejected"}, {"margin"}};
  std::vector<double> margins;
  read_jsonl(pairs, pair_fields, [&](const JsonlRecord& r) {
    CHECK(r.string("chosen") == "good");
    margins.push_back(r.has("margin") ? r.number("margin") : 0.0);
  });
  CHECK(margins == std::vector<double>{0.0, 2.0, 0.0, 0.5});

  const fs::path bad_margin =
      dir.write("bad_margin.jsonl", "{\"prompt\": \"q\", \"chosen\": \"a\", \"rejected\": \"b\", \"margin\": \"1\"}\n");
  CHECK(error_of([&] {
          read_jsonl(bad_margin, pair_fields, [](const JsonlRecord& r) { (void)r.number("margin"); });
        }) == bad_margin.string() + ":1: field \"margin\" must be a number");

  // K-wise rankings (InstructGPT); the caller's own checks fail in the same style.
  const JsonlFields ranking_fields{{"prompt", "completions", "ranking"}};
  const fs::path ranks =
      dir.write("ranks.jsonl",
                "{\"prompt\": \"q\", \"completions\": [\"a\", \"b\", \"c\"], \"ranking\": [2, 1, 3]}\n"
                "{\"prompt\": \"q\", \"completions\": [\"a\", \"b\"], \"ranking\": [1, 2, 3]}\n");
  const std::string mismatch = error_of([&] {
    read_jsonl(ranks, ranking_fields, [](const JsonlRecord& r) {
      const std::vector<std::string> completions = r.strings("completions");
      const std::vector<std::int64_t> ranking = r.integers("ranking");
      if (r.line() == 1) {
        CHECK(completions == std::vector<std::string>{"a", "b", "c"});
        CHECK(ranking == std::vector<std::int64_t>{2, 1, 3});
      }
      if (ranking.size() != completions.size())
        r.fail("ranking has ", ranking.size(), " entries but completions has ", completions.size());
    });
  });
  CHECK(mismatch == ranks.string() + ":2: ranking has 3 entries but completions has 2");

  const auto field_error = [&](std::string_view line, auto&& access) {
    const fs::path f = dir.write("one.jsonl", std::string(line) + "\n");
    return error_of([&] { read_jsonl(f, [&](const JsonlRecord& r) { access(r); }); });
  };
  const std::string one = (dir.path / "one.jsonl").string();
  CHECK(field_error(R"({"completions": ["a", 2]})", [](const JsonlRecord& r) { (void)r.strings("completions"); }) ==
        one + ":1: field \"completions\" must be an array of strings");
  CHECK(field_error(R"({"completions": "a"})", [](const JsonlRecord& r) { (void)r.strings("completions"); }) ==
        one + ":1: field \"completions\" must be an array of strings");
  CHECK(field_error(R"({"ranking": [1, 2.5]})", [](const JsonlRecord& r) { (void)r.integers("ranking"); }) ==
        one + ":1: field \"ranking\" must be an array of integers");
  CHECK(field_error(R"({"k": 2.0})", [](const JsonlRecord& r) { (void)r.integer("k"); }) ==
        one + ":1: field \"k\" must be an integer");
  CHECK(field_error(R"({"k": 18446744073709551615})", [](const JsonlRecord& r) { (void)r.integer("k"); }) ==
        one + ":1: field \"k\" must be an integer");
  CHECK(field_error(R"({"k": true})", [](const JsonlRecord& r) { (void)r.number("k"); }) ==
        one + ":1: field \"k\" must be a number");
  CHECK(field_error(R"({"k": 1})", [](const JsonlRecord& r) { (void)r.string("x"); }) ==
        one + ":1: missing field \"x\"");
  CHECK(field_error(R"({"k": -7})", [](const JsonlRecord& r) { CHECK(r.integer("k") == -7); }) == "");
}

TEST_CASE("data: jsonl writer commits whole lines atomically") {
  TempDir dir;
  const fs::path out = dir.path / "out.jsonl";
  {
    JsonlWriter w(out);
    w.write({{"prompt", "a"}, {"score", 1.5}});
    w.write({{"text", std::string("bad \xff byte")}});
    CHECK(w.lines() == 2);
    CHECK_FALSE(fs::exists(out));  // nothing under the target name before commit
    w.commit();
  }
  CHECK(read_text(out) == "{\"prompt\":\"a\",\"score\":1.5}\n{\"text\":\"bad \xEF\xBF\xBD byte\"}\n");

  // Dropped without commit: the old file stays, no temporary is left behind.
  {
    JsonlWriter w(out);
    w.write({{"x", 1}});
  }
  CHECK(read_text(out).starts_with("{\"prompt\""));
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);

  // Asked to be strict, invalid UTF-8 is an error naming the record.
  JsonlWriter strict(dir.path / "strict.jsonl", nlohmann::json::error_handler_t::strict);
  strict.write({{"ok", "fine"}});
  CHECK(error_of([&] {
          strict.write({{"text", std::string("\xff")}});
        }).starts_with("cannot write " + (dir.path / "strict.jsonl").string() + ": record 2: "));

  // The output reads back.
  std::int64_t n = 0;
  read_jsonl(out, [&](const JsonlRecord&) { ++n; });
  CHECK(n == 2);
}

// --- SFT -----------------------------------------------------------------------------------

TEST_CASE("data: sft prompt/completion format masks the prompt, learns completion and EOS") {
  TempDir dir;
  const fs::path f = dir.write("pc.jsonl",
                               "{\"prompt\": \"ab\", \"completion\": \"cd\"}\n"
                               "{\"prompt\": \"\", \"completion\": \"xy\"}\n"
                               "{\"prompt\": \"q\", \"completion\": \"\"}\n");
  const SftDataset d = load_sft_jsonl(f, TestTokenizer{}, 16);
  CHECK(d.format() == SftFormat::prompt_completion);
  REQUIRE(d.size() == 3);
  CHECK(d[0].tokens == std::vector<std::int32_t>{'a', 'b', 'c', 'd', 256});
  CHECK(d[0].loss_mask == std::vector<std::uint8_t>{0, 0, 1, 1, 1});
  CHECK(d[1].tokens == std::vector<std::int32_t>{'x', 'y', 256});
  CHECK(d[1].loss_mask == std::vector<std::uint8_t>{1, 1, 1});
  CHECK(d[2].tokens == std::vector<std::int32_t>{'q', 256});  // empty completion: learn to stop
  CHECK(d[2].loss_mask == std::vector<std::uint8_t>{0, 1});
  CHECK(d.stats().records == 3);
  CHECK(d.stats().truncated == 0);
  CHECK(d.stats().dropped == 0);
  CHECK(d.stats().tokens == 10);
  CHECK(d.stats().loss_tokens == 3 + 2 + 1);  // targets: token 0 is never predicted
}

TEST_CASE("data: sft text format learns every token; EOS is appended once") {
  TempDir dir;
  const fs::path f = dir.write("text.jsonl", "{\"text\": \"xyz\"}\n{\"text\": \"hi<eos>\"}\n");
  const SftDataset d = load_sft_jsonl(f, TestTokenizer{}, 16);
  CHECK(d.format() == SftFormat::text);
  REQUIRE(d.size() == 2);
  CHECK(d[0].tokens == std::vector<std::int32_t>{'x', 'y', 'z', 256});
  CHECK(d[0].loss_mask == std::vector<std::uint8_t>{1, 1, 1, 1});
  CHECK(d[1].tokens == std::vector<std::int32_t>{'h', 'i', 256});  // already ends with EOS
  CHECK(d.stats().loss_tokens == 3 + 2);
}

TEST_CASE("data: sft truncation keeps the first max_length tokens and drops what has nothing to learn") {
  TempDir dir;
  const fs::path f = dir.write("trunc.jsonl",
                               "{\"prompt\": \"ab\", \"completion\": \"cdef\"}\n"  // 7 -> 4, kept
                               "{\"prompt\": \"abcd\", \"completion\": \"e\"}\n"   // 6 -> prompt only: dropped
                               "{\"prompt\": \"abc\", \"completion\": \"d\"}\n"    // 5 -> abcd, kept
                               "{\"prompt\": \"abc\", \"completion\": \"\"}\n"     // abc<eos>: fits exactly
                               "{\"prompt\": \"a\", \"completion\": \"b\"}\n");    // short
  const SftDataset d = load_sft_jsonl(f, TestTokenizer{}, 4);
  REQUIRE(d.size() == 4);
  CHECK(d[0].tokens == std::vector<std::int32_t>{'a', 'b', 'c', 'd'});  // lost "ef" and EOS
  CHECK(d[0].loss_mask == std::vector<std::uint8_t>{0, 0, 1, 1});
  CHECK(d[1].tokens == std::vector<std::int32_t>{'a', 'b', 'c', 'd'});
  CHECK(d[1].loss_mask == std::vector<std::uint8_t>{0, 0, 0, 1});
  CHECK(d[2].tokens == std::vector<std::int32_t>{'a', 'b', 'c', 256});
  CHECK(d[3].tokens == std::vector<std::int32_t>{'a', 'b', 256});
  CHECK(d.stats().records == 5);
  CHECK(d.stats().truncated == 3);
  CHECK(d.stats().dropped == 1);
  CHECK(d.stats().tokens == 15);
  CHECK(d.stats().loss_tokens == 2 + 1 + 1 + 2);
  CHECK(d.summary() ==
        "5 {\"prompt\", \"completion\"} examples: 3 truncated to 4 tokens, 1 dropped (nothing to learn left); "
        "15 tokens, 6 targets");

  // Text: an empty text is only EOS, with nothing before it to predict from.
  const fs::path t = dir.write("t.jsonl", "{\"text\": \"\"}\n{\"text\": \"abcdef\"}\n");
  const SftDataset dt = load_sft_jsonl(t, TestTokenizer{}, 3);
  REQUIRE(dt.size() == 1);
  CHECK(dt[0].tokens == std::vector<std::int32_t>{'a', 'b', 'c'});
  CHECK(dt.stats().dropped == 1);
  CHECK(dt.stats().truncated == 1);
}

TEST_CASE("data: sft errors name file, line and field") {
  TempDir dir;
  const auto load = [&](std::string_view content) {
    const fs::path f = dir.write("e.jsonl", content);
    return error_of([&] { (void)load_sft_jsonl(f, TestTokenizer{}, 8); });
  };
  const std::string f = (dir.path / "e.jsonl").string();
  const std::string pc = "{\"prompt\": \"p\", \"completion\": \"c\"}\n";
  const std::string text = "{\"text\": \"t\"}\n";

  CHECK(load(pc + "{\"prompt\": \"p\", \"complete\": \"c\"}\n") ==
        f + ":2: unknown field \"complete\" (allowed: \"prompt\", \"completion\")");
  CHECK(load(pc + pc + "{\"prompt\": \"p\"}\n") == f + ":3: missing field \"completion\"");
  CHECK(load(pc + "{\"completion\": \"c\"}\n") == f + ":2: missing field \"prompt\"");
  CHECK(load("{\"prompt\": [\"p\"], \"completion\": \"c\"}\n") == f + ":1: field \"prompt\" must be a string");
  CHECK(load("{\"prompt\": \"p\", \"completion\": null}\n") == f + ":1: field \"completion\" must be a string");
  CHECK(load(text + "{\"text\": 5}\n") == f + ":2: field \"text\" must be a string");
  CHECK(load(text + "{\"text\": \"t\", \"prompt\": \"p\"}\n") ==
        f + ":2: unknown field \"prompt\" (allowed: \"text\")");
  CHECK(load(pc + "{\"prompt\": \"p\", \"completion\": \"c\", \"text\": \"t\"}\n") ==
        f + ":2: unknown field \"text\" (allowed: \"prompt\", \"completion\")");

  // Mixed formats.
  CHECK(load(pc + "\n" + text) == f + ":3: a {\"text\"} example in a file of {\"prompt\", \"completion\"} examples "
                                      "(line 1): one file holds one format");
  CHECK(load("\n" + text + pc) == f + ":3: a {\"prompt\", \"completion\"} example in a file of {\"text\"} examples "
                                      "(line 2): one file holds one format");
  // A first example of neither format.
  CHECK(load("{\"messages\": []}\n") ==
        f + ":1: expected the fields {\"prompt\", \"completion\"} or {\"text\"}, got {\"messages\"}");
  CHECK(load("{\"text\": \"t\", \"prompt\": \"p\"}\n") ==
        f + ":1: expected the fields {\"prompt\", \"completion\"} or {\"text\"}, got {\"prompt\", \"text\"}");

  CHECK(load(pc + "{\"prompt\": \"p\", \"completion\": \"c\"\n").starts_with(f + ":2: malformed JSON: "));
  CHECK(load("\n\n") == f + ": no examples");
  CHECK(load("{\"prompt\": \"long prompt\", \"completion\": \"c\"}\n") ==
        f + ": all 1 examples were dropped: none has a token to learn within the first 8 tokens");
  CHECK(error_of([&] { (void)load_sft_jsonl(dir.path / "e.jsonl", TestTokenizer{}, 1); }) ==
        "load_sft_jsonl: max_length 1 leaves no token to predict (at least 2)");
  CHECK(error_of([&] { (void)load_sft_jsonl(dir.path / "none.jsonl", TestTokenizer{}, 8); }) ==
        "cannot open " + (dir.path / "none.jsonl").string() + ": No such file or directory");
}

// --- split and shuffle ---------------------------------------------------------------------

TEST_CASE("data: validation split is deterministic, disjoint and complete") {
  const DataSplit a = split_train_validation(100, ValidationSize::fraction(0.1), 42);
  const DataSplit b = split_train_validation(100, ValidationSize::fraction(0.1), 42);
  const DataSplit c = split_train_validation(100, ValidationSize::fraction(0.1), 43);
  CHECK(a.validation.size() == 10);
  CHECK(a.train.size() == 90);
  CHECK(a.validation == b.validation);
  CHECK(a.train == b.train);
  CHECK(a.validation != c.validation);
  CHECK(std::is_sorted(a.train.begin(), a.train.end()));
  CHECK(std::is_sorted(a.validation.begin(), a.validation.end()));
  std::set<std::int64_t> all(a.train.begin(), a.train.end());
  for (const std::int64_t i : a.validation) CHECK(all.insert(i).second);  // disjoint
  CHECK(all.size() == 100);
  CHECK(*all.begin() == 0);
  CHECK(*all.rbegin() == 99);

  // The layout: the first k entries of the split stream's permutation are held out.
  std::vector<std::int64_t> p = random_permutation(rlhf::PhiloxStream{42, rlhf::split_stream}, 100);
  std::vector<std::int64_t> first(p.begin(), p.begin() + 10);
  std::sort(first.begin(), first.end());
  CHECK(first == a.validation);

  CHECK(split_train_validation(10, ValidationSize::count(3), 1).validation.size() == 3);
  CHECK(split_train_validation(10, ValidationSize::none(), 1).train.size() == 10);
  CHECK(split_train_validation(15, ValidationSize::fraction(0.1), 1).validation.size() == 2);  // round(1.5)
  CHECK(split_train_validation(5, ValidationSize::fraction(0.01), 1).validation.size() == 1);  // at least one
  CHECK(error_of([] { (void)ValidationSize::fraction(1.0); }) == "validation split: fraction 1 is outside [0, 1)");
  CHECK(error_of([] { (void)ValidationSize::fraction(-0.5); }) == "validation split: fraction -0.5 is outside [0, 1)");
  CHECK(error_of([] { (void)ValidationSize::count(-1); }) == "validation split: negative count -1");
  CHECK(error_of([] { (void)split_train_validation(3, ValidationSize::count(3), 1); }) ==
        "validation split: holding out 3 of 3 examples leaves none for training");
  CHECK(error_of([] { (void)split_train_validation(0, ValidationSize::none(), 1); }) ==
        "validation split: the dataset has no examples");
}

TEST_CASE("data: epoch order is a permutation, a pure function of (seed, epoch)") {
  for (const std::int64_t n : {0, 1, 2, 7, 1000}) {
    const std::vector<std::int64_t> o = epoch_order(5, 3, n);
    std::vector<std::int64_t> sorted = o;
    std::sort(sorted.begin(), sorted.end());
    for (std::int64_t i = 0; i < n; ++i) CHECK(sorted[i] == i);
    CHECK(o == epoch_order(5, 3, n));
  }
  CHECK(epoch_order(5, 3, 1000) != epoch_order(5, 4, 1000));
  CHECK(epoch_order(5, 3, 1000) != epoch_order(6, 3, 1000));

  // The documented layout for n = 2: one step, j = floor(u * 2 / 2^64) = the top bit of u.
  for (std::int64_t e = 0; e < 16; ++e) {
    const rlhf::PhiloxStream rng{9, rlhf::epoch_stream + static_cast<std::uint64_t>(e)};
    const bool swapped = (rng.word(1) >> 31) == 0;  // j = 0: swap positions 1 and 0
    CHECK(epoch_order(9, e, 2) == (swapped ? std::vector<std::int64_t>{1, 0} : std::vector<std::int64_t>{0, 1}));
  }
  // The 64-bit multiply-high against the compiler's 128-bit arithmetic.
  const rlhf::PhiloxStream rng{1, 2};
  for (std::uint64_t k = 0; k < 64; k += 2) {
    const std::uint64_t a = std::uint64_t{rng.word(k)} | std::uint64_t{rng.word(k + 1)} << 32;
    const std::uint64_t b = std::uint64_t{rng.word(k + 100)} << (k % 33);
    __extension__ using u128 = unsigned __int128;
    CHECK(detail::mul_high(a, b) == static_cast<std::uint64_t>((u128{a} * b) >> 64));
  }

  // Uniform over the 6 orders of 3 elements (a loose check: 6000 epochs, expect 1000 each).
  std::map<std::vector<std::int64_t>, int> counts;
  for (std::int64_t e = 0; e < 6000; ++e) ++counts[epoch_order(11, e, 3)];
  CHECK(counts.size() == 6);
  for (const auto& [order, count] : counts) CHECK(std::abs(count - 1000) < 150);
}

TEST_CASE("data: epoch sampler walks epochs in order and resumes from a data position") {
  const std::vector<std::int64_t> train = {2, 3, 5, 7, 11};
  EpochSampler s(train, 77);
  std::vector<std::int64_t> walk;
  std::vector<DataPosition> positions;
  for (int i = 0; i < 13; ++i) {
    positions.push_back(s.position());
    walk.push_back(s.next());
  }
  CHECK(s.position() == DataPosition{2, 3});
  // Each epoch is epoch_order mapped through the training indices.
  for (std::int64_t e = 0; e < 2; ++e) {
    const std::vector<std::int64_t> order = epoch_order(77, e, 5);
    for (std::int64_t i = 0; i < 5; ++i) CHECK(walk[e * 5 + i] == train[order[i]]);
  }
  CHECK(positions[5] == DataPosition{1, 0});

  // Resuming at any saved position continues exactly the same sequence.
  for (const std::size_t at : {std::size_t{0}, std::size_t{4}, std::size_t{5}, std::size_t{8}}) {
    EpochSampler resumed(train, 77, positions[at]);
    for (std::size_t i = at; i < walk.size(); ++i) CHECK(resumed.next() == walk[i]);
  }
  std::vector<std::int64_t> batch;
  EpochSampler again(train, 77);
  again.next(7, batch);
  CHECK(batch == std::vector<std::int64_t>(walk.begin(), walk.begin() + 7));

  CHECK(error_of([&] {
          EpochSampler bad(train, 1, {0, 5});
        }) == "EpochSampler: data position (epoch 0, index 5) is outside an epoch of 5 examples");
  CHECK(error_of([] { EpochSampler bad({}, 1); }) == "EpochSampler: no training examples");
}

// --- batching ------------------------------------------------------------------------------

TEST_CASE("data: batch shifts targets, pads right, and masks keys and loss") {
  // Row 0: prompt "ab", completion "cd" + EOS; row 1: text "xy" + EOS.
  const SftExample a = make_sft_example(ids_of("ab"), ids_of("cd"), 256, 16);
  const SftExample b = make_sft_example({}, ids_of("xy"), 256, 16);
  const std::vector<TokenSequence> rows = {a.sequence(), b.sequence()};

  Batcher<float> batcher;
  const TokenBatch<float>& batch = batcher.fill(rows);
  REQUIRE(batch.rows() == 2);
  REQUIRE(batch.length() == 5);
  CHECK(batch.ids.shape() == rlhf::Shape{2, 5});
  CHECK(values(batch.ids) == std::vector<std::int32_t>{'a', 'b', 'c', 'd', 256,  //
                                                       'x', 'y', 256, 0, 0});
  CHECK(values(batch.targets) == std::vector<std::int32_t>{-100, 'c', 'd', 256, -100,  //
                                                           'y', 256, -100, -100, -100});
  CHECK(values(batch.loss_mask) == std::vector<float>{0, 1, 1, 1, 0,  //
                                                      1, 1, 0, 0, 0});
  CHECK(values(batch.key_mask) == std::vector<float>{1, 1, 1, 1, 1,  //
                                                     1, 1, 1, 0, 0});
  CHECK(std::vector<std::int64_t>(batch.lengths.begin(), batch.lengths.end()) == std::vector<std::int64_t>{5, 3});
  CHECK(batch.loss_tokens == 5);
  CHECK(batch.loss_tokens == a.targets() + b.targets());

  // A sequence without a loss mask (reward-model inputs) has no targets; pad_id is honoured.
  const std::vector<std::int32_t> plain = {1, 2};
  Batcher<double> padded(0, 99);
  const TokenBatch<double>& p = padded.fill(std::vector<TokenSequence>{{plain, {}}, a.sequence()});
  CHECK(values(p.ids) == std::vector<std::int32_t>{1, 2, 99, 99, 99, 'a', 'b', 'c', 'd', 256});
  CHECK(values(p.loss_mask) == std::vector<double>{0, 0, 0, 0, 0, 0, 1, 1, 1, 0});
  CHECK(p.loss_tokens == 3);
}

TEST_CASE("data: batcher reuses its buffers; fixed length pads every batch") {
  const SftExample a = make_sft_example(ids_of("ab"), ids_of("cd"), 256, 16);
  const SftExample b = make_sft_example({}, ids_of("xy"), 256, 16);
  const SftExample c = make_sft_example({}, ids_of("0123456"), 256, 16);

  Batcher<float> fixed(6);
  const TokenBatch<float>& first = fixed.fill(std::vector<TokenSequence>{a.sequence(), b.sequence()});
  const std::int32_t* ids = first.ids.data();
  const float* mask = first.loss_mask.data();
  CHECK(first.length() == 6);
  CHECK(values(first.key_mask) == std::vector<float>{1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0});
  const TokenBatch<float>& second = fixed.fill(std::vector<TokenSequence>{b.sequence(), a.sequence()});
  CHECK(second.ids.data() == ids);  // same buffers: no allocation
  CHECK(second.loss_mask.data() == mask);
  CHECK(values(second.ids) == std::vector<std::int32_t>{'x', 'y', 256, 0, 0, 0, 'a', 'b', 'c', 'd', 256, 0});
  const TokenBatch<float>& one = fixed.fill(std::vector<TokenSequence>{a.sequence()});  // a short last batch
  CHECK(one.ids.shape() == rlhf::Shape{1, 6});
  CHECK(one.ids.data() == ids);
  CHECK(error_of([&] { fixed.fill(std::vector<TokenSequence>{c.sequence()}); }) ==
        "Batcher: row 0 has 8 tokens, more than the fixed length 6");

  // Variable length: buffers grow to the largest batch seen and are kept.
  Batcher<float> grow;
  (void)grow.fill(std::vector<TokenSequence>{c.sequence(), c.sequence()});
  const std::int32_t* big = grow.batch().ids.data();
  CHECK(grow.fill(std::vector<TokenSequence>{a.sequence(), b.sequence()}).ids.data() == big);
  CHECK(grow.batch().length() == 5);

  CHECK(error_of([&] { grow.fill(std::vector<TokenSequence>{}); }) == "Batcher: empty batch");
  const std::vector<std::int32_t> tokens = {1, 2, 3};
  const std::vector<std::uint8_t> short_mask = {1};
  CHECK(error_of([&] {
          grow.fill(std::vector<TokenSequence>{{tokens, short_mask}});
        }) == "Batcher: row 0 has 3 tokens but 1 loss-mask entries");
  CHECK(error_of([&] { grow.fill(std::vector<TokenSequence>{{{}, {}}}); }) == "Batcher: row 0 has no tokens");
}

TEST_CASE("data: dataset, split, sampler and batcher together") {
  TempDir dir;
  std::string content;
  for (int i = 0; i < 20; ++i) content += "{\"text\": \"example " + std::to_string(i) + "\"}\n";
  const fs::path f = dir.write("all.jsonl", content);
  const SftDataset d = load_sft_jsonl(f, TestTokenizer{}, 64);
  const DataSplit split = split_train_validation(d.size(), ValidationSize::fraction(0.2), 3);
  CHECK(split.validation.size() == 4);
  EpochSampler sampler(split.train, 3);
  Batcher<float> batcher;
  std::vector<std::int64_t> picked;
  std::multiset<std::int64_t> seen;
  for (int step = 0; step < 4; ++step) {  // 4 batches of 4 = one epoch of 16
    sampler.next(4, picked);
    const TokenBatch<float>& batch = batcher.fill(4, [&](std::int64_t b) { return d[picked[b]].sequence(); });
    CHECK(batch.rows() == 4);
    seen.insert(picked.begin(), picked.end());
  }
  CHECK(seen == std::multiset<std::int64_t>(split.train.begin(), split.train.end()));
  CHECK(sampler.position() == DataPosition{1, 0});
}

}  // namespace test_data
