#!/usr/bin/env python3
"""TRL peer of bench/bench_ppo.cpp: PPO iterations of TRL's PPOTrainer with a separate value model
(trl.experimental.ppo in TRL 1.12, the last release that has it; InstructGPT's design and ours:
policy, frozen reference, reward model and a value model initialised from the reward model),
PyTorch eager, fp32, CPU, split into generation, scoring and update like BM_ppo_iteration.

  PYTHON bench/trl_ppo_peer.py [--threads 2] [--iterations 6] [--model tiny|124m] [--epochs 4] [--out FILE]
  (PYTHON: the venv of bench/make_peers_venv.sh)

Config (bench_ppo's, the shapes of the pipeline's default config): GPT-2 architecture, vocab 257,
n_positions 96, n_embd 128, 4 layers, 4 heads, tanh GELU ("gelu_new"), no dropout, random init
(seed 0). 32 prompts of 16 random tokens in [1, 255) per iteration; exactly 40 sampled tokens per
response (no stop token; top_k 0, top_p 1, temperature 1); PPO: 4 epochs of 4 minibatches of 8
episodes (16 AdamW steps over the policy and the value model together), lr 1e-5, KL coefficient
0.05 (k1), cliprange 0.2, cliprange_value 0.2, vf_coef 0.1, gamma 1, lam 0.95. The reward model is
GPT2ForSequenceClassification(num_labels=1) of the same size; the value model a copy of it.

TRL's train() runs the iterations; each part is timed by wrapping the functions it calls (the
timing only: they run unchanged):
  generation  batch_generation (sampling the responses) plus the rollout's forward passes of the
              reference (log-probs) and the value model (values): ours counts those in generation
  scoring     the reward model's forward over the 32 full sequences
  update      the rest of the iteration: GAE, the 16 minibatch updates, TRL's statistics
--model 124m --epochs 1 --iterations 1 is bench_ppo's BM_ppo_memory_124m: four GPT-2 124M models
(vocab 50257, context 1024, 12 layers, 12 heads, width 768), one epoch, for the peak RSS.
An iteration ends at TRL's on_step_end callback. The first iteration is a warm-up; medians of the
rest are reported. Prints (and writes with --out) JSON: {"context": {...}, "benchmarks": [{"name":
"BM_ppo_iteration", "episodes", "seconds", "generation_seconds", "scoring_seconds",
"update_seconds", "iterations", "peak_rss_bytes"}]}.
"""
import argparse
import copy
import json
import resource
import statistics
import sys
import tempfile
import time
import warnings

import torch

BATCH = 32
PROMPT_LEN = 16
RESPONSE_LEN = 40
PPO_EPOCHS = 4
MINI_BATCHES = 4
COMMON = dict(activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
              bos_token_id=0, eos_token_id=0, pad_token_id=0)
MODELS = {"tiny": dict(vocab_size=257, n_positions=96, n_embd=128, n_layer=4, n_head=4, **COMMON),
          "124m": dict(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12, **COMMON)}


def make_tokenizer(vocab_size):
    """A WordLevel tokenizer over "t0".."t256", pad = eos = id 0: TRL uses it only to pad/collate."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    vocab = {f"t{i}": i for i in range(vocab_size)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="t0"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    t = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="t0", eos_token="t0", unk_token="t0")
    assert t.pad_token_id == 0 and t.eos_token_id == 0
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=6, help="including one warm-up iteration")
    ap.add_argument("--model", choices=sorted(MODELS), default="tiny")
    ap.add_argument("--epochs", type=int, default=PPO_EPOCHS)
    ap.add_argument("--out")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")

    import datasets
    import transformers
    import trl
    import trl.experimental.ppo.ppo_trainer as ppo_module
    from transformers import GPT2Config, GPT2ForSequenceClassification, GPT2LMHeadModel, TrainerCallback
    from trl.experimental.ppo import PPOConfig, PPOTrainer
    transformers.logging.set_verbosity_error()
    datasets.disable_progress_bars()

    config = MODELS[args.model]
    torch.manual_seed(0)
    policy = GPT2LMHeadModel(GPT2Config(**config))
    reward_model = GPT2ForSequenceClassification(GPT2Config(num_labels=1, **config)).eval()
    value_model = copy.deepcopy(reward_model).train()  # initialised from the reward model
    tokenizer = make_tokenizer(config["vocab_size"])
    gen = torch.Generator().manual_seed(0)
    prompts = torch.randint(1, 255, (2 * BATCH, PROMPT_LEN), generator=gen).tolist()
    dataset = datasets.Dataset.from_dict({"input_ids": prompts})

    # The parts of each iteration, accumulated by the wrappers below.
    parts = {"generation": 0.0, "scoring": 0.0}
    iterations = []
    steps = []

    def timed(fn, part_of):
        def wrapper(*a, **kw):
            t0 = time.perf_counter()
            result = fn(*a, **kw)
            part = part_of(a)
            if part:
                parts[part] += time.perf_counter() - t0
            return result
        return wrapper

    def generation_shape_checked(fn):
        def wrapper(*a, **kw):
            query_responses, logits = fn(*a, **kw)
            assert tuple(query_responses.shape) == (BATCH, PROMPT_LEN + RESPONSE_LEN), query_responses.shape
            return query_responses, logits
        return wrapper

    ppo_module.batch_generation = timed(generation_shape_checked(ppo_module.batch_generation), lambda a: "generation")
    # Under no_grad (the rollout), forward() is the reference's pass; in the epochs it is the trained one.
    ppo_module.forward = timed(ppo_module.forward, lambda a: None if torch.is_grad_enabled() else "generation")
    ppo_module.get_reward = timed(ppo_module.get_reward, lambda a: "scoring" if a[0] is reward_model else "generation")

    class Clock(TrainerCallback):
        def on_train_begin(self, *a, **kw):
            self.start = time.perf_counter()

        def on_step_end(self, *a, **kw):
            now = time.perf_counter()
            total = now - self.start
            iterations.append(dict(total=total, generation=parts["generation"], scoring=parts["scoring"],
                                   update=total - parts["generation"] - parts["scoring"], steps=len(steps)))
            parts.update(generation=0.0, scoring=0.0)
            del steps[:]
            r = iterations[-1]
            print(f"iteration {len(iterations)}: generation {r['generation']:.3f} s, scoring {r['scoring']:.3f} s, "
                  f"update {r['update']:.3f} s, total {total:.3f} s", file=sys.stderr, flush=True)
            self.start = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        ppo_config = PPOConfig(
            output_dir=tmp, report_to="none", save_strategy="no", disable_tqdm=True, logging_strategy="no",
            use_cpu=True, seed=0, learning_rate=1e-5, total_episodes=BATCH * args.iterations,
            per_device_train_batch_size=BATCH, gradient_accumulation_steps=1, num_mini_batches=MINI_BATCHES,
            num_ppo_epochs=args.epochs, local_rollout_forward_batch_size=BATCH, response_length=RESPONSE_LEN,
            temperature=1.0, stop_token=None, missing_eos_penalty=None, kl_coef=0.05, kl_estimator="k1",
            cliprange=0.2, cliprange_value=0.2, vf_coef=0.1, gamma=1.0, lam=0.95, whiten_rewards=False,
            num_sample_generations=0)
        ref_model = copy.deepcopy(policy).eval()
        trainer = PPOTrainer(args=ppo_config, processing_class=tokenizer, model=policy, ref_model=ref_model,
                             reward_model=reward_model, train_dataset=dataset, value_model=value_model,
                             eval_dataset=dataset, callbacks=[Clock()])
        trainer.optimizer.optimizer.register_step_post_hook(lambda *a: steps.append(1))
        value_before = next(value_model.transformer.parameters()).detach().clone()
        trainer.train()
    # Every iteration made 4 epochs x 4 minibatch steps, and they trained the value model.
    assert all(r["steps"] == args.epochs * MINI_BATCHES for r in iterations), [r["steps"] for r in iterations]
    assert not torch.equal(value_before, next(value_model.transformer.parameters()).detach())
    runs = iterations[1:] or iterations  # a single iteration (the memory run) is its own sample
    med = {k: statistics.median(r[k] for r in runs) for k in ("total", "generation", "scoring", "update")}
    out = {
        "context": {
            "trl_version": trl.__version__, "torch_version": torch.__version__,
            "transformers_version": transformers.__version__, "threads": args.threads,
            "config": dict(config, batch_size=BATCH, prompt_length=PROMPT_LEN, response_length=RESPONSE_LEN,
                           ppo_epochs=args.epochs, num_mini_batches=MINI_BATCHES, learning_rate=1e-5, kl_coef=0.05,
                           cliprange=0.2, cliprange_value=0.2, vf_coef=0.1, gamma=1.0, lam=0.95, temperature=1.0),
        },
        "benchmarks": [{
            "name": "BM_ppo_iteration" if args.model == "tiny" else "BM_ppo_memory_124m", "episodes": BATCH, "seconds": med["total"],
            "generation_seconds": med["generation"], "scoring_seconds": med["scoring"],
            "update_seconds": med["update"], "iterations": len(runs),
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        }],
    }
    text = json.dumps(out, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
