#pragma once
// The rlhf tool's parts that do not depend on the backend: each subcommand's arguments, the
// command a parsed command line asks for, the checks and readers of input files, output that is
// printed only once complete, and the subcommands that run no model (init writes a new
// checkpoint from the CPU; tokenize; pipeline --print-config). commands.hpp runs the others on a
// backend.
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlhf/backend/precision.hpp"
#include "rlhf/core/sampling.hpp"
#include "rlhf/data/any_tokenizer.hpp"
#include "rlhf/io/tokenizer_files.hpp"
#include "rlhf/train/ppo.hpp"
#include "rlhf/train/reward.hpp"
#include "rlhf/train/sft.hpp"

namespace rlhf_cli {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ordered = nlohmann::ordered_json;
using rlhf::data::AnyTokenizer;
using T = float;

struct InitArgs {
  std::string config, out, tokenizer = "bytes";
  std::uint64_t seed = 0;
  bool force = false;
};

struct SftArgs {
  std::string model, data, out;
  rlhf::train::SFTConfig cfg;
  std::int64_t max_length = 0;  // 0: the model's context
  double val_fraction = 0.05;
  int keep_checkpoints = 1;       // committed checkpoint-STEP directories kept after a save
  nlohmann::ordered_json inputs;  // what a resumed run must share with its checkpoint (run_inputs)
  bool resume = false;
};

struct GenerateArgs {
  std::string model, prompts_file;
  std::vector<std::string> prompts;
  std::int64_t max_new_tokens = 64;  // at most what the context leaves, unless given
  bool max_new_tokens_given = false;
  std::int64_t batch_size = 16;
  rlhf::SamplingParams sampling;
  std::uint64_t seed = 0;
};

struct LogprobsArgs {
  std::string model, data;
  double temperature = 1.0;
};

struct RewardArgs {
  std::string model, data, out, normalize_data;
  rlhf::train::RewardConfig cfg;
  std::int64_t max_length = 0;  // 0: the model's context
  double val_fraction = 0.1;
  int keep_checkpoints = 1;       // committed checkpoint-STEP directories kept after a save
  nlohmann::ordered_json inputs;  // what a resumed run must share with its checkpoint (run_inputs)
  bool resume = false;
};

struct ScoreArgs {
  std::string model, data;
  std::int64_t batch_size = 16;
};

struct PpoArgs {
  std::string policy, reward, prompts, out, ptx_data, kl_estimator = "k1";
  rlhf::train::PPOConfig cfg;
  std::int64_t iterations = 100, save_every = 10, log_every = 1;
  int keep_checkpoints = 1;       // committed checkpoint-STEP directories kept after a save
  nlohmann::ordered_json inputs;  // what a resumed run must share with its checkpoint (run_inputs)
  bool resume = false;
};

struct TokenizeArgs {
  std::string model, tokenizer, text, file, ids;
  bool text_given = false, decode = false;
};

struct PipelineArgs {
  std::string config, out;
  bool print_config = false;
};

// A subcommand that runs models, with its arguments: what commands.hpp runs on a backend.
struct Command {
  enum class Kind { sft, generate, logprobs, reward, score, ppo, pipeline } kind = Kind::sft;
  SftArgs sft;
  GenerateArgs generate;
  LogprobsArgs logprobs;
  RewardArgs reward;
  ScoreArgs score;
  PpoArgs ppo;
  PipelineArgs pipeline;
};

// The command on the CPU backend (on_cpu.cpp) or, in a build with CUDA, on the GPU (on_cuda.cu,
// the module rlhf_cuda.so that cuda_module.cpp loads), with matrix products in the given
// precision (backend/precision.hpp).
int run_on_cpu(const Command& command, rlhf::MatmulPrecision precision);
int run_on_cuda(const Command& command, rlhf::MatmulPrecision precision);

int run_init(const InitArgs& a);
int run_tokenize(const TokenizeArgs& a);
// rlhf pipeline --print-config: the config with every default filled in (no model runs).
int print_pipeline_config(const PipelineArgs& a);

void require_file(const fs::path& file);
// Fails unless dir holds a checkpoint (config.json); for a run directory, names the checkpoints in it.
void require_checkpoint(const fs::path& dir);
std::string read_text_file(const fs::path& file);
// Compact JSON, keys in the order written; invalid UTF-8 (sampled bytes can be) as U+FFFD.
std::string dump(const ordered& j);
// Prints whole output at once, after everything succeeded.
void print_all(const std::string& text);

// {"prompt", "completion"} records as reward-model sequences (prompt + completion + EOS) and the
// response start of each, for normalisation and scoring.
struct ScoredTexts {
  std::vector<std::string> prompts, completions;
  std::vector<std::vector<std::int32_t>> sequences;
  std::vector<std::int64_t> from;
};
ScoredTexts read_prompt_completions(const fs::path& file, const AnyTokenizer& tok, std::int64_t context);

// {"prompt"} records as token ids, each leaving room for max_new_tokens in the context.
std::vector<std::vector<std::int32_t>> read_prompts(const fs::path& file, const AnyTokenizer& tok, std::int64_t context,
                                                    std::int64_t max_new_tokens);

// SIGINT / SIGTERM ask a running pipeline to stop after its current step, with a checkpoint.
extern volatile std::sig_atomic_t stop_signal;
void catch_stop_signals();

}  // namespace rlhf_cli
