// Tokenizer encoding speed on one core: GPT-2's BPE and the byte tokenizer on the reference
// texts of the tokenizer tests (tests/data/bpe/*.txt: English and five other languages).
// Counters: bytes_per_second (of input text) and tokens/s.
//   gpt2_encode/<text>          the tokenizer as users get it: the piece cache warm, as it is
//                               after the first few KB of any real corpus
//   gpt2_encode_uncached/<text> every piece merged from scratch (cache capacity 0)
// Target (issue 3): at least 5 MB/s for GPT-2's BPE on one core.
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_main.hpp"
#include "rlhf/data/byte_tokenizer.hpp"
#include "rlhf/data/gpt2_bpe.hpp"

namespace {

std::string read_text(const std::string& name) {
  const std::string path = std::string(RLHF_BENCH_TEXT_DIR) + "/" + name + ".txt";
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("bench_tokenizer: cannot open " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::vector<std::string>& text_names() {
  static const std::vector<std::string> names{"all", "en", "it", "es", "eo", "ru", "zh"};
  return names;
}

std::string text(const std::string& name) {
  if (name != "all") return read_text(name);
  std::string all;
  for (const std::string& n : text_names())
    if (n != "all") all += read_text(n);
  return all;
}

template <class Tok>
void run_encode(benchmark::State& state, const Tok& tok, const std::string& s) {
  std::vector<std::int32_t> ids;
  ids.reserve(s.size());
  for (auto _ : state) {
    ids.clear();
    tok.encode(s, ids);
    benchmark::DoNotOptimize(ids.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.size()));
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(ids.size()) * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["bytes/token"] = static_cast<double>(s.size()) / static_cast<double>(ids.size());
}

void register_all() {
  static const rlhf::data::Gpt2Tokenizer gpt2 = rlhf::data::Gpt2Tokenizer::load(RLHF_BENCH_GPT2_DIR);
  static const rlhf::data::Gpt2Tokenizer gpt2_uncached = [] {
    auto t = rlhf::data::Gpt2Tokenizer::load(RLHF_BENCH_GPT2_DIR);
    t.set_cache_capacity(0);
    return t;
  }();
  static const rlhf::data::ByteTokenizer bytes;
  for (const std::string& name : text_names()) {
    const std::string s = text(name);
    benchmark::RegisterBenchmark(("gpt2_encode/" + name).c_str(), [s](benchmark::State& st) {
      run_encode(st, gpt2, s);
    })->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("gpt2_encode_uncached/" + name).c_str(), [s](benchmark::State& st) {
      run_encode(st, gpt2_uncached, s);
    })->Unit(benchmark::kMillisecond);
  }
  const std::string all = text("all");
  benchmark::RegisterBenchmark("byte_encode/all", [all](benchmark::State& st) {
    run_encode(st, bytes, all);
  })->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("gpt2_decode/all", [all](benchmark::State& st) {
    const std::vector<std::int32_t> ids = gpt2.encode(all);
    for (auto _ : st) benchmark::DoNotOptimize(gpt2.decode(ids));
    st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations() * all.size()));
  })->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  return rlhf_bench::run_benchmarks(argc, argv);
}
