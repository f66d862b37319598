#!/usr/bin/env python3
"""PyTorch peer of bench/bench_kernels.cpp: the same ops, shapes and FLOP/byte conventions.

Run with the venv of bench/make_peers_venv.sh (current PyTorch from PyPI):
  PYTHON bench/torch_peer.py [--threads 2]
Prints (or writes with --out) JSON:
  {"context": {...}, "benchmarks": [{"name", "seconds", "reps", "flops", "bytes"}, ...]}
where "name" is the benchmark name bench_kernels uses ("op/shape"), "seconds" the median time of
one call over warmed-up repeats (time.perf_counter), and flops / bytes per call as counted in
bench/bench_common.hpp:
  matmul      2·M·N·K per GEMM; forward 1 GEMM, backward 2 (da, dw); the bias is not counted
  attention   causal, useful lower triangle only: forward 2·B·T²·C, backward 4·B·T²·C (PyTorch's
              fused F.scaled_dot_product_attention, is_causal=True, gets the same count)
  bytes       each [N, C] tensor read once + each written once; an accumulated gradient (+=)
              counts twice; per-row/per-channel vectors not counted. PyTorch writes its gradients
              instead of accumulating them, and is given the same byte count (a ratio of rates is
              a ratio of times).
The ops are called the way PyTorch runs them in training (HF GPT-2: Conv1D = addmm, attention by
F.scaled_dot_product_attention, F.layer_norm, F.gelu(approximate="tanh"), F.cross_entropy); forward
passes run under no_grad, backward passes call the aten backward op directly where one exists
(layer norm, GELU), otherwise torch.autograd.grad on a retained graph.
"""
import argparse
import json
import os
import platform
import re
import statistics
import sys
import time

import torch
import torch.nn.functional as F

N_EMBD = 768
VOCAB = 50257


def timeit(fn, min_time, min_reps=5, warmup=2, clock=time.perf_counter):
    for _ in range(warmup):
        fn()
    times = []
    total = 0.0
    while len(times) < min_reps or total < min_time:
        t0 = clock()
        fn()
        dt = clock() - t0
        times.append(dt)
        total += dt
    return statistics.median(times), len(times)


def gemm_shapes():
    shapes = []
    for m in (256, 1024):
        shapes += [("qkv", m, 768, 2304, False), ("attn_proj", m, 768, 768, False),
                   ("fc", m, 768, 3072, False), ("fc_proj", m, 3072, 768, False)]
    shapes.append(("lm_head", 256, 768, VOCAB, True))
    return shapes


def uniform(shape, lo, hi, gen):
    return torch.empty(shape).uniform_(lo, hi, generator=gen)


def cases(gen):
    """Yields (name, flops, bytes, fn) lazily, so only one case's tensors live at a time."""
    for label, m, k, n, out_in in gemm_shapes():
        shape = f"{label}:{m}x{k}x{n}"
        flops = 2.0 * m * n * k
        a = uniform((m, k), -1, 1, gen)
        w = uniform((n, k) if out_in else (k, n), -0.05, 0.05, gen)
        bias = uniform((n,), -0.1, 0.1, gen)
        out = torch.empty(m, n)
        if out_in:  # LM head tied to wte [V, C], no bias: F.linear
            fwd = lambda a=a, w=w, out=out: torch.mm(a, w.t(), out=out)
        else:  # GPT-2 Conv1D: addmm(bias, x, W)
            fwd = lambda a=a, w=w, bias=bias, out=out: torch.addmm(bias, a, w, out=out)
        yield f"matmul_forward/{shape}", flops, None, fwd
        del out
        dout = uniform((m, n), -1e-3, 1e-3, gen)
        da, dw, db = torch.zeros(m, k), torch.zeros_like(w), torch.zeros(n)
        if out_in:
            def bwd(a=a, w=w, dout=dout, da=da, dw=dw):
                da.addmm_(dout, w)
                dw.addmm_(dout.t(), a)
        else:
            def bwd(a=a, w=w, dout=dout, da=da, dw=dw, db=db):
                da.addmm_(dout, w.t())
                dw.addmm_(a.t(), dout)
                db.add_(dout.sum(0))
        yield f"matmul_backward/{shape}", 2 * flops, None, bwd

    H, C = 12, N_EMBD
    D = C // H
    for B in (1, 4):
        for T in (64, 256, 1024):
            shape = f"B{B}xT{T}xH{H}xC{C}"
            useful = 2.0 * B * T * T * C
            qkv = uniform((B, T, 3 * C), -1, 1, gen).requires_grad_(True)

            def attn(qkv=qkv, B=B, T=T):
                q, k, v = (z.view(B, T, H, D).transpose(1, 2) for z in qkv.split(C, dim=2))
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
                return y.transpose(1, 2).contiguous().view(B, T, C)

            def fwd(attn=attn):
                with torch.no_grad():
                    return attn()
            yield f"attention_forward/{shape}", useful, None, fwd
            y = attn()
            dout = uniform((B, T, C), -1e-3, 1e-3, gen)
            yield (f"attention_backward/{shape}", 2 * useful, None,
                   lambda y=y, qkv=qkv, dout=dout: torch.autograd.grad(y, qkv, dout, retain_graph=True))
            del y

    N = 1024
    nc = N * C * 4.0
    x = uniform((N, C), -2, 2, gen)
    w = uniform((C,), 0.5, 1.5, gen)
    b = uniform((C,), -0.1, 0.1, gen)
    yield f"layernorm_forward/{N}x{C}", None, 2 * nc, lambda: torch.native_layer_norm(x, [C], w, b, 1e-5)
    _, mean, rstd = torch.native_layer_norm(x, [C], w, b, 1e-5)
    dout = uniform((N, C), -1e-3, 1e-3, gen)
    yield (f"layernorm_backward/{N}x{C}", None, 4 * nc,
           lambda: torch.ops.aten.native_layer_norm_backward(dout, x, [C], mean, rstd, w, b, [True, True, True]))

    C4 = 4 * C
    nc4 = N * C4 * 4.0
    xg = uniform((N, C4), -3, 3, gen)
    og = torch.empty(N, C4)
    doutg = uniform((N, C4), -1e-3, 1e-3, gen)
    yield f"gelu_forward/{N}x{C4}", None, 2 * nc4, lambda: torch._C._nn.gelu(xg, approximate="tanh", out=og)
    yield (f"gelu_backward/{N}x{C4}", None, 4 * nc4,
           lambda: torch.ops.aten.gelu_backward(doutg, xg, approximate="tanh"))
    del xg, og, doutg

    N, V = 256, VOCAB
    nv = N * V * 4.0
    shape = f"{N}x{V}"
    logits = uniform((N, V), -8, 8, gen).requires_grad_(True)
    targets = (torch.arange(N, dtype=torch.int64) * 7919) % V
    tau = 0.7

    def ce_fwd():
        with torch.no_grad():
            return F.cross_entropy(logits, targets)
    yield f"cross_entropy_forward/{shape}", None, nv, ce_fwd
    loss = F.cross_entropy(logits, targets)
    yield (f"cross_entropy_backward/{shape}", None, 3 * nv,
           lambda: torch.autograd.grad(loss, logits, retain_graph=True))
    del loss

    def logprob(z):
        return torch.log_softmax(z / tau, dim=-1).gather(1, targets.view(-1, 1)).view(-1)

    def lp_fwd():
        with torch.no_grad():
            return logprob(logits)
    yield f"logprob_forward/{shape}", None, nv, lp_fwd
    lp = logprob(logits)
    dlogp = uniform((N,), -1, 1, gen)
    yield (f"logprob_backward/{shape}", None, 3 * nv,
           lambda: torch.autograd.grad(lp, logits, dlogp, retain_graph=True))
    del lp

    def entropy(z):
        logp = torch.log_softmax(z / tau, dim=-1)
        return -(logp.exp() * logp).sum(-1)

    def ent_fwd():
        with torch.no_grad():
            return entropy(logits)
    yield f"entropy_forward/{shape}", None, nv, ent_fwd
    ent = entropy(logits)
    dent = uniform((N,), -1, 1, gen)
    yield (f"entropy_backward/{shape}", None, 3 * nv,
           lambda: torch.autograd.grad(ent, logits, dent, retain_graph=True))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--min-time", type=float, default=0.5, help="seconds of timed repeats per op (default 0.5)")
    ap.add_argument("--filter", default="", help="only ops whose name matches this regex (re.search), "
                                                 "like Google Benchmark's --benchmark_filter")
    ap.add_argument("--clock", choices=("real", "cpu"), default="real",
                    help="real: time.perf_counter (default); cpu: time.process_time, the process's CPU time, "
                         "which shrugs off other load on the machine but is only a fair measure with --threads 1")
    ap.add_argument("--out", help="write the JSON here instead of stdout")
    args = ap.parse_args()
    if args.clock == "cpu" and args.threads != 1:
        ap.error("--clock cpu needs --threads 1 (CPU time sums over threads)")
    clock = time.process_time if args.clock == "cpu" else time.perf_counter

    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    results = []
    for name, flops, nbytes, fn in cases(gen):
        if args.filter and not re.search(args.filter, name):
            continue
        seconds, reps = timeit(fn, args.min_time, clock=clock)
        results.append({"name": name, "seconds": seconds, "reps": reps, "flops": flops, "bytes": nbytes})
        rate = f"{flops / seconds / 1e9:8.1f} GFLOP/s" if flops else f"{nbytes / seconds / 1e9:8.2f} GB/s"
        print(f"{name:45s} {seconds * 1e3:10.3f} ms {rate}", file=sys.stderr)
    doc = {
        "context": {
            "torch_version": torch.__version__,
            "threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "machine": platform.machine(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
            "clock": args.clock,
            "timing": f"median of >= 5 warmed-up calls and >= {args.min_time} s "
                      f"({'time.process_time' if args.clock == 'cpu' else 'time.perf_counter'})",
        },
        "benchmarks": results,
    }
    text = json.dumps(doc, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
