#!/usr/bin/env python3
"""TRL peer of bench/bench_ppo.cpp: one PPO iteration with TRL 0.8.6's PPOTrainer (PyTorch eager,
fp32, CPU), split into generation, scoring and update like BM_ppo_iteration.

  /opt/venv-trl/bin/python bench/trl_ppo_peer.py [--threads 2] [--min-time 10] [--out FILE]

Config (the same as bench_ppo: the shapes of the pipeline's default config): GPT-2 architecture,
vocab 257, n_positions 96, n_embd 128, 4 layers, 4 heads, tanh GELU ("gelu_new"), no dropout,
random init (seed 0). 32 prompts of 16 random tokens in [1, 255) per iteration; exactly 40 sampled
tokens per response (min_new_tokens = max_new_tokens = 40, top_k 0, top_p 1, temperature 1); PPO:
4 epochs of 4 minibatches of 8 episodes, lr 1e-5, fixed KL coefficient 0.05, cliprange 0.2, cliprange_value 0.2, vf_coef 0.1,
gamma 1, lam 0.95. Policy: trl.AutoModelForCausalLMWithValueHead over GPT2LMHeadModel (TRL's
design: the value head sits on the policy's trunk); reference: a frozen copy made by PPOTrainer
(trl.create_reference_model); reward: GPT2ForSequenceClassification(num_labels=1) of the same
size on prompt + response.

One iteration (each part timed with time.perf_counter):
  generation  ppo_trainer.generate(32 queries, batch_size=32, return_prompt=False, ...)
  scoring     the reward model's forward over the 32 full sequences (no grad)
  update      ppo_trainer.step(queries, responses, scores): TRL's no-grad forward passes of the
              policy (log-probs + values) and the reference (log-probs), rewards, GAE, and the
              4 x 4 minibatch updates (forward, backward, Adam); "forward_pass_seconds" is TRL's own
              timer (time/ppo/forward_pass) of those rollout forward passes, "optimize_seconds" that
              of the 16 minibatch updates (time/ppo/optimize_step) and "stats_seconds" that of its
              statistics (time/ppo/calc_stats), all three parts of update (TRL times them with
              time.time()).
One warm-up iteration, then iterations until --min-time seconds and at least 3; medians reported.
Prints (and writes with --out) JSON: {"context": {...}, "benchmarks": [{"name": "BM_ppo_iteration",
"episodes", "seconds", "generation_seconds", "scoring_seconds", "update_seconds",
"forward_pass_seconds", "optimize_seconds", "stats_seconds", "iterations"}]}.
"""
import argparse
import json
import statistics
import time
import warnings

import torch

BATCH = 32
PROMPT_LEN = 16
RESPONSE_LEN = 40
PPO_EPOCHS = 4
MINI_BATCH = 8
CONFIG = dict(vocab_size=257, n_positions=96, n_embd=128, n_layer=4, n_head=4,
              activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
              bos_token_id=0, eos_token_id=0, pad_token_id=0)


def make_tokenizer(vocab_size):
    """A WordLevel tokenizer over "t0".."t255", pad = eos = id 0: TRL uses it only to pad/collate."""
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
    ap.add_argument("--min-time", type=float, default=10.0)
    ap.add_argument("--out")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", message="No dataset is provided")

    import transformers
    import trl
    from transformers import GPT2Config, GPT2ForSequenceClassification, GPT2LMHeadModel
    from trl import AutoModelForCausalLMWithValueHead, PPOConfig, PPOTrainer
    transformers.logging.set_verbosity_error()

    torch.manual_seed(0)
    config = GPT2Config(**CONFIG)
    policy = AutoModelForCausalLMWithValueHead.from_pretrained(GPT2LMHeadModel(config), summary_dropout_prob=0.0)
    reward_model = GPT2ForSequenceClassification(GPT2Config(num_labels=1, **CONFIG)).eval()
    tokenizer = make_tokenizer(config.vocab_size)

    ppo_config = PPOConfig(
        seed=0, batch_size=BATCH, mini_batch_size=MINI_BATCH, gradient_accumulation_steps=1,
        ppo_epochs=PPO_EPOCHS, learning_rate=1e-5, adap_kl_ctrl=False, init_kl_coef=0.05,
        kl_penalty="kl", cliprange=0.2, cliprange_value=0.2, vf_coef=0.1, gamma=1.0, lam=0.95,
        early_stopping=False, max_grad_norm=None, use_score_scaling=False, use_score_norm=False,
        score_clip=None, whiten_rewards=False, log_with=None, remove_unused_columns=False)
    ppo_trainer = PPOTrainer(ppo_config, policy, None, tokenizer)  # ref_model = create_reference_model(policy)
    assert ppo_trainer.config.backward_batch_size == MINI_BATCH and ppo_trainer.config.ppo_epochs == PPO_EPOCHS
    assert isinstance(ppo_trainer.kl_ctl, trl.trainer.FixedKLController)
    assert not isinstance(policy.v_head.dropout, torch.nn.Dropout)

    # Count the minibatch updates step() makes, and their sizes, to check 4 epochs x 4 x 8 episodes.
    minibatches = []
    train_minibatch = ppo_trainer.train_minibatch

    def counted_train_minibatch(old_logprobs, *rest):
        minibatches.append(old_logprobs.shape[0])
        return train_minibatch(old_logprobs, *rest)

    ppo_trainer.train_minibatch = counted_train_minibatch

    generation_kwargs = dict(min_new_tokens=RESPONSE_LEN, max_new_tokens=RESPONSE_LEN, do_sample=True,
                             top_k=0, top_p=1.0, temperature=1.0, pad_token_id=tokenizer.pad_token_id,
                             eos_token_id=tokenizer.eos_token_id)
    gen = torch.Generator().manual_seed(0)
    prompts = torch.randint(1, 255, (64, PROMPT_LEN), generator=gen)

    def iteration(i):
        queries = list(prompts[(i * BATCH) % 64:(i * BATCH) % 64 + BATCH])
        t0 = time.perf_counter()
        responses = ppo_trainer.generate(queries, batch_size=BATCH, return_prompt=False, **generation_kwargs)
        t1 = time.perf_counter()
        with torch.no_grad():
            full = torch.stack([torch.cat([q, r]) for q, r in zip(queries, responses)])
            scores = list(reward_model(input_ids=full).logits[:, 0])
        t2 = time.perf_counter()
        del minibatches[:]
        stats = ppo_trainer.step(queries, responses, scores)
        t3 = time.perf_counter()
        assert len(responses) == BATCH and all(r.shape == (RESPONSE_LEN,) for r in responses), \
            [tuple(r.shape) for r in responses]
        assert full.shape == (BATCH, PROMPT_LEN + RESPONSE_LEN)
        assert minibatches == [MINI_BATCH] * (PPO_EPOCHS * BATCH // MINI_BATCH), minibatches
        assert stats["tokens/responses_len_mean"] == RESPONSE_LEN
        return dict(generation=t1 - t0, scoring=t2 - t1, update=t3 - t2, total=t3 - t0,
                    forward_pass=stats["time/ppo/forward_pass"], optimize=stats["time/ppo/optimize_step"],
                    stats=stats["time/ppo/calc_stats"])

    iteration(0)  # warm-up
    runs = []
    start = time.perf_counter()
    while len(runs) < 3 or time.perf_counter() - start < args.min_time:
        runs.append(iteration(len(runs) + 1))
        r = runs[-1]
        print(f"iteration {len(runs)}: generation {r['generation']:.3f} s, scoring {r['scoring']:.3f} s, "
              f"update {r['update']:.3f} s, total {r['total']:.3f} s", flush=True)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    out = {
        "context": {
            "trl_version": trl.__version__, "torch_version": torch.__version__,
            "transformers_version": transformers.__version__, "threads": args.threads,
            "config": dict(CONFIG, batch_size=BATCH, prompt_length=PROMPT_LEN, response_length=RESPONSE_LEN,
                           ppo_epochs=PPO_EPOCHS, mini_batch_size=MINI_BATCH, learning_rate=1e-5,
                           init_kl_coef=0.05, adap_kl_ctrl=False, cliprange=0.2, cliprange_value=0.2,
                           vf_coef=0.1, gamma=1.0, lam=0.95, top_k=0, top_p=1.0, temperature=1.0),
        },
        "benchmarks": [{
            "name": "BM_ppo_iteration", "episodes": BATCH, "seconds": med["total"],
            "generation_seconds": med["generation"], "scoring_seconds": med["scoring"],
            "update_seconds": med["update"], "forward_pass_seconds": med["forward_pass"],
            "optimize_seconds": med["optimize"], "stats_seconds": med["stats"],
            "iterations": len(runs),
        }],
    }
    text = json.dumps(out, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
