// rlhf: the command-line tool. Subcommands (each with --help):
//   rlhf init      a new GPT-2-initialised model from a JSON config -> checkpoint directory
//   rlhf sft       supervised fine-tuning on TRL-format JSONL -> checkpoints + metrics.jsonl
//   rlhf generate  sampled completions of prompts, printed as JSONL
//   rlhf logprobs  per-token log-probs of JSONL texts under a checkpoint, printed as JSONL
//   rlhf reward    reward-model training on pairwise or K-wise comparisons -> checkpoints + metrics
//   rlhf score     reward-model scores of prompt/completion pairs, printed as JSONL
//   rlhf ppo       PPO against a reward model with a KL penalty -> policy/ + value/ + metrics
//   rlhf tokenize  token ids of a text (and the round trip)
//   rlhf pipeline  SFT -> collect rankings -> reward model -> PPO -> evaluation, from one config
// --backend cpu|cuda (cuda in a build with nvcc) and --precision fp32|tf32|bf16 choose where the
// models run and how their matrix products round (backend/precision.hpp), for every subcommand
// that runs one (not init, tokenize or pipeline --print-config). Errors, command-line usage errors
// included: one line "rlhf: <message>" on stderr and exit code 1.
// Outputs are complete or absent: checkpoints and metrics are written atomically by the library,
// and JSONL on stdout is printed only once every record succeeded. See docs/cli.md.
//
// The subcommands live in common.hpp (arguments, inputs; those that run no model) and
// commands.hpp (the rest, for any backend: on_cpu.cpp, on_cuda.cu).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include <CLI/CLI.hpp>

#include "common.hpp"
#include "rlhf/backend/cpu/fast_runtime.hpp"
#include "rlhf/core/field_names.hpp"
#include "rlhf/files/file_digest.hpp"
#include "rlhf/version.hpp"

using namespace rlhf_cli;
using rlhf::fail;

namespace {

// What the configs' validate() calls each field: the option that sets it ("--steps" for
// SFTConfig::max_steps; core/field_names.hpp). add_option records it as it adds the option.
rlhf::FieldNames option_names("config");

template <class V>
CLI::Option* add_option(CLI::App* c, const std::string& name, V& slot, const std::string& help) {
  option_names.set(&slot, name);
  return c->add_option(name, slot, help);
}

// A numeric option's rule, checked as the command line is parsed: a value that breaks it is a
// usage error that CLI11 words as "--lr: must be finite and > 0, got inf".
CLI::Validator number_rule(const std::string& rule, bool (*ok)(double)) {
  return CLI::Validator(
      [rule, ok](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0' || !ok(v)) return "must be " + rule + ", got " + text;
        return {};
      },
      rule);
}
const CLI::Validator finite_positive =
    number_rule("finite and > 0", [](double v) { return std::isfinite(v) && v > 0; });
const CLI::Validator finite_non_negative =
    number_rule("finite and >= 0", [](double v) { return std::isfinite(v) && v >= 0; });
const CLI::Validator unit_interval = number_rule("in [0, 1]", [](double v) { return v >= 0 && v <= 1; });
const CLI::Validator below_one = number_rule("in [0, 1)", [](double v) { return v >= 0 && v < 1; });
// Step and iteration counts: at most a billion (a mistyped 1e20 would never end).
const CLI::Validator step_count =
    number_rule("an integer in [1, 1000000000]", [](double v) { return v >= 1 && v <= 1e9; });

// What a resumed run must share with the run it continues (recorded in each checkpoint, checked
// by --resume; train/run_directory.hpp): every option of the subcommand but those that say how
// long to run, how often to evaluate, log or save, and where to write; numbers as numbers (so
// 3e-3 equals 0.003), files and model directories by the digest of their contents.
nlohmann::ordered_json run_inputs(const CLI::App& sub) {
  static const std::set<std::string> free = {"--steps",     "--iterations", "--eval-every",       "--eval-max-batches",
                                             "--log-every", "--save-every", "--keep-checkpoints", "--resume",
                                             "--out",       "--help"};
  static const std::set<std::string> contents = {"--data",    "--model",    "--policy",        "--reward",
                                                 "--prompts", "--ptx-data", "--normalize-data"};
  nlohmann::ordered_json inputs = nlohmann::ordered_json::object();
  for (const CLI::Option* o : sub.get_options()) {
    const std::string name = o->get_name();
    if (name.empty() || free.count(name)) continue;
    if (o->get_type_size() == 0) {  // a flag
      inputs[name] = o->count() > 0;
      continue;
    }
    const std::string text = o->count() ? o->as<std::string>() : o->get_default_str();
    if (contents.count(name)) {  // a missing one is the command's to report, in its words
      if (!text.empty()) inputs[name] = std::filesystem::exists(text) ? rlhf::files::file_digest(text) : text;
      continue;
    }
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (!text.empty() && *end == '\0') inputs[name] = v;
    else inputs[name] = text;
  }
  return inputs;
}

// The options SFT and reward-model training share: steps, schedule, optimizer, evaluation, logging.
template <class Config>
void add_step_options(CLI::App* c, Config& cfg) {
  add_option(c, "--steps", cfg.max_steps, "Optimizer steps")->capture_default_str()->check(step_count);
  add_option(c, "--lr", cfg.learning_rate, "Peak learning rate")->capture_default_str()->check(finite_positive);
  add_option(c, "--warmup", cfg.warmup_steps, "Linear warmup steps (then cosine decay)")
      ->capture_default_str()
      ->check(finite_non_negative);
  add_option(c, "--weight-decay", cfg.adamw.weight_decay, "AdamW weight decay")
      ->capture_default_str()
      ->check(finite_non_negative);
  add_option(c, "--max-grad-norm", cfg.max_grad_norm, "Gradient-norm clipping (0: none)")
      ->capture_default_str()
      ->check(finite_non_negative);
  add_option(c, "--eval-every", cfg.eval_every, "Evaluate and save every N steps (0: only at the end)")
      ->capture_default_str();
  add_option(c, "--log-every", cfg.log_every, "Progress line and metrics record every N steps")->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  rlhf::reexec_with_fast_runtime(argv);  // before anything else runs: it may start the program again
  CLI::App app{"rlhf: GPT-2 models through SFT, reward modelling and PPO (rlhf++ " RLHF_VERSION_STRING ")", "rlhf"};
  app.require_subcommand(1);
  app.set_version_flag("--version", RLHF_VERSION_STRING);
  app.fallthrough();  // the global options may also follow the subcommand
  std::string backend = "cpu", precision = "fp32";
  app.add_option("--backend", backend, "Where models run: cpu, or cuda in a build with CUDA")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  app.add_option("--precision", precision,
                 "Matrix products: fp32, tf32 or bf16 (fp32 weights, gradients and optimizer throughout; on the CPU "
                 "tf32 and bf16 are emulated, slower than fp32)")
      ->check(CLI::IsMember({"fp32", "tf32", "bf16"}))
      ->capture_default_str();

  Command command;
  InitArgs init;
  CLI::App* c_init =
      app.add_subcommand("init", "A new GPT-2-initialised model from a JSON config -> checkpoint directory");
  add_option(c_init, "--config", init.config,
             "JSON config: GPT2Config fields (vocab_size, n_positions, n_embd, n_layer, n_head, ...)")
      ->required();
  add_option(c_init, "--out", init.out, "Checkpoint directory to write (Hugging Face GPT-2 layout)")->required();
  add_option(c_init, "--seed", init.seed, "Seed of the initialisation")->capture_default_str();
  add_option(c_init, "--tokenizer", init.tokenizer,
             "bytes (vocab_size must be 257) or gpt2:DIR (vocab.json + merges.txt, copied into the checkpoint)")
      ->capture_default_str();
  c_init->add_flag("--force", init.force, "Overwrite a checkpoint already in --out");

  SftArgs& sft = command.sft;
  CLI::App* c_sft =
      app.add_subcommand("sft", "Supervised fine-tuning on TRL JSONL ({\"prompt\",\"completion\"} or {\"text\"})");
  add_option(c_sft, "--model", sft.model, "Checkpoint directory to start from")->required();
  add_option(c_sft, "--data", sft.data, "SFT data, JSONL")->required();
  add_option(c_sft, "--out", sft.out,
             "Output directory: the model, checkpoint-STEP/ (what --resume reads), metrics.jsonl")
      ->required();
  add_option(c_sft, "--batch-size", sft.cfg.batch_size, "Sequences per step")->capture_default_str();
  add_option(c_sft, "--micro-batch-size", sft.cfg.micro_batch_size,
             "Sequences per forward/backward (0: the whole batch)")
      ->capture_default_str();
  add_option(c_sft, "--max-length", sft.max_length, "Truncate examples to this many tokens (0: the model's context)")
      ->capture_default_str();
  add_option(c_sft, "--val-fraction", sft.val_fraction, "Share of examples held out for validation")
      ->capture_default_str()
      ->check(below_one);
  add_option(c_sft, "--eval-max-batches", sft.cfg.eval_max_batches, "Validation batches per evaluation (0: all)")
      ->capture_default_str();
  add_option(c_sft, "--seed", sft.cfg.seed, "Seed of the split and the data order")->capture_default_str();
  add_step_options(c_sft, sft.cfg);
  c_sft->add_flag("--resume", sft.resume, "Continue the run saved in --out");
  add_option(c_sft, "--keep-checkpoints", sft.keep_checkpoints,
             "Committed checkpoint-STEP directories kept in --out (the newest)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  GenerateArgs& gen = command.generate;
  CLI::App* c_gen = app.add_subcommand(
      "generate", "Sample completions; prints JSONL {\"prompt\",\"completion\",\"tokens\",\"logprob\",\"finished\"}");
  add_option(c_gen, "--model", gen.model, "Checkpoint directory")->required();
  auto* o_prompt = add_option(c_gen, "--prompt", gen.prompts, "Prompt text (repeatable)");
  auto* o_prompts = add_option(c_gen, "--prompts", gen.prompts_file, "JSONL file of {\"prompt\"}");
  o_prompt->excludes(o_prompts);
  add_option(c_gen, "--max-new-tokens", gen.max_new_tokens,
             "Most tokens to generate (by default 64, or what the context leaves)")
      ->capture_default_str()
      ->check(step_count);
  add_option(c_gen, "--temperature", gen.sampling.temperature, "Sampling temperature (0: greedy)")
      ->capture_default_str();
  add_option(c_gen, "--top-k", gen.sampling.top_k, "Keep the k most likely tokens (0: all)")->capture_default_str();
  add_option(c_gen, "--top-p", gen.sampling.top_p, "Nucleus sampling threshold (1: off)")->capture_default_str();
  add_option(c_gen, "--seed", gen.seed, "Sampler seed")->capture_default_str();
  add_option(c_gen, "--batch-size", gen.batch_size, "Prompts generated together")->capture_default_str();

  LogprobsArgs& lp = command.logprobs;
  CLI::App* c_lp = app.add_subcommand(
      "logprobs", "Per-token log-probs of JSONL records; prints JSONL {\"tokens\",\"logprobs\",\"sum\"}");
  add_option(c_lp, "--model", lp.model, "Checkpoint directory")->required();
  add_option(c_lp, "--data", lp.data,
             "JSONL of {\"text\"}, {\"prompt\",\"completion\"} (completion tokens scored) or {\"tokens\"}")
      ->required();
  add_option(c_lp, "--temperature", lp.temperature, "Log-probs under softmax(logits / temperature)")
      ->capture_default_str();

  RewardArgs& rw = command.reward;
  CLI::App* c_rw = app.add_subcommand(
      "reward", "Train a reward model on comparisons (pairwise or K-wise JSONL) -> checkpoint + metrics.jsonl");
  add_option(c_rw, "--model", rw.model, "Checkpoint to start from: an SFT model (a new score head) or a reward model")
      ->required();
  add_option(c_rw, "--data", rw.data,
             "Comparisons, JSONL: {\"prompt\",\"chosen\",\"rejected\"[,\"margin\"]} or "
             "{\"prompt\",\"completions\",\"ranking\"}")
      ->required();
  add_option(c_rw, "--out", rw.out,
             "Output directory: the reward model, checkpoint-STEP/ (what --resume reads), metrics.jsonl")
      ->required();
  add_option(c_rw, "--batch-size", rw.cfg.batch_size, "Groups (pairs or K-wise prompts) per step")
      ->capture_default_str();
  add_option(c_rw, "--micro-batch-tokens", rw.cfg.micro_batch_tokens,
             "Padded tokens per forward/backward (groups stay whole)")
      ->capture_default_str();
  add_option(c_rw, "--center-coefficient", rw.cfg.center_coefficient,
             "Pairwise data: c of c * mean((r_w + r_l)^2) (0: off)")
      ->capture_default_str();
  add_option(c_rw, "--max-length", rw.max_length,
             "Drop records with a sequence longer than this (0: the model's context)")
      ->capture_default_str();
  add_option(c_rw, "--val-fraction", rw.val_fraction, "Share of groups held out for validation")
      ->capture_default_str()
      ->check(below_one);
  add_option(c_rw, "--normalize-data", rw.normalize_data,
             "JSONL {\"prompt\",\"completion\"} whose scores get mean 0, std 1 (default: the held-out completions)");
  add_option(c_rw, "--seed", rw.cfg.seed, "Seed of the head, the split and the data order")->capture_default_str();
  add_step_options(c_rw, rw.cfg);
  c_rw->add_flag("--resume", rw.resume, "Continue the run saved in --out");
  add_option(c_rw, "--keep-checkpoints", rw.keep_checkpoints,
             "Committed checkpoint-STEP directories kept in --out (the newest)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  ScoreArgs& sc = command.score;
  CLI::App* c_sc = app.add_subcommand("score",
                                      "Score prompt/completion pairs with a reward model; prints JSONL "
                                      "{\"prompt\",\"completion\",\"score\",\"reward\"}");
  add_option(c_sc, "--model", sc.model, "Reward-model checkpoint directory")->required();
  add_option(c_sc, "--data", sc.data, "JSONL of {\"prompt\",\"completion\"}")->required();
  add_option(c_sc, "--batch-size", sc.batch_size, "Sequences per forward pass")->capture_default_str();

  PpoArgs& ppo = command.ppo;
  CLI::App* c_ppo = app.add_subcommand(
      "ppo",
      "PPO of an SFT policy against a reward model, with a per-token KL penalty -> policy/, value/, metrics.jsonl");
  add_option(c_ppo, "--policy", ppo.policy, "SFT checkpoint: the policy starts from it and it is the frozen reference")
      ->required();
  add_option(c_ppo, "--reward", ppo.reward,
             "Reward-model checkpoint: the frozen scorer; the value model starts from it")
      ->required();
  add_option(c_ppo, "--prompts", ppo.prompts, "JSONL of {\"prompt\"}")->required();
  add_option(c_ppo, "--out", ppo.out,
             "Output directory: policy/, value/, checkpoint-STEP/ (what --resume reads), metrics.jsonl")
      ->required();
  add_option(c_ppo, "--iterations", ppo.iterations, "PPO iterations (rollout + update)")
      ->capture_default_str()
      ->check(step_count);
  add_option(c_ppo, "--batch-size", ppo.cfg.batch_size, "Episodes (prompts) per iteration")->capture_default_str();
  add_option(c_ppo, "--mini-batch-size", ppo.cfg.mini_batch_size, "Episodes per optimizer step")->capture_default_str();
  add_option(c_ppo, "--micro-batch-size", ppo.cfg.micro_batch_size, "Episodes per forward/backward (0: the minibatch)")
      ->capture_default_str();
  add_option(c_ppo, "--ppo-epochs", ppo.cfg.ppo_epochs, "Passes over each rollout")->capture_default_str();
  add_option(c_ppo, "--max-new-tokens", ppo.cfg.max_new_tokens, "Most tokens per response")->capture_default_str();
  add_option(c_ppo, "--temperature", ppo.cfg.sampling.temperature,
             "Sampling temperature (> 0; the log-probs use it too)")
      ->capture_default_str();
  add_option(c_ppo, "--top-k", ppo.cfg.sampling.top_k, "Keep the k most likely tokens (0: all)")->capture_default_str();
  add_option(c_ppo, "--top-p", ppo.cfg.sampling.top_p, "Nucleus sampling threshold (1: off)")->capture_default_str();
  add_option(c_ppo, "--kl-coef", ppo.cfg.kl_coef, "beta of the per-token KL penalty (initial value when adaptive)")
      ->capture_default_str()
      ->check(finite_non_negative);
  add_option(c_ppo, "--kl-estimator", ppo.kl_estimator, "k1 (logp - logp_ref), k3, abs or mse")->capture_default_str();
  c_ppo->add_flag("--adaptive-kl", ppo.cfg.adaptive_kl, "Ziegler et al.'s adaptive KL coefficient");
  add_option(c_ppo, "--kl-target", ppo.cfg.kl_target, "Target KL of the adaptive controller (nats per episode)")
      ->capture_default_str();
  add_option(c_ppo, "--kl-horizon", ppo.cfg.kl_horizon, "Horizon of the adaptive controller (episodes)")
      ->capture_default_str();
  add_option(c_ppo, "--gamma", ppo.cfg.gamma, "GAE discount")->capture_default_str()->check(unit_interval);
  add_option(c_ppo, "--lambda", ppo.cfg.lambda, "GAE lambda")->capture_default_str()->check(unit_interval);
  add_option(c_ppo, "--cliprange", ppo.cfg.cliprange, "Clip range of the policy ratio")
      ->capture_default_str()
      ->check(finite_positive);
  add_option(c_ppo, "--cliprange-value", ppo.cfg.cliprange_value, "Clip range of the value around the rollout's")
      ->capture_default_str()
      ->check(finite_positive);
  add_option(c_ppo, "--vf-coef", ppo.cfg.vf_coef, "Value-loss coefficient")
      ->capture_default_str()
      ->check(finite_non_negative);
  add_option(c_ppo, "--entropy-coef", ppo.cfg.entropy_coef, "Entropy bonus coefficient (0: none)")
      ->capture_default_str();
  add_option(c_ppo, "--lr", ppo.cfg.learning_rate, "Policy learning rate")
      ->capture_default_str()
      ->check(finite_positive);
  add_option(c_ppo, "--value-lr", ppo.cfg.value_learning_rate, "Value-model learning rate (0: --lr)")
      ->capture_default_str()
      ->check(finite_non_negative);
  add_option(c_ppo, "--max-grad-norm", ppo.cfg.max_grad_norm, "Gradient-norm clipping of each model (0: none)")
      ->capture_default_str()
      ->check(finite_non_negative);
  add_option(c_ppo, "--target-approx-kl", ppo.cfg.target_approx_kl,
             "Stop an iteration's update when a minibatch's approx-KL exceeds this (0: never)")
      ->capture_default_str();
  add_option(c_ppo, "--missing-eos-penalty", ppo.cfg.missing_eos_penalty,
             "Added to the score of a response without EOS (e.g. -1; 0: none)")
      ->capture_default_str();
  add_option(c_ppo, "--score-clip", ppo.cfg.score_clip, "Clip scores to [-c, c] (0: none)")->capture_default_str();
  c_ppo->add_flag("--whiten-rewards", ppo.cfg.whiten_rewards, "Whiten the per-token rewards before GAE");
  add_option(c_ppo, "--ptx-data", ppo.ptx_data,
             "PPO-ptx: pretraining/SFT JSONL ({\"text\"} or {\"prompt\",\"completion\"})");
  add_option(c_ppo, "--ptx-coef", ppo.cfg.ptx_coef, "PPO-ptx coefficient gamma (0: off)")
      ->capture_default_str()
      ->check(finite_non_negative);
  add_option(c_ppo, "--ptx-batch-size", ppo.cfg.ptx_batch_size, "PPO-ptx sequences per optimizer step")
      ->capture_default_str();
  add_option(c_ppo, "--save-every", ppo.save_every, "Save every N iterations (0: only at the end)")
      ->capture_default_str()
      ->check(finite_non_negative);
  add_option(c_ppo, "--log-every", ppo.log_every, "Progress line every N iterations (metrics.jsonl gets every one)")
      ->capture_default_str()
      ->check(finite_positive);
  add_option(c_ppo, "--seed", ppo.cfg.seed, "Seed of the prompt order, the sampler and the minibatches")
      ->capture_default_str();
  c_ppo->add_flag("--resume", ppo.resume, "Continue the run saved in --out");
  add_option(c_ppo, "--keep-checkpoints", ppo.keep_checkpoints,
             "Committed checkpoint-STEP directories kept in --out (the newest)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  TokenizeArgs tk;
  CLI::App* c_tk = app.add_subcommand("tokenize", "Token ids of a text (JSON array); --decode adds the round trip");
  auto* o_model = add_option(c_tk, "--model", tk.model, "Checkpoint directory (its tokenizer)");
  auto* o_tok = add_option(c_tk, "--tokenizer", tk.tokenizer, "bytes or gpt2:DIR");
  o_model->excludes(o_tok);
  auto* o_text = add_option(c_tk, "--text", tk.text, "Text to tokenize");
  auto* o_file = add_option(c_tk, "--file", tk.file, "File whose bytes to tokenize");
  auto* o_ids = add_option(c_tk, "--ids", tk.ids, "Decode a JSON array of token ids instead");
  o_text->excludes(o_file)->excludes(o_ids);
  o_file->excludes(o_ids);
  c_tk->add_flag("--decode", tk.decode, "Also print the decoded text and whether it round-trips");

  PipelineArgs& pl = command.pipeline;
  CLI::App* c_pl = app.add_subcommand(
      "pipeline",
      "The whole method: SFT -> collect rankings -> reward model -> PPO -> evaluation report, from one JSON config");
  add_option(c_pl, "--config", pl.config, "Pipeline config, JSON (docs/pipeline.md; configs/default.json)")->required();
  add_option(c_pl, "--out", pl.out,
             "Run directory: each stage's checkpoints, metrics and logs, report.md, plots/ (rerun: finished stages are "
             "skipped)");
  c_pl->add_flag("--print-config", pl.print_config, "Print the config with every default filled in, and exit");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {  // a usage error: one line and exit code 1, like every other error
    std::string msg = e.what();
    for (char& ch : msg)
      if (ch == '\n' || ch == '\r') ch = ' ';
    const auto subcommands = app.get_subcommands();
    std::fprintf(stderr, "rlhf: %s (see rlhf %s--help)\n", msg.c_str(),
                 subcommands.empty() ? "" : (subcommands.front()->get_name() + " ").c_str());
    return 1;
  }

  try {
    if (*c_init) return run_init(init);
    if (*c_tk) {
      if (tk.model.empty() && tk.tokenizer.empty()) fail("tokenize: give --model DIR or --tokenizer bytes|gpt2:DIR");
      tk.text_given = o_text->count() > 0;
      if (!tk.text_given && tk.file.empty() && tk.ids.empty()) fail("tokenize: give --text, --file or --ids");
      return run_tokenize(tk);
    }
    if (*c_pl && pl.print_config) return print_pipeline_config(pl);
    // Every config value in range before any file is read, named by its option.
    if (*c_sft) sft.cfg.validate(option_names);
    if (*c_rw) rw.cfg.validate(option_names);
    if (*c_ppo) ppo.cfg.validate(option_names);
    if (*c_gen) gen.sampling.validate(option_names);
    using Kind = Command::Kind;
    gen.max_new_tokens_given = c_gen->get_option("--max-new-tokens")->count() > 0;
    if (*c_gen && gen.prompts.empty() && gen.prompts_file.empty())
      fail("generate: give --prompt TEXT or --prompts FILE.jsonl");
    // Digests read the input files: only once the command line is known good, and only for the
    // commands that train.
    if (*c_sft) sft.inputs = run_inputs(*c_sft);
    if (*c_rw) rw.inputs = run_inputs(*c_rw);
    if (*c_ppo) ppo.inputs = run_inputs(*c_ppo);
    command.kind = *c_sft   ? Kind::sft
                   : *c_gen ? Kind::generate
                   : *c_lp  ? Kind::logprobs
                   : *c_rw  ? Kind::reward
                   : *c_sc  ? Kind::score
                   : *c_ppo ? Kind::ppo
                            : Kind::pipeline;
    const rlhf::MatmulPrecision p = rlhf::parse_matmul_precision(precision);
    if (backend == "cpu") return run_on_cpu(command, p);
#ifdef RLHF_CLI_WITH_CUDA
    return run_on_cuda(command, p);
#else
    fail("--backend cuda: this rlhf was built without the CUDA backend (configure with nvcc on the PATH)");
#endif
  } catch (const std::exception& e) {
    std::string msg = e.what();
    for (char& ch : msg)
      if (ch == '\n' || ch == '\r') ch = ' ';
    std::fflush(stdout);
    std::fprintf(stderr, "rlhf: %s\n", msg.c_str());
    return 1;
  }
  return 1;
}
