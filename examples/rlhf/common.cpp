// The rlhf tool's backend-independent parts (common.hpp).
#include "common.hpp"

#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "rlhf/backend/cpu.hpp"
#include "rlhf/data/jsonl.hpp"
#include "rlhf/io/checkpoint.hpp"
#include "rlhf/nn/gpt.hpp"
#include "rlhf/train/pipeline_config.hpp"
#include "rlhf/train/run_directory.hpp"

namespace rlhf_cli {

using rlhf::fail;

void require_file(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) fail(file.string(), ": no such file");
  if (fs::is_directory(file, ec)) fail(file.string(), ": is a directory, expected a file");
}

void require_checkpoint(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail(dir.string(), ": no such checkpoint directory");
  const auto holds_checkpoint = [&](const fs::path& d) {
    return fs::exists(d / "config.json", ec) && fs::exists(d / "model.safetensors", ec);
  };
  if (holds_checkpoint(dir)) return;
  // A run directory (ppo's, the pipeline's) holds its models one or two levels down.
  std::vector<std::string> inside;
  for (const fs::path sub : {"policy", "value", "sft", "reward", "ppo/policy", "ppo/value"})
    if (holds_checkpoint(dir / sub)) inside.push_back((dir / sub).string());
  if (inside.empty()) fail(dir.string(), ": not a checkpoint directory (no config.json and model.safetensors)");
  std::string list;
  for (std::size_t i = 0; i < inside.size(); ++i)
    list += (i == 0 ? "" : i + 1 == inside.size() ? " or " : ", ") + inside[i];
  fail(dir.string(), ": not a checkpoint directory (no config.json and model.safetensors); did you mean ", list, "?");
}

std::string read_text_file(const fs::path& file) {
  require_file(file);
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(file.string(), ": cannot open the file");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string dump(const ordered& j) { return j.dump(-1, ' ', false, ordered::error_handler_t::replace); }

void print_all(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  if (std::ferror(stdout)) fail("cannot write to standard output");
}

namespace {

// The config file: GPT2Config's fields (as transformers writes them, or just the architecture).
// Unknown fields are errors, so that a typo ("n_embed") is not silently replaced by a default.
rlhf::nn::GPTConfig read_init_config(const fs::path& file, rlhf::io::Gpt2ConfigExtras& extras) {
  const json j = rlhf::files::parse_json(read_text_file(file), file.string());
  if (!j.is_object()) fail(file.string(), ": expected a JSON object, got ", j.type_name());
  std::set<std::string> known;
  const json defaults = rlhf::io::gpt2_config_json(rlhf::nn::GPTConfig{});
  for (const auto& [key, value] : defaults.items()) known.insert(key);
  for (const char* k : {"transformers_version", "add_cross_attention", "_name_or_path", "task_specific_params"})
    known.insert(k);
  for (const auto& [key, value] : j.items())
    if (!known.contains(key)) fail(file.string(), ": unknown field '", key, "'");
  const rlhf::nn::GPTConfig c = rlhf::io::parse_gpt2_config(j, file.string());
  for (auto [name, slot] :
       {std::pair{"bos_token_id", &extras.bos_token_id}, std::pair{"eos_token_id", &extras.eos_token_id}}) {
    if (!j.contains(name) || j[name].is_null()) continue;
    if (!j[name].is_number_integer()) fail(file.string(), ": field '", name, "' must be an integer");
    *slot = j[name].get<std::int64_t>();
    if (*slot < 0 || *slot >= c.vocab_size)
      fail(file.string(), ": field '", name, "' is ", *slot, ", outside the vocabulary [0, ", c.vocab_size, ")");
  }
  return c;
}

}  // namespace

int run_init(const InitArgs& a) {
  rlhf::io::Gpt2ConfigExtras extras;
  const rlhf::nn::GPTConfig config = read_init_config(a.config, extras);
  const AnyTokenizer tok = AnyTokenizer::parse(a.tokenizer);
  if (!tok.is_bpe() && config.vocab_size != tok.vocab_size())
    fail(a.config, ": field 'vocab_size' is ", config.vocab_size, ", but the byte tokenizer has ", tok.vocab_size(),
         " tokens (256 bytes + <|endoftext|>): set vocab_size to ", tok.vocab_size());
  if (tok.is_bpe() && config.vocab_size < tok.vocab_size())
    fail(a.config, ": field 'vocab_size' is ", config.vocab_size, ", but the tokenizer in ", tok.dir().string(),
         " has ", tok.vocab_size(), " tokens");
  if (a.out.empty()) fail("--out must name a directory, got \"\"");
  const fs::path out = a.out;
  if (!a.force && fs::exists(out / rlhf::io::config_file_name))
    fail(out.string(), ": already holds a checkpoint (config.json); use --force to overwrite it");
  // A training run's directory holds its checkpoints and metrics too: a new model over it would
  // leave them behind, so --force does not reach it.
  if (fs::is_directory(out))
    for (const auto& e : fs::directory_iterator(out))
      if (e.path().filename().string().rfind(rlhf::train::checkpoint_prefix, 0) == 0 ||
          e.path().filename() == rlhf::train::metrics_file_name)
        fail(out.string(), ": holds a training run (", e.path().filename().string(),
             "); --force overwrites a model, not a run: choose another --out");
  rlhf::nn::GPT<T, rlhf::cpu> model(config);  // Philox draws: the same weights on every backend
  model.init_weights(a.seed);
  rlhf::io::SaveOptions options = rlhf::io::checkpoint_options(tok);
  if (extras.bos_token_id >= 0) options.config.bos_token_id = extras.bos_token_id;
  if (extras.eos_token_id >= 0) options.config.eos_token_id = extras.eos_token_id;
  rlhf::io::save_gpt(out, model, options);
  std::printf(
      "wrote %s: GPT-2 with vocab_size %lld, n_positions %lld, n_embd %lld, n_layer %lld, n_head %lld "
      "(%lld parameters), %s tokenizer, seed %llu\n",
      out.string().c_str(), (long long)config.vocab_size, (long long)config.n_positions, (long long)config.n_embd,
      (long long)config.n_layer, (long long)config.n_head, (long long)model.layout().size(),
      tok.is_bpe() ? "GPT-2 BPE" : "byte", (unsigned long long)a.seed);
  return 0;
}

ScoredTexts read_prompt_completions(const fs::path& file, const AnyTokenizer& tok, std::int64_t context) {
  require_file(file);
  ScoredTexts out;
  rlhf::data::read_jsonl(
      file, rlhf::data::JsonlFields{{"prompt", "completion"}}, [&](const rlhf::data::JsonlRecord& r) {
        if (r.string("completion").empty()) r.fail("field \"completion\" is empty");
        const std::vector<std::int32_t> prompt = tok.encode(r.string("prompt"));
        auto seq = rlhf::data::prompt_completion_sequence(prompt, tok.encode(r.string("completion")), tok.eos_id());
        if (std::int64_t(seq.size()) > context)
          r.fail("prompt + completion + EOS is ", seq.size(), " tokens, longer than the model's context of ", context);
        out.prompts.push_back(r.string("prompt"));
        out.completions.push_back(r.string("completion"));
        out.sequences.push_back(std::move(seq));
        out.from.push_back(std::int64_t(prompt.size()));
      });
  if (out.sequences.empty()) fail(file.string(), ": no records");
  return out;
}

std::vector<std::vector<std::int32_t>> read_prompts(const fs::path& file, const AnyTokenizer& tok, std::int64_t context,
                                                    std::int64_t max_new_tokens) {
  require_file(file);
  std::vector<std::vector<std::int32_t>> prompts;
  rlhf::data::read_jsonl(file, rlhf::data::JsonlFields{{"prompt"}}, [&](const rlhf::data::JsonlRecord& r) {
    std::vector<std::int32_t> ids = tok.encode(r.string("prompt"));
    if (ids.empty()) r.fail("field \"prompt\" is empty");
    if (std::int64_t(ids.size()) + max_new_tokens > context)
      r.fail("prompt of ", ids.size(), " tokens + ", max_new_tokens, " new tokens exceed the model's context of ",
             context);
    prompts.push_back(std::move(ids));
  });
  if (prompts.empty()) fail(file.string(), ": no prompts");
  return prompts;
}

int run_tokenize(const TokenizeArgs& a) {
  std::optional<AnyTokenizer> tok;
  std::int64_t vocab = 0;
  if (!a.model.empty()) {
    const rlhf::nn::GPTConfig c = rlhf::io::read_config(a.model);
    vocab = c.vocab_size;
    tok = AnyTokenizer::of_model(a.model, vocab);
  } else {
    tok = AnyTokenizer::parse(a.tokenizer);
    vocab = tok->vocab_size();
  }
  ordered out;
  if (!a.ids.empty()) {  // decode a list of ids
    const json parsed = rlhf::files::parse_json(a.ids, "--ids", "not a JSON array of token ids", /*single_line=*/true);
    if (!parsed.is_array()) fail("--ids: expected a JSON array of token ids, got ", parsed.type_name());
    std::vector<std::int32_t> ids;
    for (std::size_t i = 0; i < parsed.size(); ++i) {
      if (!parsed[i].is_number_integer()) fail("--ids: element ", i, " is not an integer");
      const std::int64_t id = parsed[i].get<std::int64_t>();
      if (id < 0 || id >= vocab)
        fail("--ids: token id ", id, " at position ", i, " is outside the vocabulary [0, ", vocab, ")");
      ids.push_back(std::int32_t(id));
    }
    out = {{"ids", ids}, {"text", tok->decode(ids)}};
    print_all(dump(out) + "\n");
    return 0;
  }
  const std::string text = a.text_given ? a.text : read_text_file(a.file);
  const std::vector<std::int32_t> ids = tok->encode(text);
  if (!a.decode) {
    print_all(dump(ordered(ids)) + "\n");
    return 0;
  }
  const std::string back = tok->decode(ids);
  out = {{"ids", ids}, {"text", back}, {"round_trip", back == text}};
  print_all(dump(out) + "\n");
  if (back != text) fail("the decoded text differs from the input (no round trip)");
  return 0;
}

int print_pipeline_config(const PipelineArgs& a) {
  print_all(rlhf::train::to_json(rlhf::train::read_pipeline_config(a.config)).dump(2) + "\n");
  return 0;
}

volatile std::sig_atomic_t stop_signal = 0;

namespace {
extern "C" void on_stop_signal(int sig) { stop_signal = sig; }
}  // namespace

void catch_stop_signals() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

}  // namespace rlhf_cli
