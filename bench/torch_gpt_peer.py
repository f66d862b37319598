#!/usr/bin/env python3
"""PyTorch peer of bench/bench_gpt.cpp: GPT-2 (the architecture of HF's GPT2LMHeadModel: pre-LayerNorm
blocks, learned positions, tanh-GELU MLP, tied LM head), fp32, the same thread count, attention by
F.scaled_dot_product_attention (PyTorch's fused CPU kernel), in two modes:
  eager    PyTorch as written;
  compile  the model wrapped in torch.compile (Inductor, the default mode); the first call's extra
           time over a steady step is reported as compile_seconds, apart from the rate (Inductor's
           caches are off, so that it is a first compile every time).

  PYTHON bench/torch_gpt_peer.py [--threads 2] [--min-time 2] [--modes eager,compile]
                                 [--benchmarks REGEX] [--out FILE]
  (PYTHON: the venv of bench/make_peers_venv.sh)

Benchmarks (the names of bench_gpt):
  BM_train_step_tiny        vocab 256, context 128, 4 layers, 4 heads, width 128; batch 16 x 128
  BM_train_step_124m        GPT-2 124M; batch 4 x 64
  BM_train_step_124m_T256   GPT-2 124M; batch 4 x 256
  BM_train_step_124m_T1024  GPT-2 124M; batch 4 x 1024
  BM_generate_tiny          tiny config, batch 16, a one-token prompt, 127 new tokens, KV cache
  BM_generate_124m_P{64,256,768}  GPT-2 124M, one sequence, a prompt of P tokens, 32 new tokens
A training step is zero_grad, forward, cross-entropy, backward, clip_grad_norm_(1.0) and
AdamW.step(). Each (benchmark, mode) runs in a process of its own, so that its peak RSS
(getrusage's ru_maxrss) is its own. Prints JSON: {"context": {...}, "benchmarks": [{"name", "mode",
"seconds", "tokens", "compile_seconds", "peak_rss_bytes"}]}.
"""
import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

TINY = (256, 128, 128, 4, 4)
GPT2 = (50257, 1024, 768, 12, 12)
# name -> (kind, config, batch, length or new tokens, minimum seconds[, prompt length])
BENCHMARKS = {
    "BM_train_step_tiny": ("train", TINY, 16, 128, 0),
    "BM_train_step_124m": ("train", GPT2, 4, 64, 5.0),
    "BM_train_step_124m_T256": ("train", GPT2, 4, 256, 5.0),
    "BM_train_step_124m_T1024": ("train", GPT2, 4, 1024, 5.0),
    "BM_generate_tiny": ("generate", TINY, 16, 127, 0),
    "BM_generate_124m_P64": ("generate", GPT2, 1, 32, 0, 64),
    "BM_generate_124m_P256": ("generate", GPT2, 1, 32, 0, 256),
    "BM_generate_124m_P768": ("generate", GPT2, 1, 32, 0, 768),
}


class Block(nn.Module):
    def __init__(self, c, h):
        super().__init__()
        self.h = h
        self.ln_1 = nn.LayerNorm(c)
        self.c_attn = nn.Linear(c, 3 * c)
        self.c_proj = nn.Linear(c, c)
        self.ln_2 = nn.LayerNorm(c)
        self.c_fc = nn.Linear(c, 4 * c)
        self.mlp_proj = nn.Linear(4 * c, c)

    def attn(self, x, cache):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        shape = (b, t, self.h, c // self.h)
        q, k, v = (z.view(shape).transpose(1, 2) for z in (q, k, v))
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        # Training sees the whole sequence (causal); generation one new query over the cache.
        y = F.scaled_dot_product_attention(q, k, v, is_causal=t > 1)
        return self.c_proj(y.transpose(1, 2).reshape(b, t, c))

    def forward(self, x, cache=None):
        x = x + self.attn(self.ln_1(x), cache)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, vocab, ctx, c, layers, heads):
        super().__init__()
        self.wte = nn.Embedding(vocab, c)
        self.wpe = nn.Embedding(ctx, c)
        self.h = nn.ModuleList(Block(c, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(c)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, ids, start=0, caches=None):
        pos = torch.arange(start, start + ids.size(1))
        x = self.wte(ids) + self.wpe(pos)
        for i, block in enumerate(self.h):
            x = block(x, None if caches is None else caches[i])
        return self.ln_f(x) @ self.wte.weight.t()


def timeit(fn, min_time, min_reps=3):
    """(median seconds of the timed calls, seconds of the first call), after one untimed call."""
    t0 = time.perf_counter()
    fn()  # warm-up; with torch.compile, the compilation
    first = time.perf_counter() - t0
    times = []
    while len(times) < min_reps or sum(times) < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), first


def train_step_bench(cfg, batch, length, min_time, mode):
    torch.manual_seed(0)
    model = GPT(*cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    forward = torch.compile(model) if mode == "compile" else model
    ids = torch.randint(0, cfg[0], (batch, length))
    targets = torch.randint(0, cfg[0], (batch, length))

    def step():
        opt.zero_grad(set_to_none=True)
        logits = forward(ids)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    return timeit(step, min_time), batch * length


@torch.no_grad()
def generate_bench(cfg, batch, new_tokens, min_time, mode, prompt_len=1):
    torch.manual_seed(0)
    model = GPT(*cfg).eval()
    prompt = (torch.arange(prompt_len) * 7919 % cfg[0]).repeat(batch, 1)
    # The KV cache grows by one position a step: dynamic shapes, or one graph per length.
    forward = torch.compile(model, dynamic=True) if mode == "compile" else model

    def run():
        caches = [dict() for _ in model.h]
        ids, start = prompt, 0
        for _ in range(new_tokens):
            logits = forward(ids, start=start, caches=caches)[:, -1, :]
            start += ids.size(1)
            ids = torch.multinomial(F.softmax(logits, dim=-1), 1)

    return timeit(run, min_time), batch * new_tokens


def run_one(name, mode, min_time):
    kind, cfg, batch, n, floor, *prompt_len = BENCHMARKS[name]
    bench = train_step_bench if kind == "train" else generate_bench
    (seconds, first), tokens = bench(cfg, batch, n, max(min_time, floor), mode, *prompt_len)
    return {"name": name, "mode": mode, "seconds": seconds, "tokens": tokens,
            "compile_seconds": max(first - seconds, 0.0) if mode == "compile" else 0.0,
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-time", type=float, default=2.0)
    ap.add_argument("--modes", default="eager,compile")
    ap.add_argument("--benchmarks", default=".", help="regex over the benchmark names (re.search)")
    ap.add_argument("--out")
    ap.add_argument("--one", nargs=2, metavar=("NAME", "MODE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.one:  # a child: one benchmark, one mode, JSON on stdout
        print(json.dumps(run_one(*args.one, args.min_time)))
        return
    results = []
    for name in BENCHMARKS:
        if not re.search(args.benchmarks, name):
            continue
        for mode in args.modes.split(","):
            # Inductor's on-disk caches off: compile_seconds is a first compile, as a new run sees it.
            env = dict(os.environ, TORCHINDUCTOR_FORCE_DISABLE_CACHES="1")
            child = subprocess.run([sys.executable, __file__, "--threads", str(args.threads), "--min-time",
                                    str(args.min_time), "--one", name, mode], stdout=subprocess.PIPE, env=env)
            if child.returncode != 0:  # reported as a missing cell, not the end of the whole run
                print(f"{name} [{mode}]: failed (exit {child.returncode}); its output is above", file=sys.stderr)
                continue
            r = json.loads(child.stdout.decode().strip().splitlines()[-1])
            results.append(r)
            print(f"{name} [{mode}]: {r['seconds'] * 1e3:.1f} ms, {r['tokens'] / r['seconds']:.1f} tokens/s, "
                  f"compile {r['compile_seconds']:.1f} s, peak RSS {r['peak_rss_bytes'] / 2**20:.0f} MiB",
                  file=sys.stderr, flush=True)
    out = {"context": {"torch": torch.__version__, "threads": args.threads,
                       "mkldnn": torch.backends.mkldnn.is_available(),
                       "blas": torch.__config__.show().split("BLAS_INFO=")[-1].split(",")[0]},
           "benchmarks": results}
    text = json.dumps(out, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
