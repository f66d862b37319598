// libFuzzer target: GPT-2's byte-level BPE (rlhf::data::Gpt2Tokenizer) on arbitrary bytes,
// invalid UTF-8 included. The tokenizer is loaded once from $RLHF_GPT2_DIR (default: the
// source tree's data/gpt2). For each input, with special tokens parsed and as text:
//   every id lies in [0, vocab_size), decode(encode(s)) == s byte for byte,
//   and encoding again (now from the piece cache) gives the same ids.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "rlhf/data/gpt2_bpe.hpp"

#ifndef RLHF_FUZZ_GPT2_DIR
#error "RLHF_FUZZ_GPT2_DIR (the directory of vocab.json and merges.txt) must be defined"
#endif

namespace {

const rlhf::data::Gpt2Tokenizer& tokenizer() {
  static const rlhf::data::Gpt2Tokenizer t = [] {
    const char* env = std::getenv("RLHF_GPT2_DIR");
    const std::filesystem::path dir = env && *env ? env : RLHF_FUZZ_GPT2_DIR;
    try {
      return rlhf::data::Gpt2Tokenizer::load(dir);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "fuzz_bpe: cannot load the GPT-2 tokenizer from %s (set RLHF_GPT2_DIR): %s\n", dir.c_str(),
                   e.what());
      std::exit(2);
    }
  }();
  return t;
}

void check(const rlhf::data::Gpt2Tokenizer& t, std::string_view text, rlhf::data::Specials mode, const char* what) {
  const std::vector<std::int32_t> ids = t.encode(text, mode);
  for (const std::int32_t id : ids)
    if (id < 0 || id >= t.vocab_size())
      rlhf_fuzz::finding(std::string(what) + ": token id " + std::to_string(id) + " outside [0, vocab_size)");
  if (t.decode(ids) != text) rlhf_fuzz::finding(std::string(what) + ": decode(encode(s)) != s");
  if (t.encode(text, mode) != ids) rlhf_fuzz::finding(std::string(what) + ": a second encode gave other ids");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)tokenizer();  // load before the first input: its time is not an input's
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = rlhf_fuzz::as_text(data, size);
  const rlhf::data::Gpt2Tokenizer& t = tokenizer();
  rlhf_fuzz::expect_only_rlhf_errors("Gpt2Tokenizer", [&] {
    check(t, text, rlhf::data::Specials::parse, "encode (specials parsed)");
    check(t, text, rlhf::data::Specials::as_text, "encode (specials as text)");
  });
  return 0;
}
