#!/usr/bin/env python3
"""PyTorch peer of bench/bench_gpt.cpp: GPT-2 in eager PyTorch (the architecture of HF's
GPT2LMHeadModel: pre-LayerNorm blocks, learned positions, tanh-GELU MLP, tied LM head, eager
causal attention), fp32, the same thread count.

  /usr/bin/python3 bench/torch_gpt_peer.py [--threads 2] [--min-time 2] [--out FILE]

Benchmarks (same names as bench_gpt):
  BM_train_step_tiny   vocab 256, context 128, 4 layers, 4 heads, width 128; batch 16 x 128
  BM_train_step_124m   GPT-2 124M; batch 4 x 64
  BM_generate_tiny     tiny config, batch 16, a one-token prompt, 127 new tokens, KV cache
A training step is zero_grad, forward, cross-entropy, backward, clip_grad_norm_(1.0) and
AdamW.step(). Prints JSON: {"context": {...}, "benchmarks": [{"name", "seconds", "tokens"}]}.
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


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
        att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
        if t > 1:
            s = k.size(2)
            mask = torch.ones(t, s, dtype=torch.bool).tril(diagonal=s - t)
            att = att.masked_fill(~mask, float("-inf"))
        y = F.softmax(att, dim=-1) @ v
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
    fn()  # warm-up
    times = []
    while len(times) < min_reps or sum(times) < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def train_step_bench(cfg, batch, length, min_time):
    torch.manual_seed(0)
    model = GPT(*cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    ids = torch.randint(0, cfg[0], (batch, length))
    targets = torch.randint(0, cfg[0], (batch, length))

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(ids)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    return timeit(step, min_time), batch * length


@torch.no_grad()
def generate_bench(cfg, batch, new_tokens, min_time):
    torch.manual_seed(0)
    model = GPT(*cfg).eval()

    def run():
        caches = [dict() for _ in model.h]
        ids = torch.zeros(batch, 1, dtype=torch.long)
        for step in range(new_tokens):
            logits = model(ids, start=step, caches=caches)[:, -1, :]
            ids = torch.multinomial(F.softmax(logits, dim=-1), 1)

    return timeit(run, min_time), batch * new_tokens


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-time", type=float, default=2.0)
    ap.add_argument("--out")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tiny = (256, 128, 128, 4, 4)
    gpt2 = (50257, 1024, 768, 12, 12)
    results = []
    for name, fn in [("BM_train_step_tiny", lambda: train_step_bench(tiny, 16, 128, args.min_time)),
                     ("BM_train_step_124m", lambda: train_step_bench(gpt2, 4, 64, max(args.min_time, 5.0))),
                     ("BM_generate_tiny", lambda: generate_bench(tiny, 16, 127, args.min_time))]:
        seconds, tokens = fn()
        results.append({"name": name, "seconds": seconds, "tokens": tokens})
        print(f"{name}: {seconds * 1e3:.1f} ms, {tokens / seconds:.1f} tokens/s", flush=True)
    out = {"context": {"torch": torch.__version__, "threads": args.threads}, "benchmarks": results}
    text = json.dumps(out, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
