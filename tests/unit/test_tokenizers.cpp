// The tokenizers: UTF-8 decoding and code-point classes, GPT-2's pre-tokenisation, the byte
// tokenizer, and GPT-2's BPE against Hugging Face's `tokenizers` on real text in six languages
// and on hand-picked edge cases (references: tests/reference/make_bpe_refs.py), round trips on
// random bytes, and the errors for bad files and ids.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "rlhf/core/philox.hpp"
#include "rlhf/data/byte_level.hpp"
#include "rlhf/data/byte_tokenizer.hpp"
#include "rlhf/data/gpt2_bpe.hpp"
#include "rlhf/data/gpt2_pretokenizer.hpp"
#include "rlhf/data/tokenizer.hpp"
#include "rlhf/data/unicode.hpp"

namespace test_tokenizers {

namespace fs = std::filesystem;
using rlhf::data::ByteTokenizer;
using rlhf::data::CharClass;
using rlhf::data::Gpt2Tokenizer;
using rlhf::data::Specials;

namespace {

const fs::path gpt2_dir = fs::path(RLHF_DATA_DIR) / "gpt2";
const fs::path bpe_refs = fs::path(RLHF_TEST_DATA_DIR) / "bpe";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE_MESSAGE(in, "cannot open " << p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::int32_t> read_ids(const fs::path& p) {
  std::istringstream in(read_file(p));
  std::vector<std::int32_t> ids;
  for (std::int32_t id; in >> id;) ids.push_back(id);
  return ids;
}

const Gpt2Tokenizer& gpt2() {
  static const Gpt2Tokenizer t = Gpt2Tokenizer::load(gpt2_dir);
  return t;
}

std::vector<std::string> pieces(std::string_view text) {
  std::vector<std::string> out;
  rlhf::data::for_each_gpt2_piece(text, [&](std::string_view p) { out.emplace_back(p); });
  return out;
}

// n random bytes from a Philox stream; with `utf8_heavy`, mostly bytes that start or continue
// multi-byte sequences (so valid and broken UTF-8 both occur), plus spaces, apostrophes and
// <|endoftext|> pieces.
std::string random_bytes(std::uint64_t seed, std::size_t n, bool utf8_heavy) {
  const rlhf::PhiloxStream s{seed, 3};
  std::string out;
  for (std::uint64_t k = 0; out.size() < n; ++k) {
    const std::uint32_t w = s.word(k);
    if (!utf8_heavy) {
      out += static_cast<char>(w & 0xFF);
      continue;
    }
    switch (w % 8) {
      case 0: out += static_cast<char>(0x80 | ((w >> 8) & 0x3F)); break;  // continuation
      case 1: out += static_cast<char>(0xC0 | ((w >> 8) & 0x3F)); break;  // 2-byte lead (C0, C1 invalid)
      case 2: out += static_cast<char>(0xE0 | ((w >> 8) & 0x1F)); break;  // 3- and 4-byte leads, F5..FF
      case 3: out += " '"[(w >> 8) & 1]; break;
      case 4: out += "<|endoftext|>"; break;
      case 5: out += "\xE4\xBD\xA0"; break;  // 你
      default: out += static_cast<char>((w >> 8) & 0x7F); break;
    }
  }
  return out;
}

// The first token where two id lists differ, with the text around it, for a readable failure.
std::string first_difference(const Gpt2Tokenizer& t, const std::vector<std::int32_t>& got,
                             const std::vector<std::int32_t>& want) {
  std::size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  if (i == got.size() && i == want.size()) return "identical";
  const std::size_t from = i >= 5 ? i - 5 : 0;
  const auto context = [&](const std::vector<std::int32_t>& ids) {
    std::ostringstream s;
    for (std::size_t k = from; k < std::min(ids.size(), i + 5); ++k)
      s << (k == i ? " >>" : " ") << ids[k] << "'" << t.token_bytes(ids[k]) << "'";
    return s.str();
  };
  std::ostringstream s;
  s << "first difference at token " << i << " of " << got.size() << " (want " << want.size()
    << ")\n  got: " << context(got) << "\n want: " << context(want);
  return s.str();
}

// A scratch directory for bad tokenizer files, removed at the end of the test.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    path = fs::temp_directory_path() / ("rlhf_tok_test_" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~ScratchDir() { fs::remove_all(path); }
  fs::path write(const std::string& name, const std::string& content) const {
    std::ofstream(path / name, std::ios::binary) << content;
    return path / name;
  }
};

std::string error_of(const auto& fn) {
  try {
    fn();
  } catch (const rlhf::error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

static_assert(rlhf::data::Tokenizer<ByteTokenizer>);
static_assert(rlhf::data::Tokenizer<Gpt2Tokenizer>);

// ---- UTF-8 and code-point classes ----------------------------------------------------------

TEST_CASE("utf8: decoding accepts well-formed sequences only, one byte at a time otherwise") {
  using rlhf::data::decode_utf8;
  const auto unit = [](std::string_view s) { return decode_utf8(s, 0); };
  CHECK(unit("A").cp == U'A');
  CHECK(unit("\xC3\xA9").cp == U'é');
  CHECK(unit("\xC3\xA9").bytes == 2);
  CHECK(unit("\xE4\xBD\xA0").cp == U'你');
  CHECK(unit("\xF0\x9F\x98\x80").cp == U'😀');
  CHECK(unit("\xF4\x8F\xBF\xBF").cp == 0x10FFFF);
  for (std::string_view bad :
       {"\x80", "\xBF", "\xC0\x80", "\xC1\xBF", "\xE0\x80\x80", "\xE0\x9F\xBF", "\xED\xA0\x80", "\xF0\x8F\xBF\xBF",
        "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFF", "\xC3", "\xE4\xBD", "\xF0\x9F\x98", "\xC3\x41"}) {
    CAPTURE(bad);
    CHECK_FALSE(unit(bad).valid);
    CHECK(unit(bad).bytes == 1);
    CHECK(unit(bad).cp == static_cast<std::uint8_t>(bad[0]));
  }
}

TEST_CASE("unicode: class tables are sorted and disjoint, and classify as GPT-2's regex does") {
  using rlhf::data::char_class;
  const auto& ranges = rlhf::data::unicode_detail::char_ranges;
  for (std::size_t i = 0; i < std::size(ranges); ++i) {
    CHECK(ranges[i].first <= ranges[i].last);
    if (i) CHECK(ranges[i - 1].last < ranges[i].first);
  }
  CHECK(std::string_view(rlhf::data::unicode_tables_version) == "16.0.0");
  CHECK(char_class(U'a') == CharClass::letter);
  CHECK(char_class(U'Z') == CharClass::letter);
  CHECK(char_class(U'ß') == CharClass::letter);
  CHECK(char_class(U'Ж') == CharClass::letter);
  CHECK(char_class(U'你') == CharClass::letter);
  CHECK(char_class(U'ª') == CharClass::letter);    // Lo
  CHECK(char_class(0x02B0) == CharClass::letter);  // modifier letter (Lm)
  CHECK(char_class(0x0301) == CharClass::other);   // combining acute accent (Mn) is not \p{L}
  CHECK(char_class(U'7') == CharClass::number);
  CHECK(char_class(U'²') == CharClass::number);    // No
  CHECK(char_class(U'Ⅻ') == CharClass::number);    // Nl
  CHECK(char_class(0x0663) == CharClass::number);  // Arabic-Indic digit three
  for (char32_t s :
       {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000})
    CHECK(char_class(s) == CharClass::space);
  for (char32_t o : {0x1C, 0x1F, 0x180E, 0x200B, 0xFEFF, 0x00AD})  // not White_Space
    CHECK(char_class(o) == CharClass::other);
  CHECK(char_class(U'!') == CharClass::other);
  CHECK(char_class(U'😀') == CharClass::other);
  CHECK(char_class(0x10FFFF) == CharClass::other);
  // An invalid byte is other even where its value is a space or letter code point (A0, E9).
  CHECK(char_class(rlhf::data::decode_utf8("\xA0", 0)) == CharClass::other);
  CHECK(char_class(rlhf::data::decode_utf8("\xE9", 0)) == CharClass::other);
}

TEST_CASE("byte level: GPT-2's byte-to-character mapping is a bijection") {
  using namespace rlhf::data;
  CHECK(byte_to_char[' '] == U'Ġ');
  CHECK(byte_to_char['\n'] == U'Ċ');
  CHECK(byte_to_char['a'] == U'a');
  CHECK(byte_to_char[0] == 0x100);
  CHECK(byte_to_char[0xAD] == 0x143);  // the last shifted byte
  for (int b = 0; b < 256; ++b) CHECK(char_to_byte(byte_to_char[b]) == std::optional<std::uint8_t>(b));
  CHECK_FALSE(char_to_byte(0x144).has_value());
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  CHECK(spelling_to_bytes(bytes_to_spelling(all)) == all);
  CHECK(bytes_to_spelling(" hi\n") == "ĠhiĊ");
  CHECK_FALSE(spelling_to_bytes("\xFF").has_value());
  CHECK_FALSE(spelling_to_bytes("€").has_value());
}

// ---- pre-tokenisation ----------------------------------------------------------------------

TEST_CASE("gpt2 pre-tokenisation: pieces as the regex finds them") {
  using V = std::vector<std::string>;
  CHECK(pieces("") == V{});
  CHECK(pieces("Hello world") == V{"Hello", " world"});
  CHECK(pieces("I'm we'll they've it's 'd") == V{"I", "'m", " we", "'ll", " they", "'ve", " it", "'s", " '", "d"});
  CHECK(pieces("I'M") == V{"I", "'", "M"});  // contractions are lower case only
  CHECK(pieces("''s") == V{"''", "s"});
  CHECK(pieces("a   b") == V{"a", "  ", " b"});
  CHECK(pieces("a\n\nb") == V{"a", "\n", "\n", "b"});
  CHECK(pieces("a \n b") == V{"a", " \n", " b"});
  CHECK(pieces("x\t y") == V{"x", "\t", " y"});
  CHECK(pieces("end  ") == V{"end", "  "});
  CHECK(pieces("12abc 345 !?") == V{"12", "abc", " 345", " !?"});
  CHECK(pieces("naïve café") == V{"naïve", " café"});
  CHECK(pieces("e\xCC\x81") == V{"e", "\xCC\x81"});  // a combining mark is not a letter
  CHECK(pieces("你好，世界") == V{"你好", "，", "世界"});
  // Invalid bytes: units of class other, joining punctuation.
  CHECK(pieces("ab\xFF\xFE!cd") == V{"ab", "\xFF\xFE!", "cd"});
  CHECK(pieces(" \x80x") == V{" \x80", "x"});
}

// ---- byte tokenizer ------------------------------------------------------------------------

TEST_CASE("byte tokenizer: bytes are ids 0..255, <|endoftext|> is 256") {
  const ByteTokenizer t;
  CHECK(t.vocab_size() == 257);
  CHECK(t.eos_id() == 256);
  CHECK(t.token_to_id("<|endoftext|>") == 256);
  CHECK_FALSE(t.token_to_id("a").has_value());
  CHECK(t.id_to_token(256) == "<|endoftext|>");
  CHECK(t.id_to_token('x') == "x");
  CHECK(t.is_special(256));
  CHECK_FALSE(t.is_special(255));
  CHECK(t.encode("hi\xFF") == std::vector<std::int32_t>{'h', 'i', 255});
  CHECK(t.encode("a<|endoftext|>b") == std::vector<std::int32_t>{'a', 256, 'b'});
  CHECK(t.encode("<|endoftext|>", Specials::as_text).size() == 13);
  CHECK(t.encode("").empty());
  CHECK(t.decode(std::vector<std::int32_t>{'o', 'k', 256}) == "ok<|endoftext|>");
}

TEST_CASE("byte tokenizer: decode(encode(s)) == s for any bytes") {
  const ByteTokenizer t;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const std::string s = random_bytes(seed, 1000, seed % 2);
    CHECK(t.decode(t.encode(s)) == s);
    CHECK(t.decode(t.encode(s, Specials::as_text)) == s);
    CHECK(t.encode(s, Specials::as_text).size() == s.size());
  }
}

TEST_CASE("byte tokenizer: custom special tokens, leftmost-longest matching") {
  const ByteTokenizer t({"<eos>", "<pad>", "<eos>x"});
  CHECK(t.vocab_size() == 259);
  CHECK(t.eos_id() == 256);
  CHECK(t.token_to_id("<pad>") == 257);
  CHECK(t.encode("a<eos>x<pad><eos>") == std::vector<std::int32_t>{'a', 258, 257, 256});
  CHECK(t.encode("<eo<eos>") == std::vector<std::int32_t>{'<', 'e', 'o', 256});
  CHECK(t.decode(t.encode("a<eos>x<pad><eos>")) == "a<eos>x<pad><eos>");
}

TEST_CASE("byte tokenizer: errors name the id and the vocabulary size") {
  const ByteTokenizer t;
  const std::string e = error_of([&] { t.decode(std::vector<std::int32_t>{1, 257}); });
  CHECK(e.find("257") != std::string::npos);
  CHECK(e.find("[0, 257)") != std::string::npos);
  CHECK_THROWS_AS(t.decode(std::vector<std::int32_t>{-1}), rlhf::error);
  CHECK_THROWS_AS(t.id_to_token(300), rlhf::error);
  CHECK_THROWS_AS(ByteTokenizer(std::vector<std::string>{}), rlhf::error);
  CHECK(error_of([] { ByteTokenizer({"<a>", ""}); }).find("empty") != std::string::npos);
  CHECK(error_of([] { ByteTokenizer({"<a>", "<a>"}); }).find("twice") != std::string::npos);
}

// ---- GPT-2 BPE -----------------------------------------------------------------------------

TEST_CASE("gpt2 bpe: loads GPT-2's files") {
  const Gpt2Tokenizer& t = gpt2();
  CHECK(t.vocab_size() == 50257);
  CHECK(t.eos_id() == 50256);
  CHECK(t.token_to_id("<|endoftext|>") == 50256);
  CHECK(t.token_to_id("Ġthe") == 262);
  CHECK(t.id_to_token(262) == "Ġthe");
  CHECK(t.token_bytes(262) == " the");
  CHECK(t.is_special(50256));
  CHECK_FALSE(t.is_special(262));
  CHECK(t.encode("Hello world") == std::vector<std::int32_t>{15496, 995});
  CHECK(t.decode(std::vector<std::int32_t>{15496, 995, 50256}) == "Hello world<|endoftext|>");
}

TEST_CASE("gpt2 bpe: ids equal Hugging Face tokenizers on real text in four languages") {
  const Gpt2Tokenizer& t = gpt2();
  std::size_t bytes = 0, tokens = 0;
  for (const char* lang : {"en", "it", "es", "eo"}) {
    CAPTURE(lang);
    const std::string text = read_file(bpe_refs / (std::string(lang) + ".txt"));
    const std::vector<std::int32_t> want = read_ids(bpe_refs / (std::string(lang) + ".ids"));
    const std::vector<std::int32_t> got = t.encode(text);
    CHECK_MESSAGE(got == want, first_difference(t, got, want));
    CHECK(t.decode(got) == text);
    bytes += text.size();
    tokens += want.size();
  }
  MESSAGE("compared " << tokens << " tokens over " << bytes << " bytes of text");
  CHECK(bytes > 240000);
}

TEST_CASE("gpt2 bpe: ids equal Hugging Face tokenizers on edge cases") {
  const Gpt2Tokenizer& t = gpt2();
  const nlohmann::json doc = nlohmann::json::parse(read_file(bpe_refs / "edge_cases.json"));
  REQUIRE(doc["cases"].size() >= 40);
  for (const auto& c : doc["cases"]) {
    const std::string text = c["text"];
    const Specials mode = c["specials"] == "parse" ? Specials::parse : Specials::as_text;
    const auto want = c["ids"].get<std::vector<std::int32_t>>();
    CAPTURE(text);
    const std::vector<std::int32_t> got = t.encode(text, mode);
    CHECK_MESSAGE(got == want, first_difference(t, got, want));
    CHECK(t.decode(got) == text);
  }
}

TEST_CASE("gpt2 bpe: decode(encode(s)) == s for random bytes, invalid UTF-8 included") {
  const Gpt2Tokenizer& t = gpt2();
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    const std::string s = random_bytes(seed, 2000, seed % 2);
    CAPTURE(seed);
    const std::vector<std::int32_t> ids = t.encode(s);
    CHECK(t.decode(ids) == s);
    CHECK(t.decode(t.encode(s, Specials::as_text)) == s);
    for (const std::int32_t id : ids) REQUIRE((id >= 0 && id < t.vocab_size()));
  }
}

TEST_CASE("gpt2 bpe: <|endoftext|> is split out unless treated as text") {
  const Gpt2Tokenizer& t = gpt2();
  const auto parsed = t.encode("a<|endoftext|>b");
  CHECK(std::count(parsed.begin(), parsed.end(), 50256) == 1);
  const auto plain = t.encode("a<|endoftext|>b", Specials::as_text);
  CHECK(std::count(plain.begin(), plain.end(), 50256) == 0);
  CHECK(t.decode(plain) == "a<|endoftext|>b");
  // A special token missing from vocab.json gets the next id.
  const Gpt2Tokenizer extra = Gpt2Tokenizer::load(gpt2_dir, {"<|endoftext|>", "<|pad|>"});
  CHECK(extra.vocab_size() == 50258);
  CHECK(extra.token_to_id("<|pad|>") == 50257);
  CHECK(extra.encode("x<|pad|>") == std::vector<std::int32_t>{87, 50257});
  CHECK(extra.decode(std::vector<std::int32_t>{50257}) == "<|pad|>");
}

TEST_CASE("gpt2 bpe: the piece cache changes nothing, copies and threads agree") {
  const std::string text = read_file(bpe_refs / "en.txt").substr(0, 20000);
  Gpt2Tokenizer t = Gpt2Tokenizer::load(gpt2_dir);
  const auto first = t.encode(text);
  CHECK(t.encode(text) == first);  // from the cache
  t.set_cache_capacity(0);
  CHECK(t.encode(text) == first);
  t.set_cache_capacity(16);  // constantly emptied
  CHECK(t.encode(text) == first);
  const Gpt2Tokenizer copy = t;
  CHECK(copy.encode(text) == first);
  const Gpt2Tokenizer& shared = gpt2();
  std::atomic<int> ok = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&] { ok += shared.encode(text) == first; });
  for (auto& th : threads) th.join();
  CHECK(ok == 4);
  // A long piece without spaces (a line of CJK text is one piece) takes O(n log n) merges.
  std::string long_word;
  for (int i = 0; i < 20000; ++i) long_word += "ab";
  CHECK(t.decode(t.encode(long_word)) == long_word);
}

TEST_CASE("gpt2 bpe: errors name the file and line") {
  const ScratchDir dir;
  const fs::path merges = gpt2_dir / "merges.txt", vocab = gpt2_dir / "vocab.json";
  const auto err = [](const fs::path& v, const fs::path& m) {
    return error_of([&] { (void)Gpt2Tokenizer::load_files(v, m); });
  };
  CHECK(err(dir.path / "nope.json", merges).find("nope.json") != std::string::npos);
  CHECK(err(vocab, dir.path / "nope.txt").find("nope.txt") != std::string::npos);
  CHECK(error_of([&] { (void)Gpt2Tokenizer::load(dir.path); }).find("vocab.json") != std::string::npos);

  // A small byte-level vocabulary: the 256 byte tokens plus "ab" = 256 and "abc" = 257.
  nlohmann::json small = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) {
    std::string s;
    rlhf::data::append_utf8(s, rlhf::data::byte_to_char[b]);
    small[s] = b;
  }
  small["ab"] = 256;
  small["abc"] = 257;
  const fs::path good_vocab = dir.write("small.json", small.dump());
  const fs::path good_merges = dir.write("small.txt", "#version: 0.2\na b\nab c\n");
  const Gpt2Tokenizer tiny = Gpt2Tokenizer::load_files(good_vocab, good_merges);
  CHECK(tiny.encode("abcab a") == std::vector<std::int32_t>{257, 256, ' ', 'a'});
  CHECK(tiny.eos_id() == 258);

  const fs::path bad_json = dir.write("bad.json", "{\"a\": 0,\n \"b\": }");
  std::string e = err(bad_json, good_merges);
  CHECK(e.find("bad.json") != std::string::npos);
  CHECK(e.find("line 2") != std::string::npos);
  CHECK(err(dir.write("list.json", "[1, 2]"), good_merges).find("JSON object") != std::string::npos);
  nlohmann::json v = small;
  v["ab"] = "x";
  CHECK(err(dir.write("str.json", v.dump()), good_merges).find("\"ab\"") != std::string::npos);
  v["ab"] = 999;
  CHECK(err(dir.write("gap.json", v.dump()), good_merges).find("[0, 258)") != std::string::npos);
  v["ab"] = 257;
  CHECK(err(dir.write("dup.json", v.dump()), good_merges).find("share id 257") != std::string::npos);
  v = small;
  v.erase("Ġ");
  v["x y"] = 32;
  CHECK(err(dir.write("nobyte.json", v.dump()), good_merges).find("byte 32") != std::string::npos);

  e = err(good_vocab, dir.write("m1.txt", "#version: 0.2\na b\nab  c\n"));
  CHECK(e.find("m1.txt:3:") != std::string::npos);
  CHECK(e.find("two tokens") != std::string::npos);
  CHECK(err(good_vocab, dir.write("m2.txt", "a b\nabc\n")).find("m2.txt:2:") != std::string::npos);
  e = err(good_vocab, dir.write("m3.txt", "a b\nq r\nz ab\n"));
  CHECK(e.find("m3.txt:2:") != std::string::npos);
  CHECK(e.find("\"qr\"") != std::string::npos);
  e = err(good_vocab, dir.write("m4.txt", "a b\nab €\n"));
  CHECK(e.find("m4.txt:2:") != std::string::npos);
  CHECK(e.find("\"€\"") != std::string::npos);

  const Gpt2Tokenizer& t = gpt2();
  e = error_of([&] { t.decode(std::vector<std::int32_t>{15496, 50257}); });
  CHECK(e.find("50257") != std::string::npos);
  CHECK(e.find("[0, 50257)") != std::string::npos);
  CHECK_THROWS_AS(t.id_to_token(-1), rlhf::error);
}

}  // namespace test_tokenizers
