#pragma once
// The pipeline's config file: one JSON object whose sections hold the knobs of each stage
// (docs/pipeline.md lists every key with its default). Keys left out keep their defaults; an
// unknown key or a value of the wrong type is an error naming the key. Relative paths are
// relative to the directory of the config file.
//
//   {"seed": 1, "tokenizer": "bytes",
//    "model":   {"n_positions": 96, "n_embd": 128, ...}  or  {"checkpoint": "DIR"},
//    "data":    {"sft": ..., "collect_prompts": ..., "ppo_prompts": ..., "eval_prompts": ..., "ptx": ...},
//    "labeler": {"afinn": ..., "words": ..., "dictionary_weight": 2, ...},
//    "sft": {...}, "collect": {...}, "reward": {...}, "ppo": {...}, "eval": {...}}
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "rlhf/data/jsonl.hpp"
#include "rlhf/data/labeler.hpp"
#include "rlhf/io/config_fields.hpp"
#include "rlhf/files/json_text.hpp"
#include "rlhf/loss/ppo.hpp"
#include "rlhf/train/collect.hpp"
#include "rlhf/train/evaluate.hpp"
#include "rlhf/train/ppo_config.hpp"
#include "rlhf/train/reward.hpp"
#include "rlhf/train/sft.hpp"

namespace rlhf::io {
template <>
struct ConfigEnum<loss::KLEstimator> {
  static loss::KLEstimator parse(const std::string& s) { return loss::parse_kl_estimator(s); }
  static std::string_view name(loss::KLEstimator k) {
    switch (k) {
      case loss::KLEstimator::k1: return "k1";
      case loss::KLEstimator::k3: return "k3";
      case loss::KLEstimator::abs: return "abs";
      case loss::KLEstimator::mse: return "mse";
    }
    return "k1";
  }
};
}  // namespace rlhf::io

namespace rlhf::train {

struct PipelineConfig {
  std::uint64_t seed = 1;
  std::string tokenizer = "bytes";  // "bytes" or "gpt2:DIR"; a model checkpoint brings its own
  struct Model {
    std::string checkpoint;  // start SFT from this GPT-2 checkpoint; empty: a new model of the shape below
    std::int64_t n_positions = 96, n_embd = 128, n_layer = 4, n_head = 4;
  } model;
  struct Data {                   // required, except ptx
    std::string sft;              // SFT demonstrations: {"prompt","completion"} or {"text"} JSONL
    std::string collect_prompts;  // {"prompt"} JSONL (other fields ignored): prompts whose samples get ranked
    std::string ppo_prompts;      // PPO's prompts
    std::string eval_prompts;     // held-out prompts of the evaluation
    std::string ptx;              // PPO-ptx text (when ppo.ptx_coef > 0)
  } data;
  struct Labeler {
    std::string afinn;  // required: AFINN-165 as word<TAB>score lines
    std::string words = "/usr/share/dict/american-english";
    data::SentimentWeights weights;
  } labeler;
  struct Sft {
    SFTConfig train;
    std::int64_t max_length = 64;
    double val_fraction = 0.05;
  } sft;
  CollectConfig collect;
  struct Reward {
    RewardConfig train;
    double val_fraction = 0.1;
  } reward;
  struct Ppo {
    PPOConfig train;
    std::int64_t iterations = 100, save_every = 10;
  } ppo;
  EvalConfig eval;
  bool plots = true;  // PNG plots with gnuplot, when it is installed

  // Errors name the fields by their keys in the config file ("collect.temperature").
  void validate() const;
};

// The field lists (io/config_fields.hpp): reading, writing and the docs follow them.
template <class F>
void visit(F& f, optim::AdamWConfig& c) {
  f("adam_beta1", c.beta1);
  f("adam_beta2", c.beta2);
  f("adam_eps", c.eps);
  f("weight_decay", c.weight_decay);
}
template <class F>
void visit(F& f, SamplingParams& c) {
  f("temperature", c.temperature);
  f("top_k", c.top_k);
  f("top_p", c.top_p);
}
template <class F>
void visit(F& f, PipelineConfig::Sft& c) {
  f("steps", c.train.max_steps);
  f("batch_size", c.train.batch_size);
  f("micro_batch_size", c.train.micro_batch_size);
  f("learning_rate", c.train.learning_rate);
  f("warmup_steps", c.train.warmup_steps);
  f("min_lr_ratio", c.train.min_lr_ratio);
  visit(f, c.train.adamw);
  f("max_grad_norm", c.train.max_grad_norm);
  f("log_every", c.train.log_every);
  f("eval_every", c.train.eval_every);
  f("eval_max_batches", c.train.eval_max_batches);
  f("max_length", c.max_length);
  f("val_fraction", c.val_fraction);
}
template <class F>
void visit(F& f, CollectConfig& c) {
  f("prompts", c.prompts);
  f("min_k", c.min_k);
  f("max_k", c.max_k);
  f("max_new_tokens", c.max_new_tokens);
  visit(f, c.sampling);
  f("labeler_temperature", c.labeler_temperature);
  f("batch_size", c.batch_size);
}
template <class F>
void visit(F& f, PipelineConfig::Reward& c) {
  f("steps", c.train.max_steps);
  f("batch_size", c.train.batch_size);
  f("micro_batch_tokens", c.train.micro_batch_tokens);
  f("learning_rate", c.train.learning_rate);
  f("warmup_steps", c.train.warmup_steps);
  f("min_lr_ratio", c.train.min_lr_ratio);
  visit(f, c.train.adamw);
  f("max_grad_norm", c.train.max_grad_norm);
  f("center_coefficient", c.train.center_coefficient);
  f("log_every", c.train.log_every);
  f("eval_every", c.train.eval_every);
  f("val_fraction", c.val_fraction);
}
template <class F>
void visit(F& f, PipelineConfig::Ppo& c) {
  PPOConfig& p = c.train;
  f("iterations", c.iterations);
  f("save_every", c.save_every);
  f("batch_size", p.batch_size);
  f("max_new_tokens", p.max_new_tokens);
  visit(f, p.sampling);
  f("kl_coef", p.kl_coef);
  f("kl_estimator", p.kl_estimator);
  f("adaptive_kl", p.adaptive_kl);
  f("kl_target", p.kl_target);
  f("kl_horizon", p.kl_horizon);
  f("missing_eos_penalty", p.missing_eos_penalty);
  f("score_clip", p.score_clip);
  f("whiten_rewards", p.whiten_rewards);
  f("gamma", p.gamma);
  f("lambda", p.lambda);
  f("ppo_epochs", p.ppo_epochs);
  f("mini_batch_size", p.mini_batch_size);
  f("micro_batch_size", p.micro_batch_size);
  f("cliprange", p.cliprange);
  f("cliprange_value", p.cliprange_value);
  f("vf_coef", p.vf_coef);
  f("entropy_coef", p.entropy_coef);
  f("max_grad_norm", p.max_grad_norm);
  f("learning_rate", p.learning_rate);
  f("value_learning_rate", p.value_learning_rate);
  visit(f, p.adamw);
  f("target_approx_kl", p.target_approx_kl);
  f("ptx_coef", p.ptx_coef);
  f("ptx_batch_size", p.ptx_batch_size);
}
template <class F>
void visit(F& f, EvalConfig& c) {
  f("prompts", c.prompts);
  f("max_new_tokens", c.max_new_tokens);
  visit(f, c.sampling);
  f("batch_size", c.batch_size);
  f("samples_in_report", c.samples_in_report);
}
template <class F>
void visit(F& f, PipelineConfig& c) {
  f("seed", c.seed);
  f("tokenizer", c.tokenizer);
  f.section("model", [&](auto& g) {
    g("checkpoint", c.model.checkpoint);
    g("n_positions", c.model.n_positions);
    g("n_embd", c.model.n_embd);
    g("n_layer", c.model.n_layer);
    g("n_head", c.model.n_head);
  });
  f.section("data", [&](auto& g) {
    g("sft", c.data.sft);
    g("collect_prompts", c.data.collect_prompts);
    g("ppo_prompts", c.data.ppo_prompts);
    g("eval_prompts", c.data.eval_prompts);
    g("ptx", c.data.ptx);
  });
  f.section("labeler", [&](auto& g) {
    g("afinn", c.labeler.afinn);
    g("words", c.labeler.words);
    g("dictionary_weight", c.labeler.weights.dictionary);
    g("distinct_weight", c.labeler.weights.distinct);
    g("empty_score", c.labeler.weights.empty_score);
  });
  f.section("sft", [&](auto& g) { visit(g, c.sft); });
  f.section("collect", [&](auto& g) { visit(g, c.collect); });
  f.section("reward", [&](auto& g) { visit(g, c.reward); });
  f.section("ppo", [&](auto& g) { visit(g, c.ppo); });
  f.section("eval", [&](auto& g) { visit(g, c.eval); });
  f("plots", c.plots);
}

inline void PipelineConfig::validate() const {
  FieldNames names("pipeline config");
  io::ConfigKeyNames record(names);
  visit(record, const_cast<PipelineConfig&>(*this));  // only takes the fields' addresses
  const auto n = [&](const auto& field) { return names(&field, "?"); };
  if (model.checkpoint.empty()) {
    for (const std::int64_t* size : {&model.n_positions, &model.n_embd, &model.n_layer, &model.n_head})
      require_within<std::int64_t>(n(*size), *size, 1, 1 << 20);
    if (model.n_embd % model.n_head != 0)
      fail(n(model.n_embd), " ", model.n_embd, " must be divisible by ", n(model.n_head), " ", model.n_head);
    if (sft.max_length > model.n_positions)
      fail(n(sft.max_length), " ", sft.max_length, " exceeds the model's context, ", n(model.n_positions), " ",
           model.n_positions);
  }
  sft.train.validate(names);
  require_positive(n(sft.max_length), sft.max_length);
  collect.validate(names);
  reward.train.validate(names);
  ppo.train.validate(names);
  eval.validate(names);
  require_within<std::int64_t>(n(ppo.iterations), ppo.iterations, 1, 1'000'000'000);
  if (ppo.save_every < 0) fail(n(ppo.save_every), " must be >= 0, got ", ppo.save_every);
  if (!(sft.val_fraction >= 0 && sft.val_fraction < 1))
    fail(n(sft.val_fraction), " must lie in [0, 1), got ", sft.val_fraction);
  if (!(reward.val_fraction > 0 && reward.val_fraction < 1))
    fail(n(reward.val_fraction), " must lie in (0, 1), got ", reward.val_fraction);
  for (const std::string* file :
       {&data.sft, &data.collect_prompts, &data.ppo_prompts, &data.eval_prompts, &labeler.afinn, &labeler.words})
    if (file->empty()) fail("key \"", n(*file), "\" is required (a file)");
  if (ppo.train.ptx_coef > 0 && data.ptx.empty()) fail(n(ppo.train.ptx_coef), " > 0 needs ", n(data.ptx), " (a file)");
  if (ppo.train.ptx_coef == 0 && !data.ptx.empty())
    fail(n(data.ptx), " is given but ", n(ppo.train.ptx_coef), " is 0: set a coefficient, or drop the file");
}

// Every field, defaults included: what a run directory records in its config.json.
inline nlohmann::ordered_json to_json(PipelineConfig c) {
  io::ConfigWriter w;
  visit(w, c);
  return w.json();
}

// A config from parsed JSON; relative paths are made absolute against `base` (the config file's
// directory). Errors name `file` and the key.
inline PipelineConfig pipeline_config_from_json(const nlohmann::json& j, const std::string& file,
                                                const std::filesystem::path& base) {
  PipelineConfig c;
  io::ConfigReader r(j, file);
  visit(r, c);
  r.finish();
  auto absolute = [&](std::string& p) {
    if (!p.empty() && std::filesystem::path(p).is_relative()) p = (base / p).lexically_normal().string();
  };
  for (std::string* p : {&c.model.checkpoint, &c.data.sft, &c.data.collect_prompts, &c.data.ppo_prompts,
                         &c.data.eval_prompts, &c.data.ptx, &c.labeler.afinn, &c.labeler.words})
    absolute(*p);
  if (c.tokenizer.starts_with("gpt2:")) {
    std::string dir = c.tokenizer.substr(5);
    absolute(dir);
    c.tokenizer = "gpt2:" + dir;
  }
  try {
    c.validate();
  } catch (const error& e) {
    fail(file, ": ", e.what());
  }
  return c;
}

inline PipelineConfig read_pipeline_config(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) fail(file.string(), ": no such config file");
  const nlohmann::json j = files::read_json_file(file);
  return pipeline_config_from_json(j, file.string(), std::filesystem::absolute(file).parent_path());
}

}  // namespace rlhf::train
